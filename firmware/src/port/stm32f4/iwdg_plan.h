/*
 * iwdg_plan.h — the independent watchdog's arithmetic and start-up sequence (RM0383 §15,
 * RM0090 §21 on the F405), with no register in sight: the timeout a prescaler/reload pair
 * gives for an LSI frequency, the shortest pair that outlasts a required time at the
 * fastest LSI the datasheet allows, and the adoption sequence with its register accesses
 * passed in. watchdog.c runs it on the chip; tests/test_iwdg_plan.c runs it on the host
 * against a model of the IWDG.
 */
#ifndef STM32DFU_IWDG_PLAN_H
#define STM32DFU_IWDG_PLAN_H

#include <stdbool.h>
#include <stdint.h>

/* LSI RC frequency over voltage and temperature (DS10314 §6.3, table "LSI oscillator
 * characteristics"; the F405's DS8626 gives the same range). In kHz, so that a count of
 * LSI cycles times 1000 / kHz is microseconds with 32-bit arithmetic. */
#define IWDG_LSI_KHZ_MIN 17u
#define IWDG_LSI_KHZ_TYP 32u
#define IWDG_LSI_KHZ_MAX 47u

/* IWDG_PR codes 0..6 divide the LSI by 4..256 (code 7 is /256 too); IWDG_RLR is 12 bits
 * (RM0383 §15.4.2, §15.4.3). Both reset to /4 and 0xFFF, the hardware watchdog's start. */
#define IWDG_PRESCALER_MAX 6u
#define IWDG_RELOAD_MAX 0xFFFu
#define IWDG_PRESCALER_RESET 0u
#define IWDG_RELOAD_RESET 0xFFFu

/* IWDG_KR keys (RM0383 §15.4.1) and IWDG_SR flags (§15.4.4). */
#define IWDG_KEY_REFRESH 0xAAAAu
#define IWDG_KEY_UNLOCK 0x5555u
#define IWDG_KEY_START 0xCCCCu
#define IWDG_SR_PVU (1u << 0)
#define IWDG_SR_RVU (1u << 1)

/* FLASH_OPTCR (RM0383 §3.8.6, option bytes in §3.6): OPTLOCK reads 1 after every reset
 * until software unlocks the option bytes; WDG_SW = 0 selects the hardware watchdog. */
#define IWDG_OPTCR_OPTLOCK (1u << 0)
#define IWDG_OPTCR_WDG_SW (1u << 5)

/* The watchdog outlasts the longest operation that cannot refresh it by this factor, at
 * the fastest LSI: room for code around the operation and for a datasheet maximum that a
 * worn or hot part might stretch. */
#define IWDG_MARGIN_FACTOR 2u

typedef struct {
  uint32_t prescaler; /* IWDG_PR code, 0..IWDG_PRESCALER_MAX */
  uint32_t reload;    /* IWDG_RLR, 0..IWDG_RELOAD_MAX */
} iwdg_setting_t;

/* LSI cycles per counter tick for a prescaler code: 4 << code, capped at 256. */
uint32_t iwdg_divider(uint32_t prescaler);

/* Microseconds from a refresh to the watchdog reset, at `lsi_khz`. The counter runs
 * reload + 1 ticks; the APB/LSI phase makes it up to one LSI cycle shorter (RM0383 §15.3,
 * the note under the timeout table). _min rounds down, _max rounds up. */
uint32_t iwdg_timeout_us_min(iwdg_setting_t setting, uint32_t lsi_khz);
uint32_t iwdg_timeout_us_max(iwdg_setting_t setting, uint32_t lsi_khz);

/* The setting with the shortest timeout whose iwdg_timeout_us_min at `lsi_khz` is at least
 * `min_timeout_ms`. False when none exists (more than 256 × 4096 LSI cycles) or lsi_khz is 0. */
bool iwdg_setting_for(uint32_t min_timeout_ms, uint32_t lsi_khz, iwdg_setting_t *out);

/* The bootloader's choice: outlast `longest_blocking_ms` by IWDG_MARGIN_FACTOR at
 * IWDG_LSI_KHZ_MAX. False when that cannot be done. */
bool iwdg_plan_for_blocking(uint32_t longest_blocking_ms, iwdg_setting_t *out);

/* ---- Adoption at start-up ---- */

typedef struct {
  uint32_t (*read_optcr)(void);         /* FLASH_OPTCR */
  void (*write_key)(uint32_t key);      /* IWDG_KR */
  void (*write_prescaler)(uint32_t pr); /* IWDG_PR */
  void (*write_reload)(uint32_t rlr);   /* IWDG_RLR */
  uint32_t (*read_status)(void);        /* IWDG_SR */
} iwdg_ops_t;

typedef enum {
  IWDG_UNREADABLE_OPTIONS = 0, /* FLASH_OPTCR implausible (OPTLOCK clear): left alone */
  IWDG_SOFTWARE_OPTION = 1,    /* WDG_SW = 1: the IWDG is stopped at reset; left alone */
  IWDG_ADOPTED = 2,            /* WDG_SW = 0: running, reprogrammed to the planned timeout */
  IWDG_RESET_TIMEOUT_KEPT = 3, /* WDG_SW = 0: running, but PVU/RVU never cleared: the reset
                                  configuration (or an unknown one) stays; still refreshed */
} iwdg_adoption_t;

/* True when the adoption left a running watchdog that must be refreshed. */
bool iwdg_adoption_running(iwdg_adoption_t adoption);

/* Find out whether the hardware watchdog option started the IWDG at this reset and, when
 * it did, refresh it and load `setting` (RM0383 §15.3.2: 0x5555 then IWDG_PR and IWDG_RLR,
 * each written only once its PVU/RVU is clear), then refresh again so the counter starts
 * from the new reload. Each wait reads IWDG_SR at most `poll_limit` times. With the
 * software option nothing is written: a bootloader must not start a watchdog nobody asked
 * for, and writing IWDG_PR with the LSI off would leave PVU set for good. */
iwdg_adoption_t iwdg_adopt(const iwdg_ops_t *ops, iwdg_setting_t setting, uint32_t poll_limit);

#endif /* STM32DFU_IWDG_PLAN_H */
