/*
 * port.c — the wasm port: the bootloader core compiled for the virtual board
 * (@stm32dfu/virtual-board).
 *
 * Every hal.h function is left undefined here: wasm-ld (--allow-undefined) turns each into
 * an import from the "env" module, and the board implements them in TypeScript against its
 * flash, clock, pins and virtual USB cable. This file only exports the core's entry points
 * under stable names, and plays the chip's reset path (bootloader.h, "Call order").
 */
#include <stdbool.h>

#include "bootloader.h"
#include "hal.h"
#include "stm32dfu_layout.h"

#define WASM_EXPORT(name) __attribute__((export_name(name)))

/* The board writes each SETUP packet here before calling vb_setup: the core reads it as the
 * OTG_FS port would read it from the RX FIFO. */
static uint8_t setup_packet[8];

WASM_EXPORT("vb_setup_buffer") uint8_t *vb_setup_buffer(void) { return setup_packet; }

/* Signed firmware on the virtual board: the board may be created locked with a user's keys
 * (the chip compiles them in from its board JSON). The board writes up to 4 raw Ed25519
 * public keys here, then calls vb_configure_signing after every memory reset, before
 * vb_reset: bl_profile_stm32dfu is writable in this build (STM32DFU_RUNTIME_PROFILE). */
#define VB_MAX_SIGNING_KEYS 4u
static uint8_t signing_keys[VB_MAX_SIGNING_KEYS][32];

WASM_EXPORT("vb_signing_keys_buffer") uint8_t *vb_signing_keys_buffer(void) { return &signing_keys[0][0]; }

/* flags: SECURITY_FLAG_REQUIRED, _VERIFY_AT_BOOT, _LOCK_UPLOAD, _PROTECT_FLASH (bootloader.h). */
WASM_EXPORT("vb_configure_signing") uint32_t vb_configure_signing(uint32_t flags, uint32_t key_count) {
  if (key_count > VB_MAX_SIGNING_KEYS || ((flags & SECURITY_FLAG_REQUIRED) != 0u && key_count == 0u)) return 0u;
  bl_profile_stm32dfu.signing_required = (flags & SECURITY_FLAG_REQUIRED) != 0u;
  bl_profile_stm32dfu.signing_verify_at_boot = (flags & SECURITY_FLAG_VERIFY_AT_BOOT) != 0u;
  bl_profile_stm32dfu.lock_upload = (flags & SECURITY_FLAG_LOCK_UPLOAD) != 0u;
  bl_profile_stm32dfu.protect_flash = (flags & SECURITY_FLAG_PROTECT_FLASH) != 0u;
  bl_profile_stm32dfu.signing_keys = (const uint8_t (*)[32])signing_keys;
  bl_profile_stm32dfu.signing_key_count = (uint8_t)key_count;
  return 1u;
}

/* Our profile as this board runs it: the board may announce a smaller wTransferSize, as
 * many DFU devices do, so hosts can be tested against that quirk with the real core. */
static bl_profile_t board_profile;

/* A wTransferSize the core serves: whole 64-byte EP0 packets and program slices (so every
 * block starts on a word), room for the 20-byte report of UPLOAD block 1 and the 9-byte
 * CRC command, and no more than a write-queue slot holds. */
_Static_assert(BL_PROGRAM_SLICE == 64u && DFUSE_REPORT_LENGTH <= BL_PROGRAM_SLICE, "64-byte units");
static bool transfer_size_supported(uint32_t size) {
  return size >= BL_PROGRAM_SLICE && size <= BL_MAX_TRANSFER_SIZE && size % BL_PROGRAM_SLICE == 0u;
}

/* Tells the board which sizes vb_reset accepts, so it can refuse others by name. */
WASM_EXPORT("vb_transfer_size_supported") uint32_t vb_transfer_size_supported(uint32_t size) {
  return transfer_size_supported(size) ? 1u : 0u;
}

/* The reset path of a chip: Boot0 high selects ST's ROM (which makes no boot decision),
 * otherwise the bootloader decides, and jumps when the application is good. Returns the
 * verdict so the board can log why it stayed. `transfer_size` overrides our profile's
 * wTransferSize (0, or a size the core does not serve, keeps the profile's own); ST's ROM
 * always announces its 2048. */
WASM_EXPORT("vb_reset") uint32_t vb_reset(uint32_t boot0, uint32_t transfer_size) {
  if (boot0 != 0u) {
    bl_init(&bl_profile_st_rom);
    return (uint32_t)BOOT_STAY_REQUESTED;
  }
  boot_verdict_t verdict = boot_decide();
  if (verdict == BOOT_JUMP) {
    /* Terminal on the chip; on the board it records the jump and returns. */
    hal_jump_to_application(STM32DFU_APP_BASE);
    return (uint32_t)verdict;
  }
  board_profile = bl_profile_stm32dfu;
  if (transfer_size_supported(transfer_size)) board_profile.transfer_size = (uint16_t)transfer_size;
  bl_init(&board_profile);
  return (uint32_t)verdict;
}

WASM_EXPORT("vb_bus_reset") void vb_bus_reset(void) { usbd_bus_reset(); }

WASM_EXPORT("vb_setup") void vb_setup(void) { usbd_setup(setup_packet); }

WASM_EXPORT("vb_ep0_out_complete") void vb_ep0_out_complete(uint32_t length) {
  usbd_ep0_out_complete((uint16_t)length);
}

WASM_EXPORT("vb_ep0_transfer_complete") void vb_ep0_transfer_complete(void) {
  usbd_ep0_transfer_complete();
}

WASM_EXPORT("vb_poll") void vb_poll(void) { bl_poll(); }

WASM_EXPORT("vb_work_pending") uint32_t vb_work_pending(void) { return bl_work_pending() ? 1u : 0u; }

WASM_EXPORT("vb_dfu_state") uint32_t vb_dfu_state(void) { return dfu_state(); }

WASM_EXPORT("vb_dfu_status") uint32_t vb_dfu_status(void) { return dfu_status(); }
