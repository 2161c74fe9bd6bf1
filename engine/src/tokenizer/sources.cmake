# Owned by the tokenizer work: list tokenizer sources here.
list(APPEND LOGITSCOPE_TEXT_SOURCES)
