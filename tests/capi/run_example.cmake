cmake_minimum_required(VERSION 3.25)
# Runs the segment app on the bundled image and checks that it wrote both PNGs at the image's
# size (the overlay twice as wide):  cmake -DAPP= -DIMAGE= -DOUTPUT=prefix -P run_example.cmake
file(REMOVE ${OUTPUT}_labels.png ${OUTPUT}_overlay.png)
execute_process(COMMAND ${APP} ${IMAGE} ${OUTPUT}_labels.png ${OUTPUT}_overlay.png --threads 2 RESULT_VARIABLE status OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
if(NOT status EQUAL 0 OR NOT out MATCHES "1024x512 image, network 128x64 -> 128x64, 2 threads")
  message(FATAL_ERROR "segment failed (${status}):\n${out}${err}")
endif()

# A PNG: the 8-byte signature, then the IHDR chunk with big-endian width and height.
function(expect_png path width height)
  if(NOT EXISTS ${path})
    message(FATAL_ERROR "${path} was not written:\n${out}")
  endif()
  file(READ ${path} head LIMIT 24 HEX)
  math(EXPR w_hex "${width}" OUTPUT_FORMAT HEXADECIMAL)
  math(EXPR h_hex "${height}" OUTPUT_FORMAT HEXADECIMAL)
  string(SUBSTRING "${head}" 32 8 w_got)
  string(SUBSTRING "${head}" 40 8 h_got)
  math(EXPR w_got "0x${w_got}")
  math(EXPR h_got "0x${h_got}")
  if(NOT head MATCHES "^89504e470d0a1a0a0000000d49484452" OR NOT w_got EQUAL width OR NOT h_got EQUAL height)
    message(FATAL_ERROR "${path}: not a ${width}x${height} PNG (header ${head})")
  endif()
endfunction()
expect_png(${OUTPUT}_labels.png 1024 512)
expect_png(${OUTPUT}_overlay.png 2048 512)

# Bad input is reported, not crashed on.
execute_process(COMMAND ${APP} ${OUTPUT}_missing.png ${OUTPUT}_x.png ${OUTPUT}_y.png RESULT_VARIABLE status ERROR_VARIABLE err)
if(NOT status EQUAL 1 OR NOT err MATCHES "cannot read .*_missing.png")
  message(FATAL_ERROR "a missing image gave status ${status}: ${err}")
endif()
execute_process(COMMAND ${APP} ${IMAGE} ${OUTPUT}_x.png ${OUTPUT}_y.png --threads 0 RESULT_VARIABLE status ERROR_VARIABLE err)
if(NOT status EQUAL 1 OR NOT err MATCHES "num_threads is 0")
  message(FATAL_ERROR "--threads 0 gave status ${status}: ${err}")
endif()
message(STATUS "${out}")
