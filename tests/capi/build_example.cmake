cmake_minimum_required(VERSION 3.25)
# Configures and builds examples/segment as its own project, the way a user would, against the
# bisc of this build:  cmake -DSOURCE= -DBINARY= -DBISC= -DMODEL= -DINPUT_SHAPE= -DGENERATOR=
#                            -DC_COMPILER= -P build_example.cmake
foreach(step configure build)
  if(step STREQUAL configure)
    set(command ${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY} -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release
                -DCMAKE_C_COMPILER=${C_COMPILER} -DBISC_EXECUTABLE=${BISC} -DBISC_MODEL=${MODEL}
                -DBISC_INPUT_SHAPE=${INPUT_SHAPE})
  else()
    set(command ${CMAKE_COMMAND} --build ${BINARY})
  endif()
  execute_process(COMMAND ${command} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "examples/segment: ${step} failed (${status}):\n${out}${err}")
  endif()
endforeach()
message(STATUS "built ${BINARY}/segment")
