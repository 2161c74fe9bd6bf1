# PCRE2 (split regexes) and utf8proc (Unicode normalisation) for the tokenizer.
# Found by header and library rather than pkg-config so that a machine with only the runtime
# libraries (the GPU machine) can build with headers copied into LOGITSCOPE_DEPS_DIR/include.
set(LOGITSCOPE_DEPS_DIR "" CACHE PATH "Extra prefix with include/ and lib/ for PCRE2 and utf8proc")
option(LOGITSCOPE_STATIC_TEXT_LIBS "Link PCRE2 and utf8proc statically" OFF)

set(_hints)
if(LOGITSCOPE_DEPS_DIR)
  list(APPEND _hints "${LOGITSCOPE_DEPS_DIR}")
endif()
if(LOGITSCOPE_STATIC_TEXT_LIBS)
  set(_pcre2_names libpcre2-8.a)
  set(_utf8proc_names libutf8proc.a)
else()
  set(_pcre2_names pcre2-8 libpcre2-8.so.0)
  set(_utf8proc_names utf8proc libutf8proc.so.2 libutf8proc.so.3)
endif()

find_path(PCRE2_INCLUDE_DIR pcre2.h HINTS ${_hints} PATH_SUFFIXES include REQUIRED)
find_library(PCRE2_LIBRARY NAMES ${_pcre2_names} HINTS ${_hints} PATH_SUFFIXES lib REQUIRED)
find_path(UTF8PROC_INCLUDE_DIR utf8proc.h HINTS ${_hints} PATH_SUFFIXES include REQUIRED)
find_library(UTF8PROC_LIBRARY NAMES ${_utf8proc_names} HINTS ${_hints} PATH_SUFFIXES lib REQUIRED)

add_library(logitscope_pcre2 INTERFACE)
target_include_directories(logitscope_pcre2 SYSTEM INTERFACE "${PCRE2_INCLUDE_DIR}")
target_compile_definitions(logitscope_pcre2 INTERFACE PCRE2_CODE_UNIT_WIDTH=8)
target_link_libraries(logitscope_pcre2 INTERFACE "${PCRE2_LIBRARY}")

add_library(logitscope_utf8proc INTERFACE)
target_include_directories(logitscope_utf8proc SYSTEM INTERFACE "${UTF8PROC_INCLUDE_DIR}")
if(LOGITSCOPE_STATIC_TEXT_LIBS)
  target_compile_definitions(logitscope_utf8proc INTERFACE UTF8PROC_STATIC)
endif()
target_link_libraries(logitscope_utf8proc INTERFACE "${UTF8PROC_LIBRARY}")
