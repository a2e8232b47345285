/* profile_stm32dfu.c — how our bootloader presents itself (values from the layout). */
#include "bl_internal.h"

static const char *const stm32dfu_alt_names[] = {STM32DFU_DFUSE_LAYOUT};

#if STM32DFU_SIGNING_REQUIRED && !defined(STM32DFU_SIGNING)
#error "the board requires signatures: build with STM32DFU_SIGNING and firmware/src/crypto"
#endif
#if STM32DFU_SIGNING_KEY_COUNT > 0
static const uint8_t signing_keys[][32] = STM32DFU_SIGNING_KEYS;
#define SIGNING_KEYS signing_keys
#else
#define SIGNING_KEYS NULL
#endif

#ifndef STM32DFU_RUNTIME_PROFILE
const
#endif
bl_profile_t bl_profile_stm32dfu = {
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
    /* Signed firmware and lock-down (docs/signed-firmware.md), from the board's JSON. */
    .signing_required = STM32DFU_SIGNING_REQUIRED,
    .signing_keys = SIGNING_KEYS,
    .signing_key_count = STM32DFU_SIGNING_KEY_COUNT,
    .signing_verify_at_boot = STM32DFU_SIGNING_VERIFY_AT_BOOT,
    .lock_upload = STM32DFU_LOCK_UPLOAD,
    .protect_flash = STM32DFU_PROTECT_FLASH,
};
