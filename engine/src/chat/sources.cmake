# Owned by the chat-template work: list chat/Jinja sources here.
list(APPEND LOGITSCOPE_TEXT_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/chat_template.cpp
  ${CMAKE_CURRENT_LIST_DIR}/reasoning.cpp
  ${CMAKE_CURRENT_LIST_DIR}/jinja/value.cpp
  ${CMAKE_CURRENT_LIST_DIR}/jinja/lexer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/jinja/parser.cpp
  ${CMAKE_CURRENT_LIST_DIR}/jinja/parser_expressions.cpp
  ${CMAKE_CURRENT_LIST_DIR}/jinja/operators.cpp
  ${CMAKE_CURRENT_LIST_DIR}/jinja/methods.cpp
  ${CMAKE_CURRENT_LIST_DIR}/jinja/filters.cpp
  ${CMAKE_CURRENT_LIST_DIR}/jinja/tests.cpp
  ${CMAKE_CURRENT_LIST_DIR}/jinja/interpreter.cpp)
