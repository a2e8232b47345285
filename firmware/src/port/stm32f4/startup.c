/*
 * startup.c — vector table and reset handler for the STM32F4 images (bootloader and the
 * example application compile it each with their own flags).
 *
 * The table's slots 7–10 (offsets 0x1C–0x2B) stay zero: the application stamp lives there
 * (docs/architecture.md, contract 4).
 */
#include <stdint.h>

#include "port.h"
#include "stm32f4_regs.h"

/* Symbols from the linker scripts. */
extern uint32_t __stack_top;
extern uint32_t __data_load, __data_start, __data_end;
extern uint32_t __bss_start, __bss_end;

extern int main(void);

uint32_t port_initial_msp;

void port_reset(uint32_t initial_msp) __attribute__((noreturn, used));
void Reset_Handler(void) __attribute__((naked, noreturn));
void Default_Handler(void);

/* Cortex-M4 system exceptions (PM0214 §2.3.4); weak so an image can take any of them. */
void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void HardFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("Default_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));
void OTG_FS_IRQHandler(void) __attribute__((weak, alias("Default_Handler")));

/* The F411 has 86 interrupt lines (RM0383 Table 37), the F405 82 (RM0090 Table 61). Both
 * images use them polled, so every line gets the default handler except OTG_FS (67). */
#define PORT_IRQ_COUNT 86u
#define PORT_IRQ_OTG_FS 67u

typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used)) const vector_t port_vector_table_entries[16u + PORT_IRQ_COUNT] = {
    [0] = (vector_t)(uintptr_t)&__stack_top,
    [1] = Reset_Handler,
    [2] = NMI_Handler,
    [3] = HardFault_Handler,
    [4] = MemManage_Handler,
    [5] = BusFault_Handler,
    [6] = UsageFault_Handler,
    /* [7]..[10] reserved by the architecture: the app stamp */
    [11] = SVC_Handler,
    [12] = DebugMon_Handler,
    [14] = PendSV_Handler,
    [15] = SysTick_Handler,
    [16 ... 16u + PORT_IRQ_OTG_FS - 1u] = Default_Handler,
    [16u + PORT_IRQ_OTG_FS] = OTG_FS_IRQHandler,
    [16u + PORT_IRQ_OTG_FS + 1u ... 16u + PORT_IRQ_COUNT - 1u] = Default_Handler,
};

/* Read MSP before any C code pushes onto it. */
void Reset_Handler(void) {
  __asm__ volatile(
      "mrs r0, msp\n"
      "b port_reset\n");
}

void port_reset(uint32_t initial_msp) {
#if PORT_STARTUP_RESETS_FOREIGN_STATE
  /* Before anything else, VTOR included: entered by a jump from ST's ROM bootloader, reset
   * the chip once (start_state.c). Interrupts are masked around the check so none of the
   * ROM's can arrive meanwhile (PM0214 §2.1.3 PRIMASK); a reset leaves them unmasked, as here
   * after the check. */
  __asm__ volatile("cpsid i" ::: "memory");
  (void)start_state_reset_if_foreign();
  __asm__ volatile("cpsie i" ::: "memory");
#endif
  /* .data from its load address in flash; .bss to zero. Plain loops, since no C library is
   * linked and the compiler is told not to turn them into memcpy/memset calls. */
  uint32_t *source = &__data_load;
  for (uint32_t *word = &__data_start; word < &__data_end; word++) {
    *word = *source++;
  }
  for (uint32_t *word = &__bss_start; word < &__bss_end; word++) {
    *word = 0u;
  }
  port_initial_msp = initial_msp;
#if PORT_STARTUP_SETS_VTOR
  /* The bootloader runs from 0x08000000, aliased at 0 after reset (RM0383 §2.4); point the
   * core at the flash address so the table's location never depends on the alias. */
  SCB->VTOR = (uint32_t)(uintptr_t)port_vector_table_entries; /* PM0214 §4.4 VTOR */
  __asm__ volatile("dsb\n isb" ::: "memory");
#endif
  (void)main();
  for (;;) {
  }
}

/* An unexpected exception or interrupt. On an emulated board the test run ends with a
 * failure status at once instead of waiting for its timeout. */
void Default_Handler(void) {
#if BOARD_SEMIHOSTING
  semihosting_exit(false);
#else
  for (;;) {
  }
#endif
}
