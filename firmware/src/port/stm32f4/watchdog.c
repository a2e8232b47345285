/*
 * watchdog.c — the independent watchdog on the chip: adopt it when the hardware watchdog
 * option started it at reset, refresh it from every wait, leave it alone otherwise.
 * The arithmetic and the adoption sequence are in iwdg_plan.c (tested on the host).
 *
 * Only the option byte can have started it: a watchdog the application started with
 * 0xCCCC is stopped by the system reset that enters the bootloader (RM0383 §6.1.2: a
 * system reset puts every register outside the backup domain back to its reset value;
 * the IWDG is not in the backup domain, and RCC_CSR.LSION is cleared with it).
 */
#include "bootloader.h"
#include "iwdg_plan.h"
#include "port.h"
#include "stm32f4_regs.h"

/* IWDG_SR reads per PVU/RVU wait. An update takes at most 5 LSI cycles (RM0383 §15.4.4),
 * 294 µs at the slowest LSI (17 kHz); a poll is at least 4 cycles (APB1 read, compare,
 * branch), so this is over 6 ms at 16 MHz and over 1 ms at 96 MHz. */
#define WATCHDOG_UPDATE_POLLS 25000u

static bool watchdog_active;
static iwdg_setting_t watchdog_setting = {IWDG_PRESCALER_RESET, IWDG_RELOAD_RESET};

static uint32_t watchdog_read_optcr(void) {
  return FLASH_IF->OPTCR; /* RM0383 §3.8.6 FLASH_OPTCR: option bytes as loaded at reset */
}
static void watchdog_write_key(uint32_t key) {
  IWDG->KR = key; /* RM0383 §15.4.1 IWDG_KR */
}
static void watchdog_write_prescaler(uint32_t prescaler) {
  IWDG->PR = prescaler; /* RM0383 §15.4.2 IWDG_PR, after 0x5555 */
}
static void watchdog_write_reload(uint32_t reload) {
  IWDG->RLR = reload; /* RM0383 §15.4.3 IWDG_RLR, after 0x5555 */
}
static uint32_t watchdog_read_status(void) {
  return IWDG->SR; /* RM0383 §15.4.4 IWDG_SR */
}

static const iwdg_ops_t watchdog_ops = {
    watchdog_read_optcr, watchdog_write_key, watchdog_write_prescaler, watchdog_write_reload, watchdog_read_status,
};

iwdg_adoption_t watchdog_init(void) {
  iwdg_setting_t planned;
  uint32_t longest_ms = flash_longest_erase_ms();
#if STM32DFU_SIGNING_VERIFY_AT_BOOT
  /* The boot decision checks the whole application's signature on the 16 MHz reset clock:
   * up to 6.1 s for 480 kB, longer than any erase (docs/signature-cost.md). */
  const uint32_t check_ms = bl_signature_check_us(STM32DFU_APP_SIZE, PORT_HSI_HZ / 1000000u) / 1000u + 1u;
  if (check_ms > longest_ms) longest_ms = check_ms;
#endif
  if (!iwdg_plan_for_blocking(longest_ms, &planned)) {
    /* Cannot happen with the F4's sectors (2 s); keep the reset configuration. */
    planned = watchdog_setting;
  }
  iwdg_adoption_t adoption = iwdg_adopt(&watchdog_ops, planned, WATCHDOG_UPDATE_POLLS);
  watchdog_active = iwdg_adoption_running(adoption);
  if (adoption == IWDG_ADOPTED) {
    watchdog_setting = planned;
  }
  return adoption;
}

void watchdog_refresh(void) {
  if (watchdog_active) {
    IWDG->KR = IWDG_KEY_REFRESH; /* RM0383 §15.4.1: reload the counter from IWDG_RLR */
  }
}

bool watchdog_running(void) {
  return watchdog_active;
}

uint32_t watchdog_timeout_ms_min(void) {
  return iwdg_timeout_us_min(watchdog_setting, IWDG_LSI_KHZ_MAX) / 1000u;
}

uint32_t watchdog_timeout_ms_max(void) {
  return (iwdg_timeout_us_max(watchdog_setting, IWDG_LSI_KHZ_MIN) + 999u) / 1000u;
}
