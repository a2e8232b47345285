/*
 * port.c — the wasm port: the bootloader core compiled for the virtual board
 * (@stm32dfu/virtual-board).
 *
 * Every hal.h function is left undefined here: wasm-ld (--allow-undefined) turns each into
 * an import from the "env" module, and the board implements them in TypeScript against its
 * flash, clock, pins and virtual USB cable. This file only exports the core's entry points
 * under stable names, and plays the chip's reset path (bootloader.h, "Call order").
 */
#include "bootloader.h"
#include "hal.h"
#include "stm32dfu_layout.h"

#define WASM_EXPORT(name) __attribute__((export_name(name)))

/* The board writes each SETUP packet here before calling vb_setup: the core reads it as the
 * OTG_FS port would read it from the RX FIFO. */
static uint8_t setup_packet[8];

WASM_EXPORT("vb_setup_buffer") uint8_t *vb_setup_buffer(void) { return setup_packet; }

/* The reset path of a chip: Boot0 high selects ST's ROM (which makes no boot decision),
 * otherwise the bootloader decides, and jumps when the application is good. Returns the
 * verdict so the board can log why it stayed. */
WASM_EXPORT("vb_reset") uint32_t vb_reset(uint32_t boot0) {
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
  bl_init(&bl_profile_stm32dfu);
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
