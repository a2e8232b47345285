/*
 * jump.c — leaving the bootloader: system reset, or the hand-over to the application with
 * the chip back in (nearly) its reset state, so the application starts as after a reset.
 */
#include "port.h"
#include "stm32f4_regs.h"

void hal_system_reset(void) {
  uart_flush();
  /* PM0214 §4.4.4 AIRCR: VECTKEY and SYSRESETREQ; DSB so earlier writes (the boot-request
   * word) complete first. */
  __asm__ volatile("dsb" ::: "memory");
  SCB->AIRCR = SCB_AIRCR_SYSRESETREQ;
  __asm__ volatile("dsb" ::: "memory");
  for (;;) {
  }
}

/* Called from thread mode (bl_poll or main), never from an exception handler: the branch
 * below does not return from one. */
void hal_jump_to_application(uint32_t vector_table) {
  const volatile uint32_t *vectors = (const volatile uint32_t *)(uintptr_t)vector_table;
  uint32_t stack = vectors[0];
  uint32_t entry = vectors[1];

  __asm__ volatile("cpsid i" ::: "memory");
  systick_stop();
  /* Peripherals back to reset state first, so none can pend an interrupt after the NVIC
   * has been cleared: OTG_FS (soft disconnect, RCC reset, clock off), USART1, GPIO, then the
   * clock tree (HSI, PLL and HSE off, wait states and caches reset, PWR reset), the CRC unit. */
#if BOARD_HAS_USB
  otg_fs_deinit();
#endif
  uart_deinit();
  gpio_reset();
#if !STM32DFU_EMULATED
  /* QEMU does not model RCC; the emulated board never left HSI. */
  (void)clock_reset_to_hsi();
  /* The CRC unit (the bootloader's stamp check) back to reset by its reset pulse, clock
   * off (RM0383 §6.3 RCC_AHB1RSTR.CRCRST, RCC_AHB1ENR.CRCEN). */
  RCC->AHB1RSTR |= RCC_AHB1_CRC;
  RCC->AHB1RSTR &= ~RCC_AHB1_CRC;
  RCC->AHB1ENR &= ~RCC_AHB1_CRC;
#endif
  /* Every NVIC line disabled and its pending flag cleared (PM0214 §4.3 NVIC_ICERx,
   * NVIC_ICPRx; 8 words cover any Cortex-M4, unused bits are write-ignored), and the
   * SysTick and PendSV pending bits (PM0214 §4.4 ICSR). */
  for (uint32_t i = 0; i < 8u; i++) {
    NVIC->ICER[i] = 0xFFFFFFFFu;
    NVIC->ICPR[i] = 0xFFFFFFFFu;
  }
  SCB->ICSR = SCB_ICSR_PENDSTCLR | SCB_ICSR_PENDSVCLR;
  /* PM0214 §4.4 VTOR: the application's table; barriers so the next exception uses it. */
  SCB->VTOR = vector_table;
  __asm__ volatile("dsb\n isb" ::: "memory");
  /* A running IWDG cannot be stopped (RM0383 §15.3): the application inherits it with the
   * bootloader's long timeout (watchdog.c) and a counter refreshed here, its last store
   * before the branch; it must refresh it, or reprogram it, within that timeout. */
  watchdog_refresh();
  /* CONTROL = 0 (privileged, MSP, no FP context) as after reset (PM0214 §2.1.3), MSP from
   * the application's table, interrupts enabled again as after a reset (every source is
   * off), then its reset handler. No stack use after MSP changes. */
  __asm__ volatile(
      "msr control, %2\n"
      "isb\n"
      "msr msp, %0\n"
      "cpsie i\n"
      "bx %1\n"
      :
      : "r"(stack), "r"(entry), "r"(0u)
      : "memory");
  for (;;) {
  }
}
