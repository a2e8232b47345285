/* profile_st_rom.c — a model of ST's STM32F4 system-memory DfuSe bootloader (AN3156,
 * AN2606): 0483:df11, whole flash writable, not manifestation-tolerant, no vendor
 * commands, no BOS. Kept in its own file so the chip build drops it unless referenced. */
#include "bl_internal.h"

static const char *const st_rom_alt_names[] = {
    STM32DFU_DFUSE_LAYOUT_ROM,
    "@Option Bytes  /0x1FFFC000/01*016 e",
    "@OTP Memory /0x1FFF7800/01*512 e,01*016 e",
    "@Device Feature/0xFFFF0000/01*004 e",
};

const bl_profile_t bl_profile_st_rom = {
    .vendor_id = 0x0483,
    .product_id = 0xDF11,
    .bcd_device = 0x2200,
    .manufacturer = "STMicroelectronics",
    .product = "STM32  BOOTLOADER",
    .alt_names = st_rom_alt_names,
    .alt_count = 4,
    .protect_bootloader = false,
    .manifestation_tolerant = false,
    .crc_command = false,
    .hold_first_block = false,
    .webusb = false,
    .pipelined = false,
    .transfer_size = 2048,
};
