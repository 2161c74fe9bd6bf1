# Owned by the tokenizer work: list tokenizer sources here.
list(APPEND LOGITSCOPE_TEXT_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/added_vocab.cpp
  ${CMAKE_CURRENT_LIST_DIR}/bpe.cpp
  ${CMAKE_CURRENT_LIST_DIR}/decoders.cpp
  ${CMAKE_CURRENT_LIST_DIR}/normalizers.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pattern.cpp
  ${CMAKE_CURRENT_LIST_DIR}/post_processors.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pre_tokenizers.cpp
  ${CMAKE_CURRENT_LIST_DIR}/regex.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tokenizer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/unicode.cpp)
