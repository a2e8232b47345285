/*
 * test_start_state.c — start_state.c on the host, against RAM stand-ins for RCC and the
 * SCB (host_regs.h): from RCC's reset values nothing is written; from the state ST's ROM
 * bootloader leaves when it jumps to 0x08000000 (its PLL driving SYSCLK, OTG_FS clocked),
 * exactly one write, AIRCR = VECTKEY | SYSRESETREQ, and nothing else touched.
 */
#include <stdbool.h>

#include "port.h"
#include "port_test.h"
#include "stm32f4_regs.h"

#define A_RCC_CR 0x40023800u
#define A_RCC_CFGR 0x40023808u
#define A_RCC_AHB1ENR 0x40023830u
#define A_RCC_AHB2ENR 0x40023834u
#define A_RCC_CSR 0x40023874u
#define A_SCB_AIRCR 0xE000ED0Cu

/* RM0383 §6.3 reset values: RCC_CR 0x0000 XX83 (HSION, HSIRDY, HSITRIM 16, HSICAL from the
 * factory), RCC_CFGR 0, RCC_AHB2ENR 0. */
static void rcc_at_reset(uint32_t hsical) {
  host_regs_reset();
  *host_reg(A_RCC_CR) = 0x00000083u | (hsical << 8);
  *host_reg(A_RCC_CFGR) = 0u;
  *host_reg(A_RCC_AHB2ENR) = 0u;
  *host_reg(A_RCC_AHB1ENR) = 0x00100000u;
  *host_reg(A_RCC_CSR) = 0x0E000000u; /* PINRSTF, PORRSTF, BORRSTF after power-on */
}

static uint32_t other_blocks_touched(void) {
  uint32_t total = 0u;
  for (uint32_t block = 0; block < HOST_BLOCK_COUNT; block++) {
    if (block != HOST_RCC && block != HOST_SCB) {
      total += host_reg_accesses((host_block_t)block);
    }
  }
  return total;
}

static void expect_no_reset(const char *state) {
  host_regs_clear_counts();
  bool requested = start_state_reset_if_foreign();
  if (requested || *host_reg(A_SCB_AIRCR) != 0u || host_reg_accesses(HOST_SCB) != 0u) {
    problem("%s: reset requested (returned %d, AIRCR 0x%08X, %u SCB accesses)", state, requested,
            *host_reg(A_SCB_AIRCR), host_reg_accesses(HOST_SCB));
  }
  if (other_blocks_touched() != 0u) {
    problem("%s: %u accesses outside RCC", state, other_blocks_touched());
  }
}

static void expect_one_reset(const char *state) {
  uint32_t cr = *host_reg(A_RCC_CR);
  uint32_t cfgr = *host_reg(A_RCC_CFGR);
  uint32_t ahb2enr = *host_reg(A_RCC_AHB2ENR);
  host_regs_clear_counts();
  bool requested = start_state_reset_if_foreign();
  if (!requested || *host_reg(A_SCB_AIRCR) != 0x05FA0004u) {
    problem("%s: returned %d, AIRCR 0x%08X, expected a system reset request 0x05FA0004", state, requested,
            *host_reg(A_SCB_AIRCR));
  }
  if (host_reg_accesses(HOST_SCB) != 1u) {
    problem("%s: %u SCB accesses, expected the one AIRCR write", state, host_reg_accesses(HOST_SCB));
  }
  if (other_blocks_touched() != 0u) {
    problem("%s: %u accesses outside RCC and SCB", state, other_blocks_touched());
  }
  if (*host_reg(A_RCC_CR) != cr || *host_reg(A_RCC_CFGR) != cfgr || *host_reg(A_RCC_AHB2ENR) != ahb2enr) {
    problem("%s: RCC written before the reset", state);
  }
}

static void test_reset_state(void) {
  rcc_at_reset(0x00u);
  expect_no_reset("RCC at its reset values");
  rcc_at_reset(0xA5u);
  *host_reg(A_RCC_AHB1ENR) = 0xFFFFFFFFu; /* not a sign: the check reads CR, CFGR, AHB2ENR only */
  expect_no_reset("reset values, another factory HSICAL, other clocks on");
  if (!start_state_is_reset()) {
    problem("start_state_is_reset is false at the reset values");
  }
}

static void test_rom_state(void) {
  /* The ROM's USB DFU clocks: HSE, PLL on and locked, SYSCLK from the PLL, OTG_FS clocked. */
  rcc_at_reset(0x00u);
  *host_reg(A_RCC_CR) |= RCC_CR_HSEON | RCC_CR_HSERDY | RCC_CR_PLLON | RCC_CR_PLLRDY;
  *host_reg(A_RCC_CFGR) = RCC_CFGR_SWS_PLL | RCC_CFGR_SW_PLL | RCC_CFGR_PPRE1_DIV2;
  *host_reg(A_RCC_AHB2ENR) = RCC_AHB2_OTGFS;
  expect_one_reset("ST's ROM state");
}

static void test_each_sign_alone(void) {
  rcc_at_reset(0x00u);
  *host_reg(A_RCC_CFGR) = (0x1u << 2) | 0x1u; /* SWS = HSE */
  expect_one_reset("SYSCLK on HSE");
  rcc_at_reset(0x00u);
  *host_reg(A_RCC_CR) |= RCC_CR_PLLON;
  expect_one_reset("PLL on, SYSCLK on HSI");
  rcc_at_reset(0x00u);
  *host_reg(A_RCC_AHB2ENR) = RCC_AHB2_OTGFS;
  expect_one_reset("OTG_FS clocked");
}

int main(void) {
  run("start state: at RCC's reset values no reset is requested and nothing is written", test_reset_state);
  run("start state: entered from ST's ROM (PLL as SYSCLK, OTG_FS on): one AIRCR write 0x05FA0004, nothing else",
      test_rom_state);
  run("start state: SYSCLK not on HSI, PLLON, or OTGFSEN alone each request the reset", test_each_sign_alone);
  return finish();
}
