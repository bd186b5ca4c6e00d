# bisc_add_model(): compile a network with `bisc compile` as part of a CMake build and use it
# as a library target.
#
#   bisc_add_model(<target> MODEL <model.json> [NAME <c_name>]
#                  [WEIGHTS <file.safetensors> | RANDOM_WEIGHTS <seed>]
#                  [INPUT_SHAPE NxCxHxW] [TARGET <triple>] [MCPU <cpu>] [STATIC]
#                  [BISC <path to bisc>])
#
# Runs bisc at build time (again when the model, the weights or bisc change) into
# ${CMAKE_CURRENT_BINARY_DIR}/<target>/ and defines the IMPORTED library <target>: linking it
# adds the header directory (<c_name>.h) and, for STATIC, pthreads and libm. NAME defaults
# to <target>; BISC to the cache variable BISC_EXECUTABLE, or `bisc` on the PATH.
include_guard(GLOBAL)
find_package(Threads REQUIRED)

function(bisc_add_model target)
  cmake_parse_arguments(arg "STATIC" "MODEL;NAME;WEIGHTS;RANDOM_WEIGHTS;INPUT_SHAPE;TARGET;MCPU;BISC" "" ${ARGN})
  if(NOT arg_MODEL)
    message(FATAL_ERROR "bisc_add_model(${target}): MODEL is required")
  endif()
  if((DEFINED arg_WEIGHTS AND DEFINED arg_RANDOM_WEIGHTS) OR
     (NOT DEFINED arg_WEIGHTS AND NOT DEFINED arg_RANDOM_WEIGHTS))
    message(FATAL_ERROR "bisc_add_model(${target}): give exactly one of WEIGHTS and RANDOM_WEIGHTS")
  endif()
  if(NOT arg_NAME)
    set(arg_NAME ${target})
  endif()
  if(NOT arg_BISC)
    if(NOT BISC_EXECUTABLE)
      find_program(BISC_EXECUTABLE bisc REQUIRED)
    endif()
    set(arg_BISC ${BISC_EXECUTABLE})
  endif()

  set(dir ${CMAKE_CURRENT_BINARY_DIR}/${target})
  get_filename_component(model ${arg_MODEL} ABSOLUTE)
  set(command ${arg_BISC} compile ${model} --name ${arg_NAME} -o ${dir})
  set(depends ${model})
  if(DEFINED arg_WEIGHTS)
    get_filename_component(weights ${arg_WEIGHTS} ABSOLUTE)
    list(APPEND command --weights ${weights})
    list(APPEND depends ${weights})
  else()
    list(APPEND command --random-weights ${arg_RANDOM_WEIGHTS})
  endif()
  foreach(option INPUT_SHAPE TARGET MCPU)
    if(arg_${option})
      string(TOLOWER ${option} flag)
      string(REPLACE "_" "-" flag ${flag})
      list(APPEND command --${flag} ${arg_${option}})
    endif()
  endforeach()
  if(arg_STATIC)
    list(APPEND command --lib static)
    set(library ${dir}/lib${arg_NAME}.a)
  else()
    set(library ${dir}/lib${arg_NAME}.so)
  endif()
  if(arg_BISC STREQUAL "$<TARGET_FILE:bisc>")
    list(APPEND depends bisc) # inside the bisc build: rebuild when bisc changes
  elseif(EXISTS ${arg_BISC})
    list(APPEND depends ${arg_BISC})
  endif()

  add_custom_command(OUTPUT ${library} ${dir}/${arg_NAME}.h
                     COMMAND ${command}
                     DEPENDS ${depends}
                     COMMENT "bisc compile ${arg_MODEL} -> ${library}"
                     VERBATIM)
  add_custom_target(${target}_bisc DEPENDS ${library} ${dir}/${arg_NAME}.h)
  file(MAKE_DIRECTORY ${dir}) # an imported target's include directory must exist

  if(arg_STATIC)
    add_library(${target} STATIC IMPORTED GLOBAL)
    set_target_properties(${target} PROPERTIES INTERFACE_LINK_LIBRARIES "Threads::Threads;m")
  else()
    add_library(${target} SHARED IMPORTED GLOBAL)
    set_target_properties(${target} PROPERTIES IMPORTED_SONAME lib${arg_NAME}.so)
  endif()
  set_target_properties(${target} PROPERTIES IMPORTED_LOCATION ${library} INTERFACE_INCLUDE_DIRECTORIES ${dir})
  add_dependencies(${target} ${target}_bisc)
endfunction()
