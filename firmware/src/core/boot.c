/* boot.c — the boot decision (contract 5) and the app stamp check (contract 4). */
#include "bl_internal.h"

#ifdef STM32DFU_SIGNING
#include "signature.h"
#endif

#define STAMP_OFFSET 0x1Cu
#define STAMP_MAGIC 0x504D5453u /* "STMP" little-endian */
#define STAMP_CRC_OFFSET 0x24u
#define STAMP_MIN_LENGTH 0x2Cu /* vectors up to and including the stamp */

stamp_verdict_t boot_check_stamp(uint32_t base, uint32_t region_size, uint32_t *version) {
  uint8_t chunk[16];
  hal_flash_read(base + STAMP_OFFSET, chunk, 16u);
  if (bl_get_u32le(chunk) != STAMP_MAGIC) return STAMP_BAD_MAGIC;
  const uint32_t length = bl_get_u32le(chunk + 4);
  const uint32_t expected_crc = bl_get_u32le(chunk + 8);
  const uint32_t stamped_version = bl_get_u32le(chunk + 12);
  if ((length & 3u) != 0u || length < STAMP_MIN_LENGTH || length > region_size) {
    return STAMP_BAD_LENGTH;
  }

  /* The crc word itself is not covered: the CRC runs up to it and continues after it. */
  uint32_t crc = hal_crc_stm32(0xFFFFFFFFu, base, STAMP_CRC_OFFSET);
  crc = hal_crc_stm32(crc, base + STAMP_CRC_OFFSET + 4u, length - STAMP_CRC_OFFSET - 4u);
  if (crc != expected_crc) return STAMP_BAD_CRC;
  if (version != NULL) *version = stamped_version;
  return STAMP_VALID;
}

/* A board that verifies at every boot: the signature over the installed image, and its
 * security counter against the board's (docs/signed-firmware.md). */
static bool signature_boots(void) {
#ifdef STM32DFU_SIGNING
  const bl_profile_t *p = &bl_profile_stm32dfu;
  /* Without the requirement there are no keys to check with: verify-at-boot needs both. */
  if (!p->signing_required || !p->signing_verify_at_boot) return true;
  uint32_t image_counter = 0;
  const sig_verdict_t verdict =
      sig_check_image(STM32DFU_APP_BASE, STM32DFU_APP_SIZE, p->signing_keys, p->signing_key_count,
                      sig_board_word(STM32DFU_BOARD_ID), &image_counter, hal_flash_read);
  return verdict == SIG_VALID && image_counter >= counter_read();
#else
  return true;
#endif
}

boot_verdict_t boot_check_application(bool verify_signature) {
  uint8_t vectors[8];
  hal_flash_read(STM32DFU_APP_BASE, vectors, sizeof vectors);
  const uint32_t initial_sp = bl_get_u32le(vectors);
  const uint32_t reset_handler = bl_get_u32le(vectors + 4);
  if (initial_sp == 0xFFFFFFFFu) return BOOT_STAY_NO_APP;
  if (boot_check_stamp(STM32DFU_APP_BASE, STM32DFU_APP_SIZE, NULL) != STAMP_VALID) {
    return BOOT_STAY_BAD_STAMP;
  }
  /* The initial SP may equal the end of SRAM (full-descending stack) and must be
   * word-aligned; the reset handler must be Thumb code inside the application region. */
  const uint32_t handler = reset_handler & ~1u;
  if (initial_sp <= STM32DFU_SRAM_BASE || initial_sp > STM32DFU_SRAM_BASE + STM32DFU_SRAM_SIZE ||
      (initial_sp & 3u) != 0u || (reset_handler & 1u) == 0u || handler < STM32DFU_APP_BASE ||
      handler >= STM32DFU_APP_END) {
    return BOOT_STAY_BAD_VECTORS;
  }
  if (verify_signature && !signature_boots()) return BOOT_STAY_BAD_SIGNATURE;
  return BOOT_JUMP;
}

boot_verdict_t boot_decide(void) {
  uint32_t magic = 0;
  uint32_t check = 0;
  hal_boot_request_read(&magic, &check);
  /* Clear first, so a request is honoured once and a crash in DFU mode cannot loop. */
  if (magic != 0u || check != 0u) hal_boot_request_write(0u, 0u);
  if (magic == STM32DFU_BOOT_REQUEST_MAGIC && check == ~STM32DFU_BOOT_REQUEST_MAGIC) {
    return BOOT_STAY_REQUESTED;
  }
  if (STM32DFU_HAS_BUTTON && hal_button_pressed()) return BOOT_STAY_BUTTON;
  return boot_check_application(true);
}
