# What a generated library exposes and needs: an app must get the C API and nothing else.
#
#   cmake -DLIBRARY=libNAME.so|libNAME.a -DNAME=NAME -DNM=nm -DREADELF=readelf -P check_library.cmake
#
# Shared: NEEDED entries are C runtime libraries only (no libstdc++, no LLVM), and every exported
# symbol is NAME_*. Static: every global symbol is NAME_* (two models link into one app without
# clashes) and no undefined symbol comes from C++. Both: the whole API is there.
cmake_minimum_required(VERSION 3.25)
set(api create destroy default_options run run_labels workspace_bytes input_shape output_shape
    status_text last_error)

function(run_tool out)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE text ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${ARGN} failed (${status}): ${err}")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# Lines "value type name" of nm into a list of "type name".
function(symbols out)
  run_tool(text ${ARGN})
  string(REPLACE "\n" ";" lines "${text}")
  set(result "")
  foreach(line IN LISTS lines)
    if(line MATCHES "^[0-9a-fA-F ]* ([A-Za-z]) ([^ ]+)$")
      list(APPEND result "${CMAKE_MATCH_1} ${CMAKE_MATCH_2}")
    endif()
  endforeach()
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

set(problems "")
if(LIBRARY MATCHES "\\.so$")
  run_tool(dynamic ${READELF} -d ${LIBRARY})
  string(REGEX MATCHALL "Shared library: \\[[^]]+\\]" needed "${dynamic}")
  foreach(entry IN LISTS needed)
    if(NOT entry MATCHES "\\[(libc|libm|libpthread|ld-linux[^]]*)\\.so[.0-9]*\\]")
      list(APPEND problems "needs ${entry}")
    endif()
  endforeach()
  symbols(exported ${NM} -D --defined-only ${LIBRARY})
else()
  symbols(all ${NM} ${LIBRARY})
  set(exported "")
  foreach(symbol IN LISTS all)
    if(symbol MATCHES "^U (_Z|__cxa_|__gxx_|_Unwind_Resume|LLVM)")
      list(APPEND problems "C++ or LLVM dependency: ${symbol}")
    elseif(symbol MATCHES "^[A-TV-Z] ")
      list(APPEND exported "${symbol}")
    endif()
  endforeach()
endif()

set(names "")
foreach(symbol IN LISTS exported)
  string(REGEX REPLACE "^. " "" name "${symbol}")
  list(APPEND names "${name}")
  if(NOT name MATCHES "^${NAME}_" AND NOT name MATCHES "^(_init|_fini)$")
    list(APPEND problems "exports ${symbol}, not prefixed ${NAME}_")
  endif()
endforeach()
foreach(call IN LISTS api)
  if(NOT "${NAME}_${call}" IN_LIST names)
    list(APPEND problems "missing ${NAME}_${call}")
  endif()
endforeach()

if(problems)
  string(REPLACE ";" "\n  " problems "${problems}")
  message(FATAL_ERROR "${LIBRARY}:\n  ${problems}")
endif()
list(LENGTH names count)
message(STATUS "${LIBRARY}: ${count} global symbols, all ${NAME}_*; dependencies: ${needed}")
