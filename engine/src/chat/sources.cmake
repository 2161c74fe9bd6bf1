# Owned by the chat-template work: list chat/Jinja sources here.
list(APPEND LOGITSCOPE_TEXT_SOURCES)
