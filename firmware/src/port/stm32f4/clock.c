/*
 * clock.c — system clock tree and SysTick. HSE → PLL for SYSCLK and the 48 MHz USB clock
 * (RM0383 §6.2, RM0090 §7.2 for the F405), and the way back to the reset state before
 * handing the chip to an application.
 */
#include "port.h"
#include "stm32f4_regs.h"

/* Polls of a ready flag before giving up. HSE start-up is at most 2 ms by the datasheet
 * (DS10314 §6.3.8); at 16 MHz one poll takes several cycles, so this is well over 20 ms. */
#define CLOCK_WAIT_POLLS 400000u

/* The clock tree is planned from the board's HSE and SYSCLK by @stm32dfu/layout and comes
 * in the generated header; a board may pin the register values it was verified with. */
#if !STM32DFU_HAS_CLOCK_TREE
#error "no planned clock tree in stm32dfu_layout.h: the STM32F4 port needs an STM32F4 chip"
#endif

/* RM0383 §6.3.3 RCC_CFGR PPREx: 0xx is /1, 100 /2, 101 /4, 110 /8, 111 /16. */
#define CLOCK_PPRE(div) \
  ((div) == 1u ? 0u : (div) == 2u ? 4u : (div) == 4u ? 5u : (div) == 8u ? 6u : 7u)
#define CLOCK_CFGR_PRESCALERS \
  ((CLOCK_PPRE(STM32DFU_APB1_DIV) << 10) | (CLOCK_PPRE(STM32DFU_APB2_DIV) << 13))
/* RM0383 §6.3.2 RCC_PLLCFGR: PLLM [5:0], PLLN [14:6], PLLP [17:16] encoded as P/2 - 1,
 * PLLSRC [22], PLLQ [27:24]. */
#define CLOCK_PLLCFGR                                                              \
  (STM32DFU_PLL_M | (STM32DFU_PLL_N << 6) | (((STM32DFU_PLL_P / 2u) - 1u) << 16) | \
   RCC_PLLCFGR_SRC_HSE | (STM32DFU_PLL_Q << 24))

_Static_assert(STM32DFU_AHB_DIV == 1u, "the port runs HCLK = SYSCLK");
#ifdef BOARD_VERIFIED_PLLCFGR
_Static_assert(CLOCK_PLLCFGR == BOARD_VERIFIED_PLLCFGR, "planned PLL differs from the verified one");
_Static_assert(CLOCK_CFGR_PRESCALERS == BOARD_VERIFIED_CFGR_PRESCALERS,
               "planned APB prescalers differ from the verified ones");
_Static_assert(STM32DFU_FLASH_LATENCY == BOARD_VERIFIED_FLASH_LATENCY,
               "planned flash wait states differ from the verified ones");
_Static_assert(STM32DFU_VOS_SCALE1 == BOARD_VERIFIED_VOS_SCALE1,
               "planned regulator scale differs from the verified one");
#endif

static uint32_t clock_hclk = PORT_HSI_HZ;
static uint32_t clock_pclk2 = PORT_HSI_HZ;

static hal_status_t clock_wait(volatile uint32_t *reg, uint32_t mask, uint32_t expected) {
  for (uint32_t polls = 0; polls < CLOCK_WAIT_POLLS; polls++) {
    if ((*reg & mask) == expected) {
      return HAL_OK;
    }
    watchdog_refresh();
  }
  return HAL_ERR_TIMEOUT;
}

hal_status_t clock_init_pll(void) {
  /* RM0383 §6.3 RCC_CR: a crystal, not an external clock (HSEBYP is writable only while
   * HSE is off), then HSEON and wait for HSERDY. */
  RCC->CR &= ~RCC_CR_HSEBYP;
  RCC->CR |= RCC_CR_HSEON;
  if (clock_wait(&RCC->CR, RCC_CR_HSERDY, RCC_CR_HSERDY) != HAL_OK) {
    RCC->CR &= ~RCC_CR_HSEON;
    return HAL_ERR_TIMEOUT;
  }
  /* RM0383 §6.3 RCC_PLLCFGR may only change while the PLL is off (and nothing runs on it:
   * SYSCLK is HSI here, as after reset or clock_reset_to_hsi). */
  RCC->CR &= ~RCC_CR_PLLON;
  (void)clock_wait(&RCC->CR, RCC_CR_PLLRDY, 0u);
#if STM32DFU_VOS_SCALE1
  /* RM0383 §5.4 PWR_CR.VOS: written while the PLL is off, it takes effect when the PLL
   * starts; PWR_CSR.VOSRDY then says the regulator is there (checked below). */
  RCC->APB1ENR |= RCC_APB1ENR_PWREN; /* RM0383 §6.3 RCC_APB1ENR */
  (void)RCC->APB1ENR;
  PWR->CR = (PWR->CR & ~PWR_CR_VOS_MASK) | PWR_CR_VOS_SCALE1;
#endif
  RCC->PLLCFGR = CLOCK_PLLCFGR;
  RCC->CR |= RCC_CR_PLLON;
  if (clock_wait(&RCC->CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY) != HAL_OK) {
    (void)clock_reset_to_hsi();
    return HAL_ERR_TIMEOUT;
  }
#if STM32DFU_VOS_SCALE1
  if (clock_wait(&PWR->CSR, PWR_CSR_VOSRDY, PWR_CSR_VOSRDY) != HAL_OK) {
    (void)clock_reset_to_hsi();
    return HAL_ERR_TIMEOUT;
  }
#endif
  /* RM0383 §3.4.1: raise the wait states before raising the clock, and read back
   * (FLASH_ACR, §3.8). Caches are reset while still disabled, then enabled. */
  FLASH_IF->ACR = STM32DFU_FLASH_LATENCY | FLASH_ACR_ICRST | FLASH_ACR_DCRST;
  FLASH_IF->ACR = STM32DFU_FLASH_LATENCY;
  FLASH_IF->ACR = STM32DFU_FLASH_LATENCY | FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN;
  if ((FLASH_IF->ACR & FLASH_ACR_LATENCY_MASK) != STM32DFU_FLASH_LATENCY) {
    (void)clock_reset_to_hsi();
    return HAL_ERR_SEQUENCE;
  }
  /* RM0383 §6.3 RCC_CFGR: prescalers first (still on HSI), so APB1 (50 MHz max) and APB2
   * (100 MHz max) never exceed their limits on the switch; then SW = PLL, wait for SWS. */
  RCC->CFGR = CLOCK_CFGR_PRESCALERS | RCC_CFGR_SW_HSI;
  RCC->CFGR = CLOCK_CFGR_PRESCALERS | RCC_CFGR_SW_PLL;
  if (clock_wait(&RCC->CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_PLL) != HAL_OK) {
    (void)clock_reset_to_hsi();
    return HAL_ERR_TIMEOUT;
  }
  clock_hclk = STM32DFU_SYSCLK_HZ;
  /* PPRE2 field (CFGR[15:13]): 0xx is /1, 1xx is /2^(xx+1). */
  uint32_t ppre2 = (CLOCK_CFGR_PRESCALERS >> 13) & 0x7u;
  clock_pclk2 = (ppre2 & 0x4u) != 0u ? STM32DFU_SYSCLK_HZ >> ((ppre2 & 0x3u) + 1u) : STM32DFU_SYSCLK_HZ;
  return HAL_OK;
}

hal_status_t clock_reset_to_hsi(void) {
  hal_status_t status = HAL_OK;
  /* RM0383 §6.3 RCC_CR / RCC_CFGR: HSI on, SYSCLK switched to it with the prescalers kept
   * (so APB1 never sees 96 MHz undivided), then the prescalers back to their reset /1. */
  RCC->CR |= RCC_CR_HSION;
  if (clock_wait(&RCC->CR, RCC_CR_HSIRDY, RCC_CR_HSIRDY) != HAL_OK) {
    status = HAL_ERR_TIMEOUT;
  }
  RCC->CFGR = (RCC->CFGR & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_HSI;
  if (clock_wait(&RCC->CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_HSI) != HAL_OK) {
    status = HAL_ERR_TIMEOUT;
  }
  RCC->CFGR = 0u; /* reset value: HSI, every prescaler /1, MCOs off */
  /* PLL, HSE, clock security off; PLLCFGR and CIR to their reset values (RM0383 §6.3). */
  RCC->CR &= ~(RCC_CR_PLLON | RCC_CR_HSEON | RCC_CR_CSSON | RCC_CR_HSEBYP);
  if (clock_wait(&RCC->CR, RCC_CR_PLLRDY, 0u) != HAL_OK) {
    status = HAL_ERR_TIMEOUT;
  }
  RCC->PLLCFGR = RCC_PLLCFGR_RESET;
  RCC->CIR = RCC_CIR_CLEAR_ALL;
  RCC->CIR = 0u;
  /* Wait states may drop only once the clock has (RM0383 §3.4.1). FLASH_ACR ends at its
   * reset value 0 with both caches reset, so an application that enables them starts clean. */
  FLASH_IF->ACR = FLASH_IF->ACR & FLASH_ACR_LATENCY_MASK;
  FLASH_IF->ACR = FLASH_ACR_ICRST | FLASH_ACR_DCRST;
  FLASH_IF->ACR = 0u;
  /* PWR (VOS) back to its reset state by a reset pulse, then its clock off (RM0383 §6.3
   * RCC_APB1RSTR, RCC_APB1ENR). */
  RCC->APB1RSTR |= RCC_APB1_PWR;
  RCC->APB1RSTR &= ~RCC_APB1_PWR;
  RCC->APB1ENR &= ~RCC_APB1ENR_PWREN;
  clock_hclk = PORT_HSI_HZ;
  clock_pclk2 = PORT_HSI_HZ;
  return status;
}

uint32_t clock_hclk_hz(void) {
  return clock_hclk;
}

uint32_t clock_pclk2_hz(void) {
  return clock_pclk2;
}

void systick_start(uint32_t hclk_hz) {
  /* PM0214 §4.5 (STK_CTRL, STK_LOAD, STK_VAL): reload = ticks per period - 1, 24 bits. */
  SYSTICK->CTRL = 0u;
  SYSTICK->LOAD = (hclk_hz / 1000u) - 1u;
  SYSTICK->VAL = 0u;
  SYSTICK->CTRL = SYSTICK_CTRL_CLKSOURCE | SYSTICK_CTRL_TICKINT | SYSTICK_CTRL_ENABLE;
}

void systick_stop(void) {
  /* PM0214 §4.5: counter and interrupt off, registers at their reset values. */
  SYSTICK->CTRL = 0u;
  SYSTICK->LOAD = 0u;
  SYSTICK->VAL = 0u;
}
