/*
 * main.c — the bootloader on an STM32F4: boot decision before anything is initialised,
 * then clocks, USB and the portable core's DFU mode (bootloader.h "Call order").
 */
#include "bootloader.h"
#include "port.h"

static const char *const verdict_reasons[] = {
    [BOOT_STAY_REQUESTED] = "stay: the application asked for DFU mode (boot-request word)",
    [BOOT_STAY_BUTTON] = "stay: button held at reset",
    [BOOT_STAY_NO_APP] = "stay: no application (first word erased)",
    [BOOT_STAY_BAD_STAMP] = "stay: application stamp invalid (magic, length or CRC)",
    [BOOT_STAY_BAD_VECTORS] = "stay: application vector table points outside SRAM or its region",
    [BOOT_JUMP] = "jump: application valid",
    [BOOT_STAY_BAD_SIGNATURE] = "stay: application signature invalid, or its security counter below the board's",
};

static const char *const protect_states[] = {
    [PROTECT_ALREADY] = "lock-down: RDP level 1 and bootloader sectors write-protected\r\n",
    [PROTECT_NEEDED] = "lock-down: not applied\r\n",
    [PROTECT_PROGRAMMED] = "lock-down: option bytes written (RDP level 1, bootloader sectors write-protected), resetting\r\n",
    [PROTECT_UNREADABLE] = "lock-down: option bytes unreadable, left alone\r\n",
    [PROTECT_PCROP] = "lock-down: PCROP mode (SPRMOD) set, left alone\r\n",
    [PROTECT_FAILED] = "lock-down: option byte write failed, booting unprotected\r\n",
};

static void report_verdict(boot_verdict_t verdict) {
  uart_write("stm32dfu bootloader (" STM32DFU_BOARD_ID "): ");
  uart_write((uint32_t)verdict < sizeof verdict_reasons / sizeof verdict_reasons[0] ? verdict_reasons[verdict]
                                                                                      : "stay: unknown verdict");
  uart_write("\r\n");
}

static void report_watchdog(iwdg_adoption_t adoption) {
  static const char *const states[] = {
      [IWDG_UNREADABLE_OPTIONS] = "watchdog: option bytes unreadable, left alone\r\n",
      [IWDG_SOFTWARE_OPTION] = "watchdog: software option, not running, left alone\r\n",
      [IWDG_ADOPTED] = "watchdog: hardware option, running, timeout ",
      [IWDG_RESET_TIMEOUT_KEPT] = "watchdog: hardware option, running, update refused, timeout ",
  };
  uart_write(states[adoption]);
  if (watchdog_running()) {
    uart_write_decimal(watchdog_timeout_ms_min());
    uart_write("-");
    uart_write_decimal(watchdog_timeout_ms_max());
    uart_write(" ms\r\n");
  }
}

/* The no-init words (boot_request.c); [2] marks a lock-down write just made. */
extern volatile uint32_t port_boot_request[STM32DFU_NOINIT_SIZE / 4u];
#define PROTECT_ATTEMPT_MARK 0x4C4F434Bu /* "LOCK" */
_Static_assert(STM32DFU_NOINIT_SIZE >= 12u, "a third no-init word for the lock-down mark");

int main(void) {
  /* With the hardware watchdog option the IWDG has run since reset with its shortest
   * reset timeout (348 ms at the fastest LSI), less than the stamp check may take on the
   * reset clock: adopt it before anything else. */
  iwdg_adoption_t watchdog = watchdog_init();
  /* Lock-down (docs/lock-down.md) before anything can jump: on a chip still at RDP level 0 or
   * with the bootloader writable, the option bytes are written and the chip reset so they
   * load; boot_decide has not yet read the boot-request word, so a request survives. The
   * layout's macro, which bl_profile_stm32dfu.protect_flash is made from, is a constant
   * here, so a board without lock-down links none of it. */
  const bool protect = STM32DFU_PROTECT_FLASH != 0u;
  /* One attempt per reset that follows it: a chip that took the write but still reports the
   * options unapplied boots on once instead of resetting forever (word 2 of the no-init
   * words, after the boot request's two; SRAM keeps it across a system reset only). */
  const bool just_programmed = port_boot_request[2] == PROTECT_ATTEMPT_MARK;
  port_boot_request[2] = 0u;
  protect_result_t protection = protect && !just_programmed ? protect_flash_apply() : PROTECT_NEEDED;
  if (protection == PROTECT_PROGRAMMED) {
    uart_init(PORT_HSI_HZ);
    uart_write(protect_states[protection]);
    uart_flush();
    port_boot_request[2] = PROTECT_ATTEMPT_MARK;
    hal_system_reset();
  }
  /* Decide on the reset clock, before clocks or USB exist, so a jump leaves nothing to undo
   * but the console. A board that checks the application's signature at every boot raises
   * the clock first: the check runs six times faster at SYSCLK than at 16 MHz (docs/
   * signature-cost.md), and the jump puts the clock tree back to its reset state (jump.c).
   * Without the crystal the check runs on HSI, slower, and DFU mode reports the clock. */
#if STM32DFU_SIGNING_VERIFY_AT_BOOT && !STM32DFU_EMULATED
  const hal_status_t early_clock = clock_init_pll();
#else
  const hal_status_t early_clock = HAL_ERR_SEQUENCE; /* not raised: the reset clock */
#endif
  bool crc_unit = crc_init();
  boot_verdict_t verdict = boot_decide();
  uart_init(clock_pclk2_hz());
  report_watchdog(watchdog);
  if (protect) {
    uart_write(protect_states[protection]);
  }
  uart_write(crc_unit ? "crc: CRC unit\r\n" : "crc: software\r\n");
  if (STM32DFU_SIGNING_VERIFY_AT_BOOT && !STM32DFU_EMULATED && early_clock != HAL_OK) {
    uart_write("clock: HSE/PLL did not start, the signature was checked at 16 MHz\r\n");
  }
  report_verdict(verdict);
  if (verdict == BOOT_JUMP) {
    uart_write("jump to ");
    uart_write_hex32(STM32DFU_APP_BASE);
    uart_write("\r\n");
    hal_jump_to_application(STM32DFU_APP_BASE);
  }

#if STM32DFU_EMULATED
  /* QEMU models no RCC, flash interface or OTG_FS: report what DFU mode would start with
   * (the boot-request word as boot_decide left it) and end the run. */
  (void)early_clock;
  uint32_t magic = 0u;
  uint32_t check = 0u;
  hal_boot_request_read(&magic, &check);
  uart_write("boot-request word after decision: ");
  uart_write_hex32(magic);
  uart_write(" ");
  uart_write_hex32(check);
  uart_write("\r\ndfu mode: no USB on this board, stopping\r\n");
  uart_flush();
  semihosting_exit(true);
#else
  led_init();
  /* RCC_PLLCFGR cannot change while the PLL runs the system (RM0383 §6.3): keep it when the
   * boot check already raised the clock. */
  hal_status_t clock = early_clock == HAL_OK ? HAL_OK : clock_init_pll();
  if (clock != HAL_OK) {
    /* Without HSE there is no accurate 48 MHz for USB: show the error pattern and stop. */
    uart_write("clock: HSE/PLL did not start, DFU mode unavailable\r\n");
    systick_start(PORT_HSI_HZ);
    hal_led(HAL_LED_ERROR);
    /* Woken by every SysTick: the error pattern stays visible, not replaced by a reset
     * loop that would retry the same failed clock. */
    for (;;) {
      watchdog_refresh();
      __asm__ volatile("wfi");
    }
  }
  uart_init(clock_pclk2_hz());
  uart_write("dfu mode: USB on, waiting for the host\r\n");
  systick_start(clock_hclk_hz());
  hal_led(HAL_LED_IDLE);
  if (otg_fs_init() != HAL_OK) {
    uart_write("usb: OTG_FS core did not come out of reset\r\n");
    hal_led(HAL_LED_ERROR);
  }
  bl_init(&bl_profile_stm32dfu);
  for (;;) {
    watchdog_refresh();
    otg_fs_poll();
    bl_poll();
  }
#endif
  return 0;
}
