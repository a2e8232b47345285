/*
 * hal.h — the only door from the portable bootloader core to hardware.
 *
 * The core (src/core) calls these; each port implements them: src/port/stm32f4 on the chip,
 * src/port/sim for host unit tests, src/port/wasm for the virtual board. Nothing in the
 * core touches a register or a host API directly.
 *
 * Addresses are absolute (0x08000000-based). Sector indexes index STM32DFU_SECTOR_TABLE
 * from the generated stm32dfu_layout.h. Functions documented "terminal" do not return on
 * the chip; in simulation they may return, and the core must then return to its caller
 * without touching anything else.
 */
#ifndef STM32DFU_HAL_H
#define STM32DFU_HAL_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
  HAL_OK = 0,
  HAL_ERR_PROTECTED = 1,  /* write protection (FLASH_SR.WRPERR) */
  HAL_ERR_ALIGNMENT = 2,  /* alignment or parallelism (PGAERR, PGPERR) */
  HAL_ERR_SEQUENCE = 3,   /* programming sequence (PGSERR) or operation error */
  HAL_ERR_TIMEOUT = 4,    /* a bounded wait ran out */
  HAL_ERR_VERIFY = 5,     /* read-back differs from what was written */
} hal_status_t;

/* ---- Flash (blocking: on the chip the bus stalls while an operation runs) ---- */

/* Erase one erase unit, by index into STM32DFU_SECTOR_TABLE. */
hal_status_t hal_flash_erase_sector(uint32_t sector_index);

/* Program `length` bytes at `address`; both multiples of STM32DFU_FLASH_PROGRAM_UNIT.
 * NOR semantics: programming can only clear bits. */
hal_status_t hal_flash_program(uint32_t address, const uint8_t *data, uint32_t length);

/* Copy `length` bytes of flash (or any readable memory) at `address` into `out`. */
void hal_flash_read(uint32_t address, uint8_t *out, uint32_t length);

/* ---- One-time-programmable area (STM32DFU_OTP_BASE, STM32DFU_OTP_SIZE; RM0383 §3.6) ----
 * Offsets are from the start of the area; the lock bytes after it are never touched. The
 * core keeps its anti-rollback counter in [STM32DFU_COUNTER_OTP_OFFSET, + _SIZE). Built only
 * into ports of boards whose chip has an OTP area (STM32DFU_OTP_SIZE defined). */

/* Copy `length` OTP bytes from `offset`. */
void hal_otp_read(uint32_t offset, uint8_t *out, uint32_t length);

/* Program one OTP byte: NOR semantics, bits only cleared, never set again. The caller reads
 * back to confirm. HAL_ERR_PROTECTED when its block is locked. */
hal_status_t hal_otp_program(uint32_t offset, uint8_t value);

/* ---- STM32 CRC (contract 4: RM0383 §4, the chip's CRC unit) ----
 * Polynomial 0x04C11DB7, most significant bit first, no reflection, no final XOR, over
 * whole 32-bit words read little-endian from memory. The result equals bl_crc_stm32 over
 * the same bytes; only the speed differs between ports. */

/* The CRC continued from `crc` over `length` bytes (a multiple of 4) of readable memory at
 * `address` (the flash, as hal_flash_read reads it). crc = 0xFFFFFFFF starts a CRC (the
 * unit's reset value); passing a previous result continues it, so a range split in two
 * gives the CRC of the whole (the stamp check skips its crc word that way). Any `crc` is
 * valid: the F4 unit cannot be loaded with a value, so its port first feeds the one word
 * that takes the reset value to `crc` (crc_unit.c). On the STM32F4 the unit computes it
 * once its power-on self-test passed, software otherwise (and on boards without one). */
uint32_t hal_crc_stm32(uint32_t crc, uint32_t address, uint32_t length);

/* Words per millisecond hal_crc_stm32 is sure to reach at the current clock, with the
 * path the port chose (unit or software): a conservative rate from which the core derives
 * the CRC command's bwPollTimeout. At least 1. */
uint32_t hal_crc_words_per_ms(void);

/* ---- USB control endpoint (EP0) ----
 * The port deals in packets; the core deals in whole control transfers. The port calls
 * the core's usbd_* entry points (bootloader.h) on bus reset, SETUP, OUT data complete and
 * transfer complete; the core answers each SETUP with exactly one of: send, receive,
 * ack, stall. */

/* IN data stage of `length` bytes (already clipped to wLength). The port splits it into
 * max-packet-size packets, adds a zero-length packet when `length` < wLength and is a
 * multiple of the packet size, then completes the status stage. */
void hal_usb_ep0_send(const uint8_t *data, uint16_t length);

/* Arm the OUT data stage for exactly `length` bytes into `buffer` (which stays valid until
 * usbd_ep0_out_complete). The core acks or stalls after it has the data. */
void hal_usb_ep0_receive(uint8_t *buffer, uint16_t length);

/* Status stage: zero-length IN packet for no-data and OUT-data requests. */
void hal_usb_ep0_ack(void);

/* Stall EP0 in both directions until the next SETUP (request error). */
void hal_usb_ep0_stall(void);

/* Device address from SET_ADDRESS; the port applies it when its hardware requires
 * (OTG_FS: before the status stage). */
void hal_usb_set_address(uint8_t address);

/* Soft disconnect / connect (detach and re-enumerate). */
void hal_usb_connect(bool connected);

/* ---- Time, identity, user interface ---- */

/* Milliseconds since reset; wraps. */
uint32_t hal_millis(void);

/* The chip's 96-bit unique id (STM32DFU_UID_ADDR), 12 bytes. */
void hal_unique_id(uint8_t out[12]);

/* The bootloader's button (STM32DFU_HAS_BUTTON); false when the board has none. */
bool hal_button_pressed(void);

typedef enum { HAL_LED_IDLE = 0, HAL_LED_TRANSFER = 1, HAL_LED_ERROR = 2 } hal_led_pattern_t;
void hal_led(hal_led_pattern_t pattern);

/* ---- Boot request word (no-init RAM, STM32DFU_BOOT_REQUEST_ADDR) ---- */

/* Read both words: the magic and its complement. */
void hal_boot_request_read(uint32_t *magic, uint32_t *check);
/* Write both words; (0, 0) clears the request. */
void hal_boot_request_write(uint32_t magic, uint32_t check);

/* ---- Leaving the bootloader (terminal) ---- */

/* System reset (AIRCR.SYSRESETREQ on the chip). */
void hal_system_reset(void);

/* Hand the chip to the application whose vector table is at `vector_table`: interrupts,
 * SysTick, NVIC, USB and clocks back to reset state, VTOR, MSP, branch to reset handler. */
void hal_jump_to_application(uint32_t vector_table);

#endif /* STM32DFU_HAL_H */
