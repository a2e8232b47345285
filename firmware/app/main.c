/*
 * main.c — the example application: started by the bootloader at the application base,
 * it prints its banner on USART1, blinks the LED from SysTick and offers the DFU runtime
 * interface on USB, whose DETACH brings the bootloader back (contract 5).
 *
 * The first lines it prints prove the hand-over was right: VTOR points at this image's
 * vector table, MSP started at this image's initial stack pointer, and SysTick interrupts
 * reach this image's handler.
 */
#include "app.h"
#include "port.h"
#include "stm32f4_regs.h"

extern uint32_t __stack_top;
extern const uint32_t port_vector_table_entries[];

#define APP_BLINK_MS 500u
#define APP_TICKS_TO_PROVE 10u

static volatile uint32_t app_ticks;

void SysTick_Handler(void) {
  app_ticks++;
  if (app_ticks % APP_BLINK_MS == 0u) {
    led_set((app_ticks / APP_BLINK_MS) % 2u == 0u);
  }
}

uint32_t hal_millis(void) {
  return app_ticks;
}

static bool check(bool ok, const char *what, uint32_t found, uint32_t expected) {
  uart_write(ok ? "ok   " : "FAIL ");
  uart_write(what);
  uart_write(" ");
  uart_write_hex32(found);
  if (!ok) {
    uart_write(" expected ");
    uart_write_hex32(expected);
  }
  uart_write("\r\n");
  return ok;
}

/* Wait for SysTick interrupts with a bound that does not depend on them: at least a
 * second of polls on the chip; an emulator that runs polls faster than its clock still
 * sees the 10 ms it needs well within it. */
static bool systick_reaches_app(uint32_t hclk_hz) {
  uint32_t polls_left = hclk_hz;
  while (app_ticks < APP_TICKS_TO_PROVE) {
    if (polls_left-- == 0u) {
      return false;
    }
  }
  return true;
}

int main(void) {
  /* Read before anything here could change them. */
  uint32_t vtor = SCB->VTOR;
  uint32_t initial_msp = port_initial_msp;
  /* With the hardware watchdog option the bootloader hands over a running IWDG (about 4 s at
   * the fastest LSI, docs/hardware.md "Watchdog"); adopt it so the port's waits refresh it. */
  (void)watchdog_init();

#if STM32DFU_EMULATED
  /* QEMU models no RCC; its netduinoplus2 runs the core at the board's nominal clock. */
  uint32_t hclk = STM32DFU_SYSCLK_HZ;
  uart_init(PORT_HSI_HZ);
#else
  bool clock_ok = clock_init_pll() == HAL_OK;
  uint32_t hclk = clock_hclk_hz();
  uart_init(clock_pclk2_hz());
#endif
  uart_write("stm32dfu example app v" APP_VERSION " (" STM32DFU_BOARD_ID ")\r\n");
  led_init();
  systick_start(hclk);

  bool ok = check(vtor == (uint32_t)(uintptr_t)port_vector_table_entries, "vtor", vtor,
                  (uint32_t)(uintptr_t)port_vector_table_entries);
  ok = check(initial_msp == (uint32_t)(uintptr_t)&__stack_top, "msp ", initial_msp,
             (uint32_t)(uintptr_t)&__stack_top) && ok;
  bool ticking = systick_reaches_app(hclk);
  ok = check(ticking, "systick ticks", app_ticks, APP_TICKS_TO_PROVE) && ok;

#if STM32DFU_EMULATED
  /* Test hook: `-semihosting-config arg=detach` does what DFU_DETACH does on USB. */
  char command[32];
  if (semihosting_command_line(command, sizeof command)) {
    for (const char *c = command; *c != '\0'; c++) {
      if (c[0] == 'd' && c[1] == 'e' && c[2] == 't' && c[3] == 'a' && c[4] == 'c' && c[5] == 'h') {
        uart_write("detach: boot-request word written, resetting\r\n");
        uart_flush();
        app_enter_bootloader();
      }
    }
  }
  uart_write(ok ? "app: hand-over checks passed\r\n" : "app: hand-over checks FAILED\r\n");
  uart_flush();
  semihosting_exit(ok);
#else
  if (!clock_ok) {
    uart_write("clock: HSE/PLL did not start; no USB without an accurate 48 MHz\r\n");
    for (;;) {
      __asm__ volatile("wfi");
    }
  }
  app_usb_init();
  if (otg_fs_init() == HAL_OK) {
    hal_usb_connect(true);
  } else {
    uart_write("usb: OTG_FS core did not come out of reset\r\n");
  }
  for (;;) {
    watchdog_refresh();
    otg_fs_poll();
    if (app_usb_detach_requested()) {
      app_enter_bootloader();
    }
  }
#endif
  return 0;
}

void app_enter_bootloader(void) {
  /* Contract 5: magic and complement, then a system reset; the bootloader clears them. */
  hal_boot_request_write(STM32DFU_BOOT_REQUEST_MAGIC, ~STM32DFU_BOOT_REQUEST_MAGIC);
  hal_usb_connect(false);
  hal_system_reset();
  for (;;) {
  }
}
