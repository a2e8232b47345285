/*
 * test_option_bytes.c — lock-down on first boot (option_bytes.c) on the host, against a
 * RAM FLASH_OPTCR with a model of the option-byte interface (RM0383 §3.6.2, §3.8.3,
 * §3.8.6): the FLASH_OPTKEYR sequence clears OPTLOCK, a write while locked is a problem,
 * OPTSTRT records the value programmed, holds BSY for a few polls and clears with it.
 * The Black Pill layout: a 32 kB bootloader in sectors 0-1, so nWRP0 and nWRP1.
 */
#include <stdbool.h>

#include "port.h"
#include "port_test.h"
#include "stm32f4_regs.h"

#define FLASH_OPTKEYR_ADDR 0x40023C08u
#define FLASH_SR_ADDR 0x40023C0Cu
#define FLASH_OPTCR_ADDR 0x40023C14u

#define OPTCR_RESET 0x0FFFAAEDu /* RM0383 §3.8.6 reset value: level 0, no WRP, OPTLOCK */
#define NWRP_BOOTLOADER (0x3u << 16)

static uint32_t fake_millis;
uint32_t hal_millis(void) {
  return fake_millis++;
}
static uint32_t refreshes;
void watchdog_refresh(void) {
  refreshes++;
}

static struct {
  uint32_t optcr_seen;     /* FLASH_OPTCR as the model last left it */
  uint32_t key_stage;
  uint32_t keys_written;   /* complete OPTKEY1/OPTKEY2 sequences */
  uint32_t optkeyr_writes;
  uint32_t starts;         /* OPTSTRT seen */
  uint32_t programmed;     /* OPTCR (without OPTSTRT/OPTLOCK) when OPTSTRT was set */
  uint32_t busy_polls;     /* BSY held for this many more model calls */
  bool busy_forever;
  uint32_t error_on_start; /* FLASH_SR flags the option write raises */
  uint32_t sr, sr_written;
  uint32_t locked_writes;  /* OPTCR changed (other than setting OPTLOCK) while locked */
  bool level2_seen;        /* RDP 0xCC ever in OPTCR */
} m;

static void model(void) {
  volatile uint32_t *keyr = host_reg(FLASH_OPTKEYR_ADDR);
  volatile uint32_t *optcr = host_reg(FLASH_OPTCR_ADDR);
  volatile uint32_t *sr = host_reg(FLASH_SR_ADDR);
  if (*keyr != 0u) {
    m.optkeyr_writes++;
    if (*keyr == FLASH_OPTKEY1) {
      m.key_stage = 1u;
    } else if (*keyr == FLASH_OPTKEY2 && m.key_stage == 1u) {
      *optcr &= ~FLASH_OPTCR_OPTLOCK;
      m.keys_written++;
      m.key_stage = 0u;
    } else {
      m.key_stage = 0u;
    }
    *keyr = 0u; /* write-only on the chip */
  }
  if (*optcr != m.optcr_seen) {
    const bool was_locked = (m.optcr_seen & FLASH_OPTCR_OPTLOCK) != 0u;
    if (was_locked && (*optcr & ~FLASH_OPTCR_OPTLOCK) != (m.optcr_seen & ~FLASH_OPTCR_OPTLOCK) &&
        !(m.keys_written > 0u && (*optcr | FLASH_OPTCR_OPTLOCK) == *optcr)) {
      m.locked_writes++;
    }
    if (((*optcr & FLASH_OPTCR_RDP_MASK) >> FLASH_OPTCR_RDP_SHIFT) == FLASH_RDP_LEVEL2) {
      m.level2_seen = true;
    }
    if ((*optcr & FLASH_OPTCR_OPTSTRT) != 0u && (m.optcr_seen & FLASH_OPTCR_OPTSTRT) == 0u) {
      m.starts++;
      m.programmed = *optcr & ~(FLASH_OPTCR_OPTSTRT | FLASH_OPTCR_OPTLOCK);
      m.busy_polls = 3u;
      m.sr |= m.error_on_start;
    }
  }
  if (*sr != m.sr_written) {
    m.sr &= ~*sr; /* rc_w1 */
  }
  if (m.busy_forever || m.busy_polls > 0u) {
    m.sr |= FLASH_SR_BSY;
    if (m.busy_polls > 0u) {
      m.busy_polls--;
    }
  } else {
    m.sr &= ~FLASH_SR_BSY;
    *optcr &= ~FLASH_OPTCR_OPTSTRT; /* §3.8.6: cleared when BSY clears */
  }
  *sr = m.sr;
  m.sr_written = m.sr;
  m.optcr_seen = *optcr;
}

static void fresh(uint32_t optcr) {
  host_regs_set_model(NULL);
  host_regs_reset();
  memset(&m, 0, sizeof m);
  *host_reg(FLASH_OPTCR_ADDR) = optcr;
  m.optcr_seen = optcr;
  refreshes = 0u;
  host_regs_set_model(model);
  host_regs_clear_counts();
}

static const char *result_name(protect_result_t result) {
  static const char *const names[] = {"PROTECT_ALREADY", "PROTECT_NEEDED", "PROTECT_PROGRAMMED",
                                      "PROTECT_UNREADABLE", "PROTECT_PCROP", "PROTECT_FAILED"};
  return (unsigned)result < sizeof names / sizeof names[0] ? names[result] : "?";
}

/* A chip that needs lock-down: one key sequence, one option write of `expected`, OPTLOCK
 * set again afterwards, never level 2. */
static void expect_programmed(uint32_t optcr, uint32_t expected, const char *what) {
  fresh(optcr);
  protect_result_t result = protect_flash_apply();
  if (result != PROTECT_PROGRAMMED) {
    problem("%s (OPTCR 0x%08X): %s, expected PROTECT_PROGRAMMED", what, optcr, result_name(result));
  }
  if (m.keys_written != 1u || m.optkeyr_writes != 2u) {
    problem("%s: %u FLASH_OPTKEYR writes, %u complete sequences; expected OPTKEY1, OPTKEY2", what,
            m.optkeyr_writes, m.keys_written);
  }
  if (m.starts != 1u || m.programmed != expected) {
    problem("%s: %u option writes, the last of 0x%08X; expected one of 0x%08X", what, m.starts, m.programmed,
            expected);
  }
  if ((*host_reg(FLASH_OPTCR_ADDR) & FLASH_OPTCR_OPTLOCK) == 0u) {
    problem("%s: FLASH_OPTCR 0x%08X afterwards, OPTLOCK not set again", what, *host_reg(FLASH_OPTCR_ADDR));
  }
  if (m.level2_seen || m.locked_writes != 0u) {
    problem("%s: RDP level 2 written (%d) or OPTCR written while locked (%u times)", what, m.level2_seen,
            m.locked_writes);
  }
  if (refreshes == 0u) {
    problem("%s: the watchdog was not refreshed around the option write", what);
  }
}

/* A chip that needs nothing, or must be left alone: no FLASH register but OPTCR read. */
static void expect_untouched(uint32_t optcr, protect_result_t expected, const char *what) {
  fresh(optcr);
  protect_result_t result = protect_flash_apply();
  if (result != expected) {
    problem("%s (OPTCR 0x%08X): %s, expected %s", what, optcr, result_name(result), result_name(expected));
  }
  if (*host_reg(FLASH_OPTCR_ADDR) != optcr || m.optkeyr_writes != 0u || m.starts != 0u) {
    problem("%s: OPTCR now 0x%08X, %u OPTKEYR writes, %u option writes; expected nothing written", what,
            *host_reg(FLASH_OPTCR_ADDR), m.optkeyr_writes, m.starts);
  }
  if (host_reg_accesses(HOST_FLASH) != 1u) {
    problem("%s: %u FLASH register accesses, expected the one OPTCR read", what, host_reg_accesses(HOST_FLASH));
  }
}

static void test_fresh_chip(void) {
  /* RDP 0xAA → 0x55, nWRP0 and nWRP1 cleared, the other options as they were. */
  expect_programmed(OPTCR_RESET, 0x0FFC55ECu, "a chip with factory options");
}

static void test_only_what_is_missing(void) {
  expect_programmed(0x0FFF00EDu, 0x0FFC00ECu, "level 1 (RDP 0x00) without write protection: RDP kept");
  expect_programmed(0x0FFCAAEDu, 0x0FFC55ECu, "level 0 with sectors 0-1 already write-protected");
  expect_programmed(0x0FFD55EDu, 0x0FFC55ECu, "level 1 with only sector 0 write-protected");
  /* Hardware watchdog (WDG_SW 0), BOR level 1, nRST_STOP 0, sector 7 write-protected: kept. */
  expect_programmed(0x0F7FAA85u, 0x0F7C5584u, "other user options and sectors' nWRP");
}

static void test_already_protected(void) {
  expect_untouched(0x0FFC55EDu, PROTECT_ALREADY, "level 1 with sectors 0-1 write-protected");
  expect_untouched(0x0FFC00EDu, PROTECT_ALREADY, "level 1 (RDP 0x00) with sectors 0-1 write-protected");
}

static void test_left_alone(void) {
  expect_untouched(0x0FFFCCEDu, PROTECT_ALREADY, "level 2 (RDP 0xCC, permanent)");
  expect_untouched(0x00000000u, PROTECT_UNREADABLE, "OPTCR reading 0 (OPTLOCK clear, as under QEMU)");
  expect_untouched(0x8FFFAAEDu, PROTECT_PCROP, "SPRMOD set (nWRP bits mean PCROP)");
}

static void test_bounded_failures(void) {
  fresh(OPTCR_RESET);
  m.busy_forever = true;
  protect_result_t result = protect_flash_apply();
  if (result != PROTECT_FAILED || m.starts != 0u) {
    problem("BSY never clearing: %s with %u option writes, expected PROTECT_FAILED and none", result_name(result),
            m.starts);
  }
  fresh(OPTCR_RESET);
  m.error_on_start = FLASH_SR_PGSERR;
  result = protect_flash_apply();
  if (result != PROTECT_FAILED) {
    problem("PGSERR after OPTSTRT: %s, expected PROTECT_FAILED", result_name(result));
  }
  if ((m.sr & FLASH_SR_ERRORS) != 0u || (*host_reg(FLASH_OPTCR_ADDR) & FLASH_OPTCR_OPTLOCK) == 0u) {
    problem("after PGSERR: FLASH_SR errors 0x%02X left, OPTCR 0x%08X; expected cleared and OPTLOCK set",
            m.sr & FLASH_SR_ERRORS, *host_reg(FLASH_OPTCR_ADDR));
  }
}

int main(void) {
  run("lock-down: factory options become RDP level 1 (0x55) + nWRP0/1 cleared, others kept, OPTLOCK again",
      test_fresh_chip);
  run("lock-down: only what is missing changes (RDP kept at level 1, other options kept)",
      test_only_what_is_missing);
  run("lock-down: already protected: OPTCR read once, nothing written", test_already_protected);
  run("lock-down: level 2, unreadable options and PCROP mode are left alone, nothing written", test_left_alone);
  run("lock-down: a BSY that never clears or a PGSERR ends in PROTECT_FAILED with OPTCR locked again",
      test_bounded_failures);
  return finish();
}
