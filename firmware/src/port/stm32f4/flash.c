/*
 * flash.c — embedded flash driver (RM0383 §3.5 "Erase and program operations", registers
 * in §3.8; RM0090 §3.6 and §3.9 for the F405): unlock, sector erase by SNB, x32
 * programming, error flags, bounded BSY waits, lock, ART cache reset.
 *
 * While an operation runs, any fetch from flash stalls the bus (RM0383 §3.5), including
 * this code's own polling; the bounds below are for a BSY that never clears.
 */
#include <stddef.h>

#include "flash_if.h"
#include "port.h"
#include "stm32f4_regs.h"

typedef struct {
  uint32_t start, size, erase_ms_typ, erase_ms_max;
} flash_sector_t;

static const flash_sector_t flash_sectors[STM32DFU_SECTOR_COUNT] = STM32DFU_SECTOR_TABLE;

/*
 * The bootloader's own sectors are refused here too, not only by the core's region checks
 * (src/core/flash.c): an erase or program below the application is answered
 * HAL_ERR_PROTECTED before any FLASH register is read or written. A future self-update path
 * must say so at build time, with -DPORT_FLASH_SELF_UPDATE=1, and bring its own argument for
 * never leaving a board without a bootloader. (Sectors 0-1 can also be write-protected in
 * the option bytes: docs/hardware.md, "Write-protecting the bootloader".)
 */
#ifndef PORT_FLASH_SELF_UPDATE
#define PORT_FLASH_SELF_UPDATE 0
#endif
#if PORT_FLASH_SELF_UPDATE
#define FLASH_FIRST_WRITABLE_ADDRESS STM32DFU_FLASH_BASE
#else
#define FLASH_FIRST_WRITABLE_ADDRESS STM32DFU_APP_BASE
#endif
#define FLASH_END (STM32DFU_FLASH_BASE + STM32DFU_FLASH_SIZE)
_Static_assert(STM32DFU_APP_BASE == STM32DFU_BOOTLOADER_BASE + STM32DFU_BOOTLOADER_SIZE &&
                   STM32DFU_APP_FIRST_SECTOR == STM32DFU_BOOTLOADER_FIRST_SECTOR + STM32DFU_BOOTLOADER_SECTOR_COUNT,
               "the application starts where the bootloader's sectors end");

hal_status_t flash_wait_idle(uint32_t max_ms) {
  uint32_t start = hal_millis();
  uint32_t polls_left = (max_ms + 10u) * (STM32DFU_SYSCLK_HZ / 1000u);
  while ((FLASH_IF->SR & FLASH_SR_BSY) != 0u) {
    watchdog_refresh();
    if (hal_millis() - start > max_ms + 10u || polls_left-- == 0u) {
      return HAL_ERR_TIMEOUT;
    }
  }
  return HAL_OK;
}

hal_status_t flash_status_from_sr(uint32_t sr) {
  if ((sr & FLASH_SR_WRPERR) != 0u) {
    return HAL_ERR_PROTECTED;
  }
  if ((sr & (FLASH_SR_PGAERR | FLASH_SR_PGPERR)) != 0u) {
    return HAL_ERR_ALIGNMENT;
  }
  if ((sr & FLASH_SR_ERRORS) != 0u) {
    return HAL_ERR_SEQUENCE;
  }
  return HAL_OK;
}

hal_status_t flash_unlock(void) {
  /* RM0383 §3.5.1 and §3.8 FLASH_KEYR: the key sequence; a wrong sequence locks CR until
   * the next reset. */
  if ((FLASH_IF->CR & FLASH_CR_LOCK) != 0u) {
    FLASH_IF->KEYR = FLASH_KEY1;
    FLASH_IF->KEYR = FLASH_KEY2;
  }
  if ((FLASH_IF->CR & FLASH_CR_LOCK) != 0u) {
    return HAL_ERR_SEQUENCE;
  }
  FLASH_IF->SR = FLASH_SR_ERRORS | FLASH_SR_EOP; /* §3.8 FLASH_SR: rc_w1, clear leftovers */
  return HAL_OK;
}

void flash_lock(void) {
  FLASH_IF->CR = FLASH_CR_LOCK; /* §3.8 FLASH_CR: LOCK, every operation bit cleared */
}

/* Each ART cache (RM0383 §3.4) is reset while disabled (FLASH_ACR ICRST/DCRST are writable
 * only then), the reset bit cleared, and the cache enabled again. */
void flash_reset_caches(void) {
  uint32_t acr = FLASH_IF->ACR;
  uint32_t enabled = acr & (FLASH_ACR_ICEN | FLASH_ACR_DCEN);
  if (enabled == 0u) {
    return;
  }
  uint32_t disabled = acr & ~(FLASH_ACR_ICEN | FLASH_ACR_DCEN | FLASH_ACR_ICRST | FLASH_ACR_DCRST);
  FLASH_IF->ACR = disabled;
  FLASH_IF->ACR = disabled | FLASH_ACR_ICRST | FLASH_ACR_DCRST;
  FLASH_IF->ACR = disabled;
  FLASH_IF->ACR = disabled | enabled;
}

hal_status_t hal_flash_erase_sector(uint32_t sector_index) {
  if (sector_index >= STM32DFU_SECTOR_COUNT) {
    return HAL_ERR_SEQUENCE;
  }
#if !PORT_FLASH_SELF_UPDATE
  if (sector_index < STM32DFU_APP_FIRST_SECTOR) {
    return HAL_ERR_PROTECTED; /* a bootloader sector: nothing touched */
  }
#endif
  hal_status_t status = flash_wait_idle(flash_sectors[sector_index].erase_ms_max);
  if (status == HAL_OK) {
    status = flash_unlock();
  }
  if (status == HAL_OK) {
    /* RM0383 §3.5.3 sector erase (FLASH_CR, §3.8): SER + SNB (bits 6:3; sector numbers
     * equal table indexes on the single-bank F411 and F405), PSIZE x32 (§3.5.2, 2.7-3.6 V),
     * then STRT. */
    FLASH_IF->CR = FLASH_CR_PSIZE_X32 | FLASH_CR_SER | (sector_index << FLASH_CR_SNB_SHIFT);
    /* The erase stalls every fetch from flash, this code's included, for up to
     * erase_ms_max: the watchdog gets a full timeout for it (watchdog.c). */
    watchdog_refresh();
    FLASH_IF->CR |= FLASH_CR_STRT;
    STM32F4_DSB();
    status = flash_wait_idle(flash_sectors[sector_index].erase_ms_max);
    if (status == HAL_OK) {
      status = flash_status_from_sr(FLASH_IF->SR);
    }
  }
  flash_lock();
  flash_reset_caches();
  return status;
}

hal_status_t hal_flash_program(uint32_t address, const uint8_t *data, uint32_t length) {
  if ((address % STM32DFU_FLASH_PROGRAM_UNIT) != 0u || (length % STM32DFU_FLASH_PROGRAM_UNIT) != 0u) {
    return HAL_ERR_ALIGNMENT;
  }
  /* Inside [first writable address, end of flash), written so that nothing can wrap; a
   * range that starts in the bootloader's sectors is refused before any register access. */
  if (address < FLASH_FIRST_WRITABLE_ADDRESS || length > FLASH_END - FLASH_FIRST_WRITABLE_ADDRESS ||
      address - FLASH_FIRST_WRITABLE_ADDRESS > (FLASH_END - FLASH_FIRST_WRITABLE_ADDRESS) - length) {
    return HAL_ERR_PROTECTED;
  }
  hal_status_t status = flash_wait_idle(1u);
  if (status == HAL_OK) {
    status = flash_unlock();
  }
  /* Program time is 100 µs max per word (DS10314 §6.3.12): 1 ms is a generous bound. */
  for (uint32_t offset = 0; status == HAL_OK && offset < length; offset += 4u) {
    uint32_t word = (uint32_t)data[offset] | ((uint32_t)data[offset + 1u] << 8) |
                    ((uint32_t)data[offset + 2u] << 16) | ((uint32_t)data[offset + 3u] << 24);
    volatile uint32_t *target = (volatile uint32_t *)(uintptr_t)(address + offset);
    /* RM0383 §3.5.4 programming (FLASH_CR): PG with PSIZE x32, one word write, wait BSY,
     * check FLASH_SR errors. */
    FLASH_IF->CR = FLASH_CR_PSIZE_X32 | FLASH_CR_PG;
    *target = word;
    STM32F4_DSB();
    status = flash_wait_idle(1u);
    if (status == HAL_OK) {
      status = flash_status_from_sr(FLASH_IF->SR);
    }
    FLASH_IF->CR = 0u;
  }
  flash_lock();
  /* Read back only after the cache reset: a line cached by the blank check would still
   * show the erased word. */
  flash_reset_caches();
  for (uint32_t offset = 0; status == HAL_OK && offset < length; offset += 4u) {
    uint32_t word = (uint32_t)data[offset] | ((uint32_t)data[offset + 1u] << 8) |
                    ((uint32_t)data[offset + 2u] << 16) | ((uint32_t)data[offset + 3u] << 24);
    if (*(volatile uint32_t *)(uintptr_t)(address + offset) != word) {
      status = HAL_ERR_VERIFY;
    }
  }
  return status;
}

uint32_t flash_longest_erase_ms(void) {
  uint32_t longest = 0u;
  for (uint32_t i = 0; i < STM32DFU_SECTOR_COUNT; i++) {
    if (flash_sectors[i].erase_ms_max > longest) {
      longest = flash_sectors[i].erase_ms_max;
    }
  }
  return longest;
}

void hal_flash_read(uint32_t address, uint8_t *out, uint32_t length) {
  const volatile uint8_t *source = (const volatile uint8_t *)(uintptr_t)address;
  for (uint32_t i = 0; i < length; i++) {
    out[i] = source[i];
  }
}
