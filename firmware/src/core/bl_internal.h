/*
 * bl_internal.h — what the core's modules share with each other (not for ports).
 * Modules: usb_device.c (EP0 control layer + descriptors), dfu.c (DFU/DfuSe state machine),
 * flash.c (flash manager), boot.c (boot decision + stamp), bl_util.c (memory helpers, CRC).
 */
#ifndef STM32DFU_BL_INTERNAL_H
#define STM32DFU_BL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bootloader.h"
#include "hal.h"
#include "stm32dfu_layout.h"

/* ---- Helpers: the core links against no libc ---- */
void bl_memcpy(void *dst, const void *src, uint32_t length);
void bl_memset(void *dst, uint8_t value, uint32_t length);

static inline uint32_t bl_get_u32le(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline void bl_put_u16le(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static inline void bl_put_u32le(uint8_t *p, uint32_t v) {
  bl_put_u16le(p, (uint16_t)v);
  bl_put_u16le(p + 2, (uint16_t)(v >> 16));
}

/* ---- DFU 1.1 numbers (spec §6.1.2, table A.1), named as the spec names them ---- */
enum {
  DFU_REQ_DETACH = 0,
  DFU_REQ_DNLOAD = 1,
  DFU_REQ_UPLOAD = 2,
  DFU_REQ_GETSTATUS = 3,
  DFU_REQ_CLRSTATUS = 4,
  DFU_REQ_GETSTATE = 5,
  DFU_REQ_ABORT = 6,
};
enum {
  appIDLE = 0,
  appDETACH = 1,
  dfuIDLE = 2,
  dfuDNLOAD_SYNC = 3,
  dfuDNBUSY = 4,
  dfuDNLOAD_IDLE = 5,
  dfuMANIFEST_SYNC = 6,
  dfuMANIFEST = 7,
  dfuMANIFEST_WAIT_RESET = 8,
  dfuUPLOAD_IDLE = 9,
  dfuERROR = 10,
};
enum {
  OK = 0,
  errTARGET = 1,
  errFILE = 2,
  errWRITE = 3,
  errERASE = 4,
  errCHECK_ERASED = 5,
  errPROG = 6,
  errVERIFY = 7,
  errADDRESS = 8,
  errNOTDONE = 9,
  errFIRMWARE = 10,
  errVENDOR = 11,
  errUSBR = 12,
  errPOR = 13,
  errUNKNOWN = 14,
  errSTALLEDPKT = 15,
};

/* ---- USB setup packet (USB 2.0 §9.3) ---- */
typedef struct {
  uint8_t bmRequestType;
  uint8_t bRequest;
  uint16_t wValue;
  uint16_t wIndex;
  uint16_t wLength;
} usb_setup_t;

/* Send `length` bytes as the IN data stage, clipped to the request's wLength. */
void usb_send(const uint8_t *data, uint16_t length);
uint8_t usb_alt_setting(void);

/* ---- DFU state machine (dfu.c), driven by usb_device.c ---- */
void dfu_init(const bl_profile_t *profile);
void dfu_request(const usb_setup_t *setup);
void dfu_out_complete(uint16_t length);
void dfu_transfer_complete(void);
void dfu_bus_reset(void);
void dfu_note_activity(void);

/* ---- Flash manager (flash.c). Functions returning uint8_t return a DFU bStatus. ---- */
#define BL_HELD_BLOCK_SIZE 2048u /* the app's first block: vector table + stamp */

void flash_init(const bl_profile_t *profile);
/* Checks before accepting a request; *work_us gets the typical time of the work. */
uint8_t flash_plan_erase(uint32_t address, uint32_t *work_us);
uint8_t flash_plan_crc(uint32_t address, uint32_t length, uint32_t *work_us);
/* Time of the CRC over `length` bytes at the port's rate (hal_crc_words_per_ms). */
uint32_t flash_crc_us(uint32_t length);
/* Time of the stamp's CRC in the boot check at manifestation: its stamped length, from the
 * held block (or the flash when none is held); 0 when there is no stamp to check. On a board
 * that requires signatures, plus the signature check's (SHA-256 of the image, Ed25519). */
uint32_t flash_stamp_check_us(void);
/* Typical time of a mass erase after its first `done` sectors. */
uint32_t flash_mass_erase_us(uint32_t done);

/* The write queue: BL_WRITE_QUEUE_BLOCKS slots of BL_MAX_TRANSFER_SIZE bytes, programmed
 * oldest first, one slice per flash_queue_slice call. A data stage is received straight
 * into a free slot (flash_rx_buffer); flash_accept_write checks the block (region,
 * alignment, blank in flash and in the queued blocks), moves its held-back bytes to RAM
 * and queues the rest. A failure drops the whole queue and is recorded (flash_failure). */
uint8_t *flash_rx_buffer(void); /* NULL when every slot is queued */
uint8_t flash_accept_write(uint32_t address, uint32_t length);
bool flash_queue_empty(void);
uint32_t flash_queue_count(void);
uint32_t flash_queue_head_us(void); /* until the oldest queued block is written */
uint32_t flash_queue_us(void);      /* until every queued block is written */
uint8_t flash_queue_slice(void);
void flash_queue_drop(void);

/* Operations run from bl_poll, each one slice of flash work. */
uint8_t flash_erase(uint32_t address);
uint8_t flash_mass_erase_slice(uint32_t *done, bool *finished);
uint32_t flash_manifest_us(void);
uint8_t flash_manifest_slice(bool *finished);
/* The held first block: whether the host has written into it, whether a range overlaps it,
 * and writing it now (all of it, the stamp's magic word last), for every path on which the
 * host is done with a download without a zero-length DNLOAD (ABORT, bus reset) and before
 * a read or CRC of its bytes. The stamp's CRC still keeps a partial image from booting. */
bool flash_held_pending(void);
bool flash_held_overlaps(uint32_t address, uint32_t length);
uint8_t flash_commit_held(void);
/* Signing (bl_profile_t.signing_required): the held block's magic word withheld until the
 * signature checks; flash as the host will see it once written (UPLOAD, CRC); the magic word
 * written; an installed image made unbootable before its sectors change. */
bool flash_magic_pending(void);
void flash_read_installed(uint32_t address, uint8_t *out, uint32_t length);
uint8_t flash_write_pending_magic(void);
uint8_t flash_revoke_installed(void);
uint32_t flash_crc(uint32_t address, uint32_t length);
/* Clip a read to the readable flash; false when `address` itself is outside. */
bool flash_clip_readable(uint32_t address, uint32_t *length);
/* The last failed flash operation since bl_init: its bStatus (OK: none) and address. */
uint8_t flash_failure(uint32_t *address);

/* ---- Boot (boot.c): the image checks without the request word or the button ---- */
/* `verify_signature`: also the signature and counter check of a board that verifies at boot
 * (manifestation has just checked them, so it passes false). */
boot_verdict_t boot_check_application(bool verify_signature);

/* ---- Anti-rollback counter (counter.c), in OTP; 0 and capacity 0 on boards without ---- */
uint32_t counter_capacity(void);
uint32_t counter_read(void);
/* Raise the counter to `to` (never lowers it); OK once it reads at least `to`. */
uint8_t counter_advance(uint32_t to);

/* ---- Security (dfu.c): the GET_SECURITY record (bootloader.h) ---- */
void dfu_security_record(uint8_t out[SECURITY_RECORD_LENGTH]);

#endif /* STM32DFU_BL_INTERNAL_H */
