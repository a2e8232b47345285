/* profile_stm32dfu.c — how our bootloader presents itself (values from the layout). */
#include "bl_internal.h"

static const char *const stm32dfu_alt_names[] = {STM32DFU_DFUSE_LAYOUT};

const bl_profile_t bl_profile_stm32dfu = {
    .vendor_id = STM32DFU_USB_VID,
    .product_id = STM32DFU_USB_PID,
    .bcd_device = STM32DFU_USB_BCD_DEVICE_BOOTLOADER,
    .manufacturer = STM32DFU_USB_MANUFACTURER,
    .product = STM32DFU_USB_PRODUCT_BOOTLOADER,
    .alt_names = stm32dfu_alt_names,
    .alt_count = 1,
    .protect_bootloader = true,
    /* Tolerant so the host can verify the first block, written only at manifestation,
     * before it lets the device go (docs/bootloader-core.md). */
    .manifestation_tolerant = true,
    .crc_command = true,
    .hold_first_block = true,
    .webusb = true,
    /* Sliced programming keeps USB alive, so blocks queue while earlier ones are written. */
    .pipelined = true,
    .transfer_size = 2048,
};
