/*
 * iwdg_plan.c — independent watchdog arithmetic and adoption sequence (iwdg_plan.h).
 * Pure: every register access goes through the caller's iwdg_ops_t.
 */
#include "iwdg_plan.h"

#include <stddef.h>

#define IWDG_MAX_CYCLES (256u * (IWDG_RELOAD_MAX + 1u))

uint32_t iwdg_divider(uint32_t prescaler) {
  return 4u << (prescaler < IWDG_PRESCALER_MAX ? prescaler : IWDG_PRESCALER_MAX);
}

/* LSI cycles from a refresh to the reset: (reload + 1) counter ticks of `divider` cycles.
 * At most 256 × 4096 = 2^20, so × 1000 stays within 32 bits. */
static uint32_t iwdg_cycles(iwdg_setting_t setting) {
  uint32_t reload = setting.reload <= IWDG_RELOAD_MAX ? setting.reload : IWDG_RELOAD_MAX;
  return (reload + 1u) * iwdg_divider(setting.prescaler);
}

uint32_t iwdg_timeout_us_min(iwdg_setting_t setting, uint32_t lsi_khz) {
  if (lsi_khz == 0u) {
    return UINT32_MAX;
  }
  return (iwdg_cycles(setting) - 1u) * 1000u / lsi_khz;
}

uint32_t iwdg_timeout_us_max(iwdg_setting_t setting, uint32_t lsi_khz) {
  if (lsi_khz == 0u) {
    return UINT32_MAX;
  }
  return (iwdg_cycles(setting) * 1000u + lsi_khz - 1u) / lsi_khz;
}

bool iwdg_setting_for(uint32_t min_timeout_ms, uint32_t lsi_khz, iwdg_setting_t *out) {
  /* Longer than the longest timeout (256 × 4096 cycles) at this LSI: no setting exists.
   * This also keeps the products below within 32 bits. */
  if (lsi_khz == 0u || min_timeout_ms > (IWDG_MAX_CYCLES - 1u) / lsi_khz) {
    return false;
  }
  /* ms × kHz is a whole number of LSI cycles. The shortest timeout may be one cycle short
   * of (reload + 1) × divider, so that product must reach needed + 1. A smaller divider
   * rounds up by less, so the first prescaler that fits gives the shortest timeout. */
  uint32_t needed_cycles = min_timeout_ms * lsi_khz + 1u;
  for (uint32_t prescaler = 0u; prescaler <= IWDG_PRESCALER_MAX; prescaler++) {
    uint32_t divider = iwdg_divider(prescaler);
    uint32_t ticks = (needed_cycles + divider - 1u) / divider;
    if (ticks <= IWDG_RELOAD_MAX + 1u) {
      out->prescaler = prescaler;
      out->reload = ticks - 1u;
      return true;
    }
  }
  return false;
}

bool iwdg_plan_for_blocking(uint32_t longest_blocking_ms, iwdg_setting_t *out) {
  if (longest_blocking_ms > UINT32_MAX / IWDG_MARGIN_FACTOR) {
    return false;
  }
  return iwdg_setting_for(longest_blocking_ms * IWDG_MARGIN_FACTOR, IWDG_LSI_KHZ_MAX, out);
}

bool iwdg_adoption_running(iwdg_adoption_t adoption) {
  return adoption == IWDG_ADOPTED || adoption == IWDG_RESET_TIMEOUT_KEPT;
}

/* Poll IWDG_SR until `flags` are clear; false when `poll_limit` reads did not see it. */
static bool iwdg_wait_clear(const iwdg_ops_t *ops, uint32_t flags, uint32_t poll_limit) {
  for (uint32_t polls = 0u; polls < poll_limit; polls++) {
    if ((ops->read_status() & flags) == 0u) {
      return true;
    }
  }
  return false;
}

iwdg_adoption_t iwdg_adopt(const iwdg_ops_t *ops, iwdg_setting_t setting, uint32_t poll_limit) {
  uint32_t optcr = ops->read_optcr();
  if ((optcr & IWDG_OPTCR_OPTLOCK) == 0u) {
    return IWDG_UNREADABLE_OPTIONS;
  }
  if ((optcr & IWDG_OPTCR_WDG_SW) != 0u) {
    return IWDG_SOFTWARE_OPTION;
  }
  /* A full reset-configuration timeout (at least 348 ms at 47 kHz) for what follows. */
  ops->write_key(IWDG_KEY_REFRESH);
  /* RM0383 §15.4.4: IWDG_PR / IWDG_RLR may only be written while PVU / RVU are clear. No
   * refresh inside these waits: a KR write other than 0x5555 re-protects the registers. */
  if (!iwdg_wait_clear(ops, IWDG_SR_PVU | IWDG_SR_RVU, poll_limit)) {
    ops->write_key(IWDG_KEY_REFRESH);
    return IWDG_RESET_TIMEOUT_KEPT;
  }
  ops->write_key(IWDG_KEY_UNLOCK);
  ops->write_prescaler(setting.prescaler);
  ops->write_reload(setting.reload);
  /* The new values reach the LSI domain within a few LSI cycles; the counter takes the
   * new reload at the next refresh, which also protects the registers again (§15.3.2). */
  bool updated = iwdg_wait_clear(ops, IWDG_SR_PVU | IWDG_SR_RVU, poll_limit);
  ops->write_key(IWDG_KEY_REFRESH);
  return updated ? IWDG_ADOPTED : IWDG_RESET_TIMEOUT_KEPT;
}
