/*
 * bootloader.h — the portable core's entry points, called by a port (stm32f4, wasm, sim).
 *
 * Call order for a port:
 *
 *   1. At reset, before clocks or USB are touched:
 *        if (boot_decide() == BOOT_JUMP) hal_jump_to_application(STM32DFU_APP_BASE);
 *      boot_decide() reads and clears the boot-request word, so call it exactly once per reset.
 *      (The ST ROM model skips this: Boot0 high means "stay".)
 *   2. Bring up clocks and the USB peripheral (disconnected), then
 *        bl_init(&bl_profile_stm32dfu);     or &bl_profile_st_rom for the ROM model
 *      bl_init resets every core context and ends with hal_usb_connect(true).
 *   3. Forward USB events as they happen, from the interrupt or the main loop:
 *        usbd_bus_reset()              bus reset seen
 *        usbd_setup(setup)             a SETUP packet (8 bytes, as on the wire)
 *        usbd_ep0_out_complete(n)      the OUT data stage armed by hal_usb_ep0_receive arrived
 *        usbd_ep0_transfer_complete()  the status stage of the current control transfer is done
 *      Every SETUP is answered with exactly one of hal_usb_ep0_send / _receive / _ack / _stall
 *      (for _receive: an _ack or _stall follows from usbd_ep0_out_complete). Data given to
 *      hal_usb_ep0_send lives in static storage and stays valid until the next usbd_* call.
 *   4. Call bl_poll() from the main loop, forever, alternating with servicing USB. Flash
 *      operations, CRC computation and leaving the bootloader (disconnect + jump or reset)
 *      happen there. Each call does at most one bounded slice of flash work: one sector
 *      erase (it cannot be split; the bus stalls for its duration), or programming at most
 *      BL_PROGRAM_SLICE bytes plus their read-back, so USB keeps being served between
 *      slices (the chip's OTG FIFO holds packets that arrive during one). Erases and other
 *      announced work start only after the GETSTATUS announcing dfuDNBUSY has completed.
 *      Requests that must not leave accepted data unwritten (ABORT, CLRSTATUS, bus reset)
 *      finish the write queue inside the usbd_* call: at most BL_WRITE_QUEUE_BLOCKS blocks
 *      of programming, during which the port NAKs. bl_work_pending() says whether bl_poll
 *      has something to do (a port may sleep otherwise).
 *
 * None of these functions is re-entrant: a port that delivers usbd_* events from the USB
 * interrupt calls bl_poll with that interrupt masked, or polls the USB peripheral from the
 * main loop. docs/bootloader-core.md describes the DFU/DfuSe behaviour in detail.
 */
#ifndef STM32DFU_BOOTLOADER_H
#define STM32DFU_BOOTLOADER_H

#include <stdbool.h>
#include <stdint.h>

/* ---- Who the bootloader is on the bus; a port passes one to bl_init ---- */
typedef struct {
  uint16_t vendor_id, product_id, bcd_device;
  const char *manufacturer, *product;   /* ASCII; the serial comes from hal_unique_id() */
  const char *const *alt_names;         /* DfuSe layout string per alt setting (iInterface) */
  uint8_t alt_count;                    /* alt 0 is the internal flash; others are refused */
  bool protect_bootloader;              /* refuse erase/write below STM32DFU_APP_BASE; false
                                           is the ROM model: whole flash, leave jumps to the
                                           address pointer without checking the image */
  bool manifestation_tolerant;          /* stay on the bus after manifestation */
  bool crc_command;                     /* announce and serve the vendor CRC command */
  bool hold_first_block;                /* write the app's first block only at manifestation */
  bool webusb;                          /* BOS with WebUSB + MS OS 2.0 (bcdUSB 0x0201) */
  bool pipelined;                       /* queue data blocks and answer dfuDNLOAD-IDLE while a
                                           buffer is free (docs/bootloader-core.md); false is
                                           the strict one-block-at-a-time DfuSe model */
  uint16_t transfer_size;               /* wTransferSize; at most BL_MAX_TRANSFER_SIZE */
  /* Signed firmware (docs/signed-firmware.md), in builds with STM32DFU_SIGNING: install only
   * images signed by one of these raw Ed25519 public keys. The stamp's magic word is then
   * withheld until the signature checks at manifestation, and the first change to an
   * installed image's sectors zeroes its magic word first (its CRC can be forged). */
  bool signing_required;
  const uint8_t (*signing_keys)[32];
  uint8_t signing_key_count;
  bool signing_verify_at_boot;          /* boot_decide checks the signature too */
  bool lock_upload;                     /* no UPLOAD (bitCanUpload clear); CRC of whole app
                                           sectors only, so no range reads flash out */
  bool protect_flash;                   /* the port sets RDP 1 + WRP of the bootloader */
} bl_profile_t;

/* Ours, from stm32dfu_layout.h. A port built with STM32DFU_RUNTIME_PROFILE (the virtual
 * board) may change its signing fields before bl_init and boot_decide. */
#ifdef STM32DFU_RUNTIME_PROFILE
extern bl_profile_t bl_profile_stm32dfu;
#else
extern const bl_profile_t bl_profile_stm32dfu;
#endif
extern const bl_profile_t bl_profile_st_rom;   /* model of ST's F4 ROM DfuSe bootloader */

#define BL_MAX_TRANSFER_SIZE 2048u
/* Most bytes one bl_poll call programs: 16 words, 256 µs typ (1.6 ms max) on the F4. */
#define BL_PROGRAM_SLICE 64u
/* Data block buffers. Two keep the flash busy behind an ideal host; the third absorbs a
 * host whose GETSTATUS + DNLOAD round trip takes as long as programming one block
 * (browsers, Windows). Each costs BL_MAX_TRANSFER_SIZE bytes of RAM. */
#define BL_WRITE_QUEUE_BLOCKS 3u

/* ---- Boot decision (contract 5 and 6) ---- */
typedef enum {
  BOOT_STAY_REQUESTED = 0,   /* boot-request word held magic + complement */
  BOOT_STAY_BUTTON = 1,      /* button held at reset */
  BOOT_STAY_NO_APP = 2,      /* first application word erased (0xFFFFFFFF) */
  BOOT_STAY_BAD_STAMP = 3,   /* stamp magic, length or CRC wrong */
  BOOT_STAY_BAD_VECTORS = 4, /* SP outside SRAM or reset handler outside the app / not Thumb */
  BOOT_JUMP = 5,
  BOOT_STAY_BAD_SIGNATURE = 6, /* signature checked at boot (signing_verify_at_boot) failed,
                                  or the image's security counter is below the board's */
} boot_verdict_t;

/* Reads and clears the boot-request word, then checks button, stamp and vectors. */
boot_verdict_t boot_decide(void);

/* The stamp check alone (contract 4) for an image at `base` in a region of `region_size`
 * bytes, read through hal_flash_read. `version` (may be NULL) receives the version field
 * when the verdict is STAMP_VALID. */
typedef enum {
  STAMP_VALID = 0,
  STAMP_BAD_MAGIC = 1,
  STAMP_BAD_LENGTH = 2,
  STAMP_BAD_CRC = 3,
} stamp_verdict_t;
stamp_verdict_t boot_check_stamp(uint32_t base, uint32_t region_size, uint32_t *version);

/* The STM32 CRC unit's CRC (contract 4) continued over `length` bytes (a multiple of 4) of
 * little-endian words; start with crc = 0xFFFFFFFF. */
uint32_t bl_crc_stm32(uint32_t crc, const uint8_t *data, uint32_t length);
/* The same over `length` bytes (a multiple of 4) of memory at `address`, read with
 * hal_flash_read: what hal_crc_stm32 returns on a port without a CRC unit. */
uint32_t bl_crc_stm32_memory(uint32_t crc, uint32_t address, uint32_t length);

/* An upper estimate of the signature check — SHA-256 of `length` bytes and one Ed25519
 * verify — in microseconds at `mhz`: docs/signature-cost.md's Cortex-M4 instruction counts
 * at -Os (2,476 per 64-byte SHA-256 block, at most 38 M for the verify) at 1.7 cycles each,
 * the top of its measured range. Manifestation announces it in bwPollTimeout; a port plans
 * its watchdog for it when the board verifies at every boot. */
static inline uint32_t bl_signature_check_us(uint32_t length, uint32_t mhz) {
  const uint64_t instructions = (uint64_t)(length / 64u + 1u) * 2476u + 38000000u;
  return (uint32_t)((instructions * 17u) / (10u * (mhz == 0u ? 1u : mhz)));
}

/* ---- DFU mode ---- */
void bl_init(const bl_profile_t *profile);
void usbd_bus_reset(void);
void usbd_setup(const uint8_t setup[8]);
void usbd_ep0_out_complete(uint16_t length);
void usbd_ep0_transfer_complete(void);
void bl_poll(void);
bool bl_work_pending(void);

/* After a manifestation that left a bootable image, the device leaves (disconnect + jump)
 * on the next bus reset, or once no SETUP has arrived for this long. */
#define BL_LEAVE_IDLE_MS 1000u

/* Observers for ports, tests and the virtual board (DFU 1.1 bState / bStatus numbers). */
uint8_t dfu_state(void);
uint8_t dfu_status(void);

/* DfuSe command bytes served in DNLOAD block 0 (Get Commands lists them). */
#define DFUSE_CMD_GET_COMMANDS 0x00u
#define DFUSE_CMD_SET_ADDRESS 0x21u
#define DFUSE_CMD_ERASE 0x41u
#define DFUSE_CMD_READ_UNPROTECT 0x92u
/* Vendor: 0xB1 + u32 address + u32 length (LE) computes the STM32 CRC of that flash range.
 * UPLOAD block 1 (from dfuIDLE) returns the report, all little-endian:
 *   +0 u32 CRC address, +4 u32 CRC length, +8 u32 CRC (0, 0, 0xFFFFFFFF before any CRC),
 *   +12 u32 address of the last failed flash operation (0xFFFFFFFF: none),
 *   +16 u8 its bStatus (errCHECK_ERASED, errPROG, errVERIFY, errWRITE, errERASE; 0: none),
 *   +17 u8 the last manifestation's signature verdict + 1 (sig_verdict_t; 0: none checked),
 *   +18..19 zero.
 * It stalls while there is neither a CRC result, a failure nor a signature verdict to report. */
#define DFUSE_CMD_CRC 0xB1u

/* Vendor request GET_SECURITY (ours only): bmRequestType 0xC1 (IN, vendor, interface),
 * bRequest 0x53, wValue 0, wIndex 0 (the DFU interface), wLength >= 32. Any state. Returns
 * the security record, little-endian (docs/signed-firmware.md):
 *   +0 u8 format (1), +1 u8 flags (SECURITY_FLAG_*), +2 u8 key count,
 *   +3 u8 the last manifestation's signature verdict + 1 (as report byte 17),
 *   +4 u32 board id word, +8 u32 security counter, +12 u32 counter capacity (0: none kept),
 *   +16 u32[4] key ids (first word of SHA-256 of each raw key; 0 when unused). */
#define USB_REQ_GET_SECURITY 0x53u
#define SECURITY_RECORD_LENGTH 32u
#define SECURITY_RECORD_FORMAT 1u
#define SECURITY_FLAG_REQUIRED 0x01u       /* installs only images signed by its keys */
#define SECURITY_FLAG_VERIFY_AT_BOOT 0x02u /* checks the signature at every boot */
#define SECURITY_FLAG_LOCK_UPLOAD 0x04u    /* UPLOAD refused, CRC of whole sectors only */
#define SECURITY_FLAG_PROTECT_FLASH 0x08u  /* sets RDP 1 and WRP of its own sectors */
#define SECURITY_FLAG_CHECK_BUILT 0x80u    /* signature check compiled in */
#define DFUSE_CRC_RESULT_BLOCK 1u
#define DFUSE_REPORT_LENGTH 20u
#define DFUSE_REPORT_NO_FAILURE 0xFFFFFFFFu

#endif /* STM32DFU_BOOTLOADER_H */
