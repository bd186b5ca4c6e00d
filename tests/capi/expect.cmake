# Runs one command and checks what it did; a ctest step for `bisc compile` and the libraries.
#
#   cmake -DCOMMAND="prog|arg|arg" [-DEXIT=0] [-DOUTPUT_REGEX=re] [-DFILE=path -DFILE_REGEX=re]
#         [-DNO_FILE_REGEX=re] -P expect.cmake
#
# COMMAND is '|'-separated (ctest would split a ';' list). OUTPUT_REGEX must match stdout+stderr;
# FILE must exist afterwards and match FILE_REGEX and must not match NO_FILE_REGEX.
cmake_minimum_required(VERSION 3.25)
string(REPLACE "|" ";" command "${COMMAND}")
execute_process(COMMAND ${command} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(text "${out}${err}")
if(NOT DEFINED EXIT)
  set(EXIT 0)
endif()
if(NOT "${status}" STREQUAL "${EXIT}")
  message(FATAL_ERROR "exit status ${status}, expected ${EXIT}:\n${text}")
endif()
if(DEFINED OUTPUT_REGEX AND NOT text MATCHES "${OUTPUT_REGEX}")
  message(FATAL_ERROR "output does not match '${OUTPUT_REGEX}':\n${text}")
endif()
if(DEFINED FILE)
  if(NOT EXISTS "${FILE}")
    message(FATAL_ERROR "${FILE} was not written:\n${text}")
  endif()
  if(DEFINED FILE_REGEX OR DEFINED NO_FILE_REGEX)
    file(READ "${FILE}" content)
    if(DEFINED FILE_REGEX AND NOT content MATCHES "${FILE_REGEX}")
      message(FATAL_ERROR "${FILE} does not match '${FILE_REGEX}'")
    endif()
    if(DEFINED NO_FILE_REGEX AND content MATCHES "${NO_FILE_REGEX}")
      message(FATAL_ERROR "${FILE} matches '${NO_FILE_REGEX}'")
    endif()
  endif()
endif()
message(STATUS "ok: ${text}")
