/*
 * test_iwdg_plan.c — the watchdog arithmetic and adoption sequence of iwdg_plan.c on the
 * host: timeouts against RM0383's table, the bootloader's choice against the datasheet's
 * LSI range and against every possible setting, and the start-up sequence against a model
 * of the IWDG that enforces the manual's rules (write protection, PVU/RVU). Prints one
 * "PASS name" / "FAIL name" line per test and "N passed, N failed".
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bootloader.h"
#include "iwdg_plan.h"

static unsigned passed, failed;
static char problems[2048];

/* Record a problem of the running test; the test fails when it has any. */
static void problem(const char *format, ...) {
  size_t used = strlen(problems);
  if (used + 2u >= sizeof problems) {
    return;
  }
  va_list args;
  va_start(args, format);
  problems[used++] = ' ';
  problems[used++] = ' ';
  vsnprintf(problems + used, sizeof problems - used, format, args);
  va_end(args);
  used = strlen(problems);
  if (used + 1u < sizeof problems) {
    problems[used] = '\n';
    problems[used + 1u] = '\0';
  }
}

static void run(const char *name, void (*test)(void)) {
  problems[0] = '\0';
  test();
  if (problems[0] == '\0') {
    printf("PASS %s\n", name);
    passed++;
  } else {
    printf("FAIL %s\n%s", name, problems);
    failed++;
  }
}

/* ---- Arithmetic ---- */

/* RM0383 §15.3 (RM0090 Table 107): min (RL = 0) and max (RL = 0xFFF) timeout at 32 kHz,
 * in µs, per prescaler code 0..6. */
static const uint32_t rm_table_us[7][2] = {
    {125u, 512000u},   {250u, 1024000u},  {500u, 2048000u},   {1000u, 4096000u},
    {2000u, 8192000u}, {4000u, 16384000u}, {8000u, 32768000u},
};

static void test_rm_table(void) {
  for (uint32_t pr = 0; pr <= IWDG_PRESCALER_MAX; pr++) {
    iwdg_setting_t shortest = {pr, 0u};
    iwdg_setting_t longest = {pr, IWDG_RELOAD_MAX};
    uint32_t low = iwdg_timeout_us_max(shortest, IWDG_LSI_KHZ_TYP);
    uint32_t high = iwdg_timeout_us_max(longest, IWDG_LSI_KHZ_TYP);
    if (low != rm_table_us[pr][0] || high != rm_table_us[pr][1]) {
      problem("/%u: %u..%u us, the manual says %u..%u", iwdg_divider(pr), low, high, rm_table_us[pr][0],
              rm_table_us[pr][1]);
    }
  }
  /* Code 7 divides by 256 like 6 (RM0383 §15.4.2). */
  if (iwdg_divider(7u) != 256u) {
    problem("PR = 7 divides by %u, not 256", iwdg_divider(7u));
  }
}

static void test_reset_configuration(void) {
  iwdg_setting_t reset = {IWDG_PRESCALER_RESET, IWDG_RELOAD_RESET};
  uint32_t soonest = iwdg_timeout_us_min(reset, IWDG_LSI_KHZ_MAX);
  uint32_t latest = iwdg_timeout_us_max(reset, IWDG_LSI_KHZ_MIN);
  /* 4 × 4096 LSI cycles: (16384 - 1) / 47 kHz and 16384 / 17 kHz. */
  if (soonest != 348574u) {
    problem("reset timeout at 47 kHz is %u us, expected 348574", soonest);
  }
  if (latest != 963765u) {
    problem("reset timeout at 17 kHz is %u us, expected 963765", latest);
  }
  /* Why the bootloader must reprogram it: a 128 kB sector erase takes up to 2 s. */
  if (soonest / 1000u >= 2000u) {
    problem("the reset timeout (%u ms) would already outlast a 2 s erase", soonest / 1000u);
  }
}

static void test_bootloader_plan(void) {
  iwdg_setting_t plan;
  if (!iwdg_plan_for_blocking(2000u, &plan)) {
    problem("no setting for a 2000 ms erase");
    return;
  }
  /* 2 × 2000 ms × 47 kHz = 188000 cycles, + 1 for the phase: 2938 ticks of /64. */
  if (plan.prescaler != 4u || plan.reload != 2937u) {
    problem("plan is PR %u RLR %u, expected PR 4 (/64) RLR 2937", plan.prescaler, plan.reload);
  }
  for (uint32_t khz = IWDG_LSI_KHZ_MIN; khz <= IWDG_LSI_KHZ_MAX; khz++) {
    if (iwdg_timeout_us_min(plan, khz) < 4000000u) {
      problem("at %u kHz the timeout is %u us, under twice the 2 s erase", khz, iwdg_timeout_us_min(plan, khz));
    }
  }
  printf("note: bootloader timeout for a 2000 ms erase: PR %u RLR %u = %u ms at 47 kHz, %u ms at 32 kHz, "
         "%u ms at 17 kHz\n",
         plan.prescaler, plan.reload, iwdg_timeout_us_min(plan, 47u) / 1000u, iwdg_timeout_us_max(plan, 32u) / 1000u,
         (iwdg_timeout_us_max(plan, 17u) + 999u) / 1000u);
}

/* A board that verifies at every boot checks a whole 480 kB application on the 16 MHz reset
 * clock under the watchdog it adopted: the plan must outlast that too (watchdog.c). The
 * estimate is 6.06 s since SHA-256 went from 6,587 to 2,476 instructions a block (it was
 * 9.4 s); docs/signature-cost.md measures the check at 4.6-5.7 s, so 6-7 s is the range of
 * an upper estimate that is not far above the measurement. */
static void test_verify_at_boot_plan(void) {
  const uint32_t check_ms = bl_signature_check_us(480u * 1024u, 16u) / 1000u + 1u;
  if (check_ms < 6000u || check_ms > 7000u) {
    problem("the 480 kB check at 16 MHz is estimated at %u ms, not the 6-7 s expected", check_ms);
  }
  iwdg_setting_t plan;
  if (!iwdg_plan_for_blocking(check_ms, &plan)) {
    problem("no watchdog setting outlasts a %u ms signature check twice", check_ms);
    return;
  }
  for (uint32_t khz = IWDG_LSI_KHZ_MIN; khz <= IWDG_LSI_KHZ_MAX; khz++) {
    if (iwdg_timeout_us_min(plan, khz) / 1000u < 2u * check_ms) {
      problem("at %u kHz the timeout is %u ms, under twice the %u ms check", khz,
              iwdg_timeout_us_min(plan, khz) / 1000u, check_ms);
    }
  }
  printf("note: verify-at-boot watchdog for a %u ms check: PR %u RLR %u = %u ms at 47 kHz\n", check_ms,
         plan.prescaler, plan.reload, iwdg_timeout_us_min(plan, 47u) / 1000u);
}

/* The shortest guaranteed-enough setting by trying all 7 × 4096 of them. */
static bool exhaustive_shortest(uint32_t min_ms, uint32_t khz, uint32_t *cycles_out) {
  bool found = false;
  for (uint32_t pr = 0; pr <= IWDG_PRESCALER_MAX; pr++) {
    for (uint32_t rlr = 0; rlr <= IWDG_RELOAD_MAX; rlr++) {
      uint64_t cycles = (uint64_t)(rlr + 1u) * iwdg_divider(pr);
      /* Enough when even one cycle short it lasts min_ms: (cycles - 1) / khz >= min_ms. */
      if (cycles - 1u >= (uint64_t)min_ms * khz && (!found || cycles < *cycles_out)) {
        *cycles_out = (uint32_t)cycles;
        found = true;
      }
    }
  }
  return found;
}

static void test_shortest_setting(void) {
  static const uint32_t required_ms[] = {0u, 1u, 2u, 100u, 348u, 349u, 500u, 512u, 1000u, 1100u,
                                         2000u, 4000u, 8000u, 16000u, 22000u, 22310u, 22311u, 30000u};
  static const uint32_t lsi_khz[] = {17u, 32u, 47u};
  for (size_t k = 0; k < sizeof lsi_khz / sizeof lsi_khz[0]; k++) {
    for (size_t i = 0; i < sizeof required_ms / sizeof required_ms[0]; i++) {
      uint32_t best = 0u;
      bool exists = exhaustive_shortest(required_ms[i], lsi_khz[k], &best);
      iwdg_setting_t got = {99u, 99999u};
      bool ok = iwdg_setting_for(required_ms[i], lsi_khz[k], &got);
      if (ok != exists) {
        problem("%u ms at %u kHz: setting_for says %s, exhaustive search says %s", required_ms[i], lsi_khz[k],
                ok ? "possible" : "impossible", exists ? "possible" : "impossible");
        continue;
      }
      if (!ok) {
        continue;
      }
      uint32_t cycles = (got.reload + 1u) * iwdg_divider(got.prescaler);
      if (got.prescaler > IWDG_PRESCALER_MAX || got.reload > IWDG_RELOAD_MAX) {
        problem("%u ms at %u kHz: PR %u RLR %u out of range", required_ms[i], lsi_khz[k], got.prescaler, got.reload);
      } else if (cycles != best) {
        problem("%u ms at %u kHz: %u cycles chosen, %u is the shortest enough", required_ms[i], lsi_khz[k], cycles,
                best);
      } else if (iwdg_timeout_us_min(got, lsi_khz[k]) / 1000u < required_ms[i]) {
        problem("%u ms at %u kHz: the timeout is only %u us", required_ms[i], lsi_khz[k],
                iwdg_timeout_us_min(got, lsi_khz[k]));
      }
    }
  }
}

static void test_impossible_requests(void) {
  iwdg_setting_t out = {0u, 0u};
  /* The longest timeout, 256 × 4096 cycles, is 22.31 s at 47 kHz. */
  if (!iwdg_setting_for(22310u, 47u, &out)) {
    problem("22310 ms at 47 kHz refused, but 256 x 4096 cycles last 22310.1 ms");
  }
  if (iwdg_setting_for(22311u, 47u, &out)) {
    problem("22311 ms at 47 kHz accepted (PR %u RLR %u)", out.prescaler, out.reload);
  }
  if (iwdg_setting_for(UINT32_MAX, 47u, &out)) {
    problem("UINT32_MAX ms accepted");
  }
  if (iwdg_setting_for(100u, 0u, &out)) {
    problem("an LSI of 0 kHz accepted");
  }
  if (!iwdg_plan_for_blocking(11155u, &out) || iwdg_plan_for_blocking(11156u, &out)) {
    problem("the plan's limit is not 11155 ms of blocking (twice that is the longest timeout)");
  }
  if (iwdg_plan_for_blocking(UINT32_MAX, &out)) {
    problem("UINT32_MAX ms of blocking accepted");
  }
}

/* ---- A model of the IWDG and FLASH_OPTCR, with the manual's rules ---- */

#define OPTCR_RESET 0x0FFFAAEDu /* RM0383 §3.8.6 reset value: WDG_SW = 1, OPTLOCK = 1 */
#define OPTCR_HARDWARE_WATCHDOG (OPTCR_RESET & ~IWDG_OPTCR_WDG_SW)
#define UPDATE_POLLS 5u        /* SR reads a PR/RLR update stays pending in the model */
#define POLL_LIMIT 1000u

static struct {
  uint32_t optcr;
  bool running, unlocked, stuck;
  uint32_t pr, rlr, counter_reload; /* counter_reload: what the last refresh loaded */
  uint32_t pvu_polls, rvu_polls;
  uint32_t keys[16], key_count;
  uint32_t accesses, sr_reads, violations;
} model;

static void model_reset(uint32_t optcr) {
  memset(&model, 0, sizeof model);
  model.optcr = optcr;
  model.pr = IWDG_PRESCALER_RESET;
  model.rlr = IWDG_RELOAD_RESET;
  model.counter_reload = IWDG_RELOAD_RESET;
  /* RM0383 §15.3.1: the hardware watchdog runs from reset. */
  model.running = (optcr & IWDG_OPTCR_OPTLOCK) != 0u && (optcr & IWDG_OPTCR_WDG_SW) == 0u;
}

static uint32_t model_read_optcr(void) { return model.optcr; }

static void model_write_key(uint32_t key) {
  model.accesses++;
  if (model.key_count < 16u) {
    model.keys[model.key_count++] = key;
  }
  /* §15.3.2: any other value re-protects IWDG_PR and IWDG_RLR. */
  model.unlocked = key == IWDG_KEY_UNLOCK;
  if (key == IWDG_KEY_START) {
    model.running = true;
  }
  if (key == IWDG_KEY_REFRESH) {
    model.counter_reload = model.rlr;
  }
}

static void model_write_prescaler(uint32_t pr) {
  model.accesses++;
  if (!model.unlocked || model.pvu_polls > 0u) {
    model.violations++; /* ignored by the chip: protected, or an update still pending */
    return;
  }
  model.pr = pr;
  model.pvu_polls = model.running ? UPDATE_POLLS : UINT32_MAX; /* no LSI: never completes */
}

static void model_write_reload(uint32_t rlr) {
  model.accesses++;
  if (!model.unlocked || model.rvu_polls > 0u) {
    model.violations++;
    return;
  }
  model.rlr = rlr;
  model.rvu_polls = model.running ? UPDATE_POLLS : UINT32_MAX;
}

static uint32_t model_read_status(void) {
  model.accesses++;
  model.sr_reads++;
  uint32_t sr = (model.pvu_polls > 0u ? IWDG_SR_PVU : 0u) | (model.rvu_polls > 0u ? IWDG_SR_RVU : 0u);
  if (!model.stuck) {
    if (model.pvu_polls > 0u && model.pvu_polls != UINT32_MAX) {
      model.pvu_polls--;
    }
    if (model.rvu_polls > 0u && model.rvu_polls != UINT32_MAX) {
      model.rvu_polls--;
    }
  }
  return sr;
}

static const iwdg_ops_t model_ops = {model_read_optcr, model_write_key, model_write_prescaler, model_write_reload,
                                     model_read_status};

static iwdg_setting_t bootloader_plan(void) {
  iwdg_setting_t plan = {0u, 0u};
  (void)iwdg_plan_for_blocking(2000u, &plan);
  return plan;
}

static void test_software_option_untouched(void) {
  model_reset(OPTCR_RESET);
  iwdg_adoption_t result = iwdg_adopt(&model_ops, bootloader_plan(), POLL_LIMIT);
  if (result != IWDG_SOFTWARE_OPTION) {
    problem("result %d, expected IWDG_SOFTWARE_OPTION", (int)result);
  }
  if (iwdg_adoption_running(result)) {
    problem("a stopped watchdog is reported running");
  }
  if (model.accesses != 0u || model.running) {
    problem("%u IWDG accesses (running: %d); a watchdog nobody started must not be touched", model.accesses,
            (int)model.running);
  }
}

static void test_unreadable_options_untouched(void) {
  /* An emulator without the flash interface reads 0: OPTLOCK clear cannot be a real reset state. */
  model_reset(0u);
  iwdg_adoption_t result = iwdg_adopt(&model_ops, bootloader_plan(), POLL_LIMIT);
  if (result != IWDG_UNREADABLE_OPTIONS || iwdg_adoption_running(result)) {
    problem("result %d, expected IWDG_UNREADABLE_OPTIONS, not running", (int)result);
  }
  if (model.accesses != 0u) {
    problem("%u IWDG accesses with unreadable option bytes", model.accesses);
  }
}

static void test_hardware_option_adopted(void) {
  model_reset(OPTCR_HARDWARE_WATCHDOG);
  iwdg_setting_t plan = bootloader_plan();
  iwdg_adoption_t result = iwdg_adopt(&model_ops, plan, POLL_LIMIT);
  if (result != IWDG_ADOPTED || !iwdg_adoption_running(result)) {
    problem("result %d, expected IWDG_ADOPTED", (int)result);
  }
  if (model.pr != plan.prescaler || model.rlr != plan.reload) {
    problem("IWDG holds PR %u RLR %u, planned PR %u RLR %u", model.pr, model.rlr, plan.prescaler, plan.reload);
  }
  if (model.counter_reload != plan.reload) {
    problem("the counter was last reloaded with %u, not the new reload %u", model.counter_reload, plan.reload);
  }
  if (model.key_count == 0u || model.keys[0] != IWDG_KEY_REFRESH) {
    problem("the first key is not a refresh (the reset timeout may be nearly spent)");
  }
  if (model.key_count > 0u && model.keys[model.key_count - 1u] != IWDG_KEY_REFRESH) {
    problem("the last key is 0x%X, not a refresh: PR/RLR stay writable", model.keys[model.key_count - 1u]);
  }
  if (model.violations != 0u) {
    problem("%u PR/RLR writes the chip would ignore", model.violations);
  }
  for (uint32_t i = 0; i < model.key_count; i++) {
    if (model.keys[i] == IWDG_KEY_START) {
      problem("0xCCCC written: the watchdog is started, not adopted");
    }
  }
}

static void test_update_never_completes(void) {
  model_reset(OPTCR_HARDWARE_WATCHDOG);
  model.stuck = true; /* PVU/RVU stay set once an update starts */
  iwdg_adoption_t result = iwdg_adopt(&model_ops, bootloader_plan(), POLL_LIMIT);
  if (result != IWDG_RESET_TIMEOUT_KEPT || !iwdg_adoption_running(result)) {
    problem("result %d, expected IWDG_RESET_TIMEOUT_KEPT (running)", (int)result);
  }
  if (model.sr_reads > 2u * POLL_LIMIT) {
    problem("%u IWDG_SR reads, more than the bound of 2 x %u", model.sr_reads, POLL_LIMIT);
  }
  if (model.key_count == 0u || model.keys[model.key_count - 1u] != IWDG_KEY_REFRESH) {
    problem("not refreshed after the failed update");
  }
}

static void test_update_pending_at_entry(void) {
  model_reset(OPTCR_HARDWARE_WATCHDOG);
  model.pvu_polls = UINT32_MAX; /* an update that never finishes, already pending */
  iwdg_adoption_t result = iwdg_adopt(&model_ops, bootloader_plan(), POLL_LIMIT);
  if (result != IWDG_RESET_TIMEOUT_KEPT) {
    problem("result %d, expected IWDG_RESET_TIMEOUT_KEPT", (int)result);
  }
  if (model.violations != 0u || model.pr != IWDG_PRESCALER_RESET) {
    problem("IWDG_PR written while PVU was set");
  }
  if (model.sr_reads > POLL_LIMIT) {
    problem("%u IWDG_SR reads, more than the bound of %u", model.sr_reads, POLL_LIMIT);
  }
}

int main(void) {
  run("iwdg: timeouts at 32 kHz match RM0383's table for every prescaler", test_rm_table);
  run("iwdg: the hardware watchdog's reset timeout (348..964 ms) is shorter than a 2 s erase",
      test_reset_configuration);
  run("iwdg: the bootloader's timeout outlasts twice a 2 s erase at every LSI from 17 to 47 kHz",
      test_bootloader_plan);
  run("iwdg: on a board that verifies at boot, the timeout outlasts twice a 480 kB signature check at 16 MHz",
      test_verify_at_boot_plan);
  run("iwdg: the chosen setting is the shortest enough one (exhaustive over all 7 x 4096)", test_shortest_setting);
  run("iwdg: timeouts longer than 256 x 4096 LSI cycles are refused", test_impossible_requests);
  run("iwdg: software option: the watchdog is not touched", test_software_option_untouched);
  run("iwdg: unreadable option bytes (OPTLOCK clear): the watchdog is not touched",
      test_unreadable_options_untouched);
  run("iwdg: hardware option: refreshed, reprogrammed within the write rules, refreshed with the new reload",
      test_hardware_option_adopted);
  run("iwdg: hardware option, update never completes: bounded waits, still refreshed", test_update_never_completes);
  run("iwdg: hardware option, update pending at start: no write to IWDG_PR while PVU is set",
      test_update_pending_at_entry);
  printf("%u passed, %u failed\n", passed, failed);
  return failed == 0u ? 0 : 1;
}
