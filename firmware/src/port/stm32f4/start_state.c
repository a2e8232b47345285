/*
 * start_state.c — the bootloader entered from a state no reset leaves.
 *
 * The first install goes through ST's ROM bootloader, and its DfuSe "leave"
 * (`dfu-util -s 0x08000000:leave`) jumps to the new bootloader instead of resetting: the ROM's
 * PLL still drives SYSCLK, OTG_FS is clocked and may have interrupts enabled. From there the
 * clock set-up cannot work (PLLON cannot be cleared while the PLL is the system clock, the
 * VOS write is ignored with the PLL on, RCC_PLLCFGR would be rewritten under a running PLL)
 * and an OTG_FS interrupt would land in the default handler for ever. So the reset handler
 * calls start_state_reset_if_foreign() before anything else (startup.c) and the chip gets
 * the one system reset the ROM did not do.
 *
 * One reset at most: a system reset puts RCC back to its reset values (RM0383 §6.1.2), so
 * the next start finds none of the signs below. The boot-request word survives it (SRAM is
 * not reset), and boot_decide, which reads and clears it, runs only afterwards, in main.
 */
#include "port.h"
#include "stm32f4_regs.h"

/* Polls of a volatile counter after SYSRESETREQ: the reset takes effect within a few cycles;
 * this is milliseconds at any clock. Should it never come (it always does), start-up goes on
 * as it would without this check. */
#define START_STATE_RESET_WAIT_POLLS 100000u

bool start_state_is_reset(void) {
  /* Reset values (RM0383 §6.3.1 RCC_CR: PLLON 0; §6.3.3 RCC_CFGR: SWS 00, HSI is the system
   * clock; §6.3.10 RCC_AHB2ENR: OTGFSEN 0). Only reads. */
  return (RCC->CFGR & RCC_CFGR_SWS_MASK) == RCC_CFGR_SWS_HSI && (RCC->CR & RCC_CR_PLLON) == 0u &&
         (RCC->AHB2ENR & RCC_AHB2_OTGFS) == 0u;
}

bool start_state_reset_if_foreign(void) {
  if (start_state_is_reset()) {
    return false;
  }
  STM32F4_DSB();
  SCB->AIRCR = SCB_AIRCR_SYSRESETREQ; /* PM0214 §4.4.4 AIRCR: VECTKEY + SYSRESETREQ (RM0383 §6.1.2 system reset) */
  STM32F4_DSB();
  for (volatile uint32_t polls = 0u; polls < START_STATE_RESET_WAIT_POLLS; polls++) {
  }
  return true;
}
