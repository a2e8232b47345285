# CMake toolchain for the STM32F4 targets: arm-none-eabi-gcc, Cortex-M4, Thumb, soft float.
# Freestanding: no startup files and no C library; the port supplies startup code and the
# few mem* routines the compiler may emit, libgcc supplies the arithmetic helpers.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

find_program(ARM_NONE_EABI_GCC arm-none-eabi-gcc REQUIRED)
get_filename_component(ARM_NONE_EABI_BIN "${ARM_NONE_EABI_GCC}" DIRECTORY)

set(CMAKE_C_COMPILER "${ARM_NONE_EABI_BIN}/arm-none-eabi-gcc")
set(CMAKE_ASM_COMPILER "${ARM_NONE_EABI_BIN}/arm-none-eabi-gcc")
set(CMAKE_OBJCOPY "${ARM_NONE_EABI_BIN}/arm-none-eabi-objcopy" CACHE FILEPATH "objcopy")
set(CMAKE_SIZE "${ARM_NONE_EABI_BIN}/arm-none-eabi-size" CACHE FILEPATH "size")

# try_compile cannot link without a linker script and startup code.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(STM32DFU_ARM_CPU_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=soft")
set(CMAKE_C_FLAGS_INIT
    "${STM32DFU_ARM_CPU_FLAGS} -ffreestanding -fno-common -ffunction-sections -fdata-sections -fno-tree-loop-distribute-patterns")
set(CMAKE_ASM_FLAGS_INIT "${STM32DFU_ARM_CPU_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT
    "${STM32DFU_ARM_CPU_FLAGS} -nostartfiles -nostdlib -Wl,--gc-sections -Wl,--print-memory-usage")
# -Os everywhere: the bootloader must fit its 32 kB partition with room to spare.
set(CMAKE_C_FLAGS_MINSIZEREL_INIT "-Os -g")
set(CMAKE_C_FLAGS_RELEASE_INIT "-Os -g")
set(CMAKE_C_FLAGS_DEBUG_INIT "-Og -g3")
set(CMAKE_C_FLAGS_RELWITHDEBINFO_INIT "-Os -g")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
