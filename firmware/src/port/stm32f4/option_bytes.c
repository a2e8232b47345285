/*
 * option_bytes.c — lock-down of the flash on first boot, for boards whose profile sets
 * protect_flash (board JSON signing.protectFlash; docs/lock-down.md): read protection
 * level 1 and write protection of the bootloader's own sectors, in the user option bytes
 * (RM0383 §3.6; FLASH_OPTCR in §3.8.6; RM0090 §3.7 and §3.9.10 for the F405).
 *
 *  - RDP level 0 (0xAA) becomes level 1 (0x55, any value but 0xAA and 0xCC): debuggers, boot
 *    from RAM and ST's ROM bootloader can no longer read the flash (§3.6.3).
 *  - nWRPi cleared for every sector below STM32DFU_APP_FIRST_SECTOR (§3.6.4): nothing, the
 *    application included, can erase or program the bootloader.
 *  - Level 2 (0xCC) is permanent (no debug, no ROM bootloader, options frozen) and is never
 *    written. A chip already at level 2 is left as it is.
 *
 * New option values take effect at the next reset (on the F4 the option bytes load at every
 * system reset; there is no OBL_LAUNCH): protect_flash_apply returns PROTECT_PROGRAMMED and
 * main resets the chip.
 */
#include "flash_if.h"
#include "port.h"
#include "stm32f4_regs.h"

/* The bootloader's sectors, as nWRP bits: sector i is bit 16 + i of FLASH_OPTCR. */
#define PROTECT_WRP_BITS (((1u << STM32DFU_APP_FIRST_SECTOR) - 1u) << FLASH_OPTCR_NWRP_SHIFT)
_Static_assert(STM32DFU_APP_FIRST_SECTOR >= 1u && STM32DFU_APP_FIRST_SECTOR <= 8u,
               "the bootloader's sectors have nWRP bits in FLASH_OPTCR[23:16]");
/* The level-1 value written: what ST's libraries use for level 1. */
#define PROTECT_RDP_LEVEL1 0x55u
_Static_assert(PROTECT_RDP_LEVEL1 != FLASH_RDP_LEVEL0 && PROTECT_RDP_LEVEL1 != FLASH_RDP_LEVEL2,
               "level 1 is any RDP value but 0xAA (level 0) and 0xCC (level 2)");

protect_result_t protect_flash_check(uint32_t optcr) {
  /* OPTLOCK reads 1 after every reset (§3.8.6): a value without it is not the register. */
  if ((optcr & FLASH_OPTCR_OPTLOCK) == 0u) {
    return PROTECT_UNREADABLE;
  }
  const uint32_t rdp = (optcr & FLASH_OPTCR_RDP_MASK) >> FLASH_OPTCR_RDP_SHIFT;
  if (rdp == FLASH_RDP_LEVEL2) {
    return PROTECT_ALREADY;
  }
  /* With SPRMOD set the nWRP bits select PCROP, active high: someone chose that on purpose,
   * and clearing SPRMOD again needs a level 1 → 0 regression (a mass erase). */
  if ((optcr & FLASH_OPTCR_SPRMOD) != 0u) {
    return PROTECT_PCROP;
  }
  if (rdp != FLASH_RDP_LEVEL0 && (optcr & PROTECT_WRP_BITS) == 0u) {
    return PROTECT_ALREADY;
  }
  return PROTECT_NEEDED;
}

protect_result_t protect_flash_apply(void) {
  const uint32_t optcr = FLASH_IF->OPTCR; /* §3.8.6: the option bytes as loaded at reset */
  protect_result_t result = protect_flash_check(optcr);
  if (result != PROTECT_NEEDED) {
    return result; /* nothing written */
  }
  /* Everything else (BOR level, watchdog and reset options, other sectors' nWRP) kept. */
  uint32_t wanted = optcr & ~(FLASH_OPTCR_OPTLOCK | FLASH_OPTCR_OPTSTRT | PROTECT_WRP_BITS);
  if (((optcr & FLASH_OPTCR_RDP_MASK) >> FLASH_OPTCR_RDP_SHIFT) == FLASH_RDP_LEVEL0) {
    wanted = (wanted & ~FLASH_OPTCR_RDP_MASK) | (PROTECT_RDP_LEVEL1 << FLASH_OPTCR_RDP_SHIFT);
  }

  /* §3.6.2 programming the user option bytes: no flash operation under way first. */
  hal_status_t status = flash_wait_idle(flash_longest_erase_ms());
  if (status == HAL_OK) {
    /* §3.8.3 FLASH_OPTKEYR: the key sequence clears OPTLOCK; a wrong one locks OPTCR until
     * the next reset. */
    FLASH_IF->OPTKEYR = FLASH_OPTKEY1;
    FLASH_IF->OPTKEYR = FLASH_OPTKEY2;
    if ((FLASH_IF->OPTCR & FLASH_OPTCR_OPTLOCK) != 0u) {
      status = HAL_ERR_SEQUENCE;
    }
  }
  if (status == HAL_OK) {
    FLASH_IF->SR = FLASH_SR_ERRORS | FLASH_SR_EOP; /* §3.8.4 rc_w1: clear leftovers */
    /* §3.6.2 step 2, §3.8.6: the new option values, RDP never 0xCC (checked above). */
    FLASH_IF->OPTCR = wanted;
    /* §3.6.2 step 3: OPTSTRT starts the option write (the user option sector is erased and
     * reprogrammed: the bus stalls as for a sector erase, and the watchdog was given twice
     * the longest erase). */
    watchdog_refresh();
    FLASH_IF->OPTCR = wanted | FLASH_OPTCR_OPTSTRT;
    STM32F4_DSB();
    /* §3.6.2 step 4: wait for BSY to clear, bounded by the longest sector erase. */
    status = flash_wait_idle(flash_longest_erase_ms());
    if (status == HAL_OK) {
      status = flash_status_from_sr(FLASH_IF->SR);
    }
    FLASH_IF->SR = FLASH_SR_ERRORS | FLASH_SR_EOP; /* §3.8.4 rc_w1 */
  }
  /* §3.8.6 OPTLOCK: set by software to lock OPTCR again, whatever happened. */
  FLASH_IF->OPTCR |= FLASH_OPTCR_OPTLOCK;
  return status == HAL_OK ? PROTECT_PROGRAMMED : PROTECT_FAILED;
}
