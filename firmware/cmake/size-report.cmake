# size-report.cmake — print arm-none-eabi-size for an image and how much of its flash
# partition it fills. Run as:
#   cmake -DSIZE=<arm-none-eabi-size> -DELF=<image.elf> -DPARTITION=<bytes> [-DBUDGET=<bytes>]
#         -P size-report.cmake
# BUDGET, when given, is the size the image must stay within; exceeding it fails the build.
execute_process(COMMAND "${SIZE}" "${ELF}" OUTPUT_VARIABLE size_output RESULT_VARIABLE size_result)
if(NOT size_result EQUAL 0)
  message(FATAL_ERROR "${SIZE} failed on ${ELF}")
endif()
string(REGEX MATCH "\n *([0-9]+)[ \t]+([0-9]+)[ \t]+([0-9]+)" _ "${size_output}")
set(text "${CMAKE_MATCH_1}")
set(data "${CMAKE_MATCH_2}")
set(bss "${CMAKE_MATCH_3}")
math(EXPR flash_bytes "${text} + ${data}")
math(EXPR permille "(${flash_bytes} * 1000 + ${PARTITION} / 2) / ${PARTITION}")
math(EXPR percent_whole "${permille} / 10")
math(EXPR percent_tenth "${permille} % 10")
math(EXPR partition_kb "${PARTITION} / 1024")
get_filename_component(name "${ELF}" NAME)
string(STRIP "${size_output}" size_output)
message("${size_output}")
message("${name}: flash ${flash_bytes} bytes (text ${text} + data ${data}) = ${percent_whole}.${percent_tenth}% of the ${partition_kb} kB partition; RAM ${data} + bss ${bss}")
if(DEFINED BUDGET AND flash_bytes GREATER BUDGET)
  message(FATAL_ERROR "${name} uses ${flash_bytes} bytes of flash, over its budget of ${BUDGET}")
endif()
