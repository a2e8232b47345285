/*
 * otp.c — the one-time-programmable area behind hal.h's hal_otp_read and hal_otp_program
 * (RM0383 §3.7; RM0090 §3.8 for the F405, the same layout): 16 data blocks of 32 bytes at
 * 0x1FFF7800, then 16 lock bytes at 0x1FFF7A00, one per block, 0xFF while the block is
 * open and 0x00 once it is locked. OTP bytes are programmed like main flash (§3.5.4) and
 * never erased; the core's anti-rollback counter (src/core/counter.c) clears bits of them.
 *
 * Programming goes byte by byte with PSIZE x8 (§3.5.2: byte parallelism works at every
 * supply voltage, and a byte is the unit the counter changes). The lock bytes are never
 * written here: locking a block is a product decision, not a side effect of an offset.
 */
#include <stddef.h>

#include "flash_if.h"
#include "port.h"
#include "stm32f4_regs.h"

#ifdef STM32DFU_OTP_SIZE

_Static_assert(STM32DFU_OTP_BASE == OTP_AREA_BASE && STM32DFU_OTP_SIZE == OTP_AREA_SIZE,
               "the layout's OTP area is the one RM0383 §3.7 describes");

/* One byte program, like one word (DS10314 §6.3.12: 100 µs max): 1 ms bounds it. */
#define OTP_PROGRAM_MAX_MS 1u

#if STM32DFU_EMULATED
/* QEMU's netduinoplus2 maps nothing at the system memory (a load there is a bus fault): the
 * emulated board has an OTP area that was never programmed and cannot be. */
void hal_otp_read(uint32_t offset, uint8_t *out, uint32_t length) {
  (void)offset;
  for (uint32_t i = 0; i < length; i++) {
    out[i] = 0xFFu;
  }
}

hal_status_t hal_otp_program(uint32_t offset, uint8_t value) {
  (void)offset;
  (void)value;
  return HAL_ERR_PROTECTED;
}
#else

static volatile uint8_t *otp_address(uint32_t address) {
  return (volatile uint8_t *)(uintptr_t)address;
}

void hal_otp_read(uint32_t offset, uint8_t *out, uint32_t length) {
  /* Only the data blocks are read: a byte asked for past them comes back 0xFF (never
   * programmed), so no caller reads the lock bytes or beyond as counter bits. */
  for (uint32_t i = 0; i < length; i++) {
    out[i] = offset < OTP_AREA_SIZE && i < OTP_AREA_SIZE - offset ? *otp_address(OTP_AREA_BASE + offset + i)
                                                                  : 0xFFu;
  }
}

hal_status_t hal_otp_program(uint32_t offset, uint8_t value) {
  /* Past the 512 data bytes are the lock bytes: refused before any register access. */
  if (offset >= OTP_AREA_SIZE) {
    return HAL_ERR_PROTECTED;
  }
  /* RM0383 §3.7: a block whose lock byte is 0x00 cannot be programmed; lock bytes must hold
   * 0x00 or 0xFF only, so anything but 0xFF is treated as locked. */
  if (*otp_address(OTP_LOCK_BASE + offset / OTP_BLOCK_SIZE) != 0xFFu) {
    return HAL_ERR_PROTECTED;
  }
  hal_status_t status = flash_wait_idle(OTP_PROGRAM_MAX_MS);
  if (status == HAL_OK) {
    status = flash_unlock(); /* §3.5.1 FLASH_KEYR key sequence, leftover FLASH_SR flags cleared */
  }
  if (status == HAL_OK) {
    /* §3.5.4 programming, §3.8.5 FLASH_CR: PG with PSIZE x8 (§3.5.2), then one byte write
     * into the OTP area (§3.7) starts the program. */
    FLASH_IF->CR = FLASH_CR_PSIZE_X8 | FLASH_CR_PG;
    *otp_address(OTP_AREA_BASE + offset) = value;
    STM32F4_DSB();
    status = flash_wait_idle(OTP_PROGRAM_MAX_MS);
    if (status == HAL_OK) {
      status = flash_status_from_sr(FLASH_IF->SR);
    }
    /* §3.8.4 FLASH_SR: error flags and EOP are rc_w1; cleared so the next operation does
     * not start with this one's PGSERR or WRPERR set. */
    FLASH_IF->SR = FLASH_SR_ERRORS | FLASH_SR_EOP;
  }
  flash_lock(); /* §3.8.5 FLASH_CR: LOCK, PG cleared */
  /* The ART data cache may hold the line read before the program (§3.4). */
  flash_reset_caches();
  return status;
}
#endif /* STM32DFU_EMULATED */

#endif /* STM32DFU_OTP_SIZE */
