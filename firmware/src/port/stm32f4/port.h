/*
 * port.h — the STM32F4 port's own pieces, shared by the bootloader (with the portable core)
 * and the example application. hal.h is what the core sees; this is what main() sees.
 */
#ifndef STM32DFU_PORT_H
#define STM32DFU_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "board.h"
#include "hal.h"
#include "iwdg_plan.h"

/* HSI, the clock every STM32F4 runs from out of reset (RM0383 §6.2.2). */
#define PORT_HSI_HZ 16000000u

/* ---- Clocks (clock.c) ---- */

/* HSE → PLL → SYSCLK with the board's M/N/P/Q, 48 MHz for OTG_FS. Every wait is bounded;
 * on a timeout the chip is left on HSI and the error is returned. */
hal_status_t clock_init_pll(void);
/* Back to the reset state: HSI as SYSCLK, PLL and HSE off, prescalers and wait states reset. */
hal_status_t clock_reset_to_hsi(void);
/* HCLK in Hz as configured by the calls above (SYSCLK with an AHB prescaler of 1). */
uint32_t clock_hclk_hz(void);
/* APB2 clock in Hz (USART1's kernel clock). */
uint32_t clock_pclk2_hz(void);
/* SysTick at 1 kHz from HCLK, interrupt enabled. */
void systick_start(uint32_t hclk_hz);
void systick_stop(void);

/* ---- Independent watchdog (watchdog.c; arithmetic and sequence in iwdg_plan.c) ----
 * Call watchdog_init first thing after reset: with the hardware watchdog option
 * (FLASH_OPTCR.WDG_SW = 0) the IWDG is already running with its reset timeout, at least
 * 348 ms; it is then refreshed and given a timeout of twice the longest sector erase at the
 * fastest LSI. With the software option nothing is touched and watchdog_refresh does
 * nothing. Every bounded wait in this port calls watchdog_refresh. */
iwdg_adoption_t watchdog_init(void);
void watchdog_refresh(void);
bool watchdog_running(void);
/* The current timeout at the fastest LSI (the soonest a missed refresh resets the chip)
 * and at the slowest (the longest a hang lasts before the reset), in ms. */
uint32_t watchdog_timeout_ms_min(void);
uint32_t watchdog_timeout_ms_max(void);

/* ---- Flash (flash.c; the rest is hal.h) ---- */
/* The longest erase of one sector at its datasheet maximum: the longest time the bus
 * stalls with no code running, so the longest the watchdog cannot be refreshed. */
uint32_t flash_longest_erase_ms(void);

/* ---- Lock-down (option_bytes.c, bootloader only; docs/lock-down.md) ----
 * For a profile with protect_flash: RDP level 1 and the bootloader's sectors
 * write-protected in the option bytes. Never RDP level 2. */
typedef enum {
  PROTECT_ALREADY = 0,    /* RDP level 1 (or 2) and the bootloader's sectors protected */
  PROTECT_NEEDED = 1,     /* protect_flash_check only: level 0 or a bootloader sector unprotected */
  PROTECT_PROGRAMMED = 2, /* option bytes written: they take effect at the next reset */
  PROTECT_UNREADABLE = 3, /* FLASH_OPTCR implausible (OPTLOCK clear, as under QEMU): left alone */
  PROTECT_PCROP = 4,      /* SPRMOD set: the nWRP bits mean PCROP; left alone */
  PROTECT_FAILED = 5,     /* a bounded wait ran out or FLASH_SR reported an error */
} protect_result_t;
/* What a FLASH_OPTCR value as loaded at reset calls for (no register access). */
protect_result_t protect_flash_check(uint32_t optcr);
/* Read FLASH_OPTCR; when protection is needed, program it (OPTKEYR, OPTCR, OPTSTRT, bounded
 * BSY wait, OPTLOCK again). Writes nothing unless the result is PROGRAMMED or FAILED. */
protect_result_t protect_flash_apply(void);

/* ---- CRC (crc.c, bootloader only) ---- */
/* Clock the CRC unit and self-test it (crc_unit.h); on failure, or on a board without one,
 * hal_crc_stm32 computes in software. Call before boot_decide. True when the unit is used. */
bool crc_init(void);

/* ---- Pins (board_io.c) ---- */
void led_init(void);
void led_set(bool on);
/* Advance the current hal_led pattern; called once per millisecond tick. */
void led_tick(uint32_t millis);
/* GPIO ports A..C back to their reset configuration, clocks off. */
void gpio_reset(void);

/* ---- USART1 console (uart.c); every wait bounded, output dropped on timeout ---- */
void uart_init(uint32_t pclk_hz);
void uart_write(const char *text);
void uart_write_hex32(uint32_t value);
void uart_write_decimal(uint32_t value);
void uart_flush(void);
void uart_deinit(void);

/* ---- USB OTG_FS device, EP0 only, polled (otg_fs.c) ----
 * Events go to the usbd_* functions of bootloader.h: the core's in the bootloader, the
 * application's own runtime DFU layer in the example application. */
hal_status_t otg_fs_init(void);
void otg_fs_poll(void);
void otg_fs_deinit(void);

/* ---- Semihosting (semihosting.c), emulated boards only ---- */
__attribute__((noreturn)) void semihosting_exit(bool success);
/* The argument string QEMU was given (-semihosting-config arg=...); 0-terminated.
 * Returns false when the debugger offers none. */
bool semihosting_command_line(char *out, uint32_t size);

/* ---- Start-up state (start_state.c, bootloader only) ----
 * True when RCC shows a state only another program leaves (ST's ROM bootloader jumping in):
 * SYSCLK not on HSI, the PLL on, or OTG_FS clocked. start_state_reset_if_foreign then
 * requests one system reset (AIRCR.SYSRESETREQ) and returns true only if it did not come
 * within a bounded wait; on the reset state it touches nothing and returns false. */
bool start_state_is_reset(void);
bool start_state_reset_if_foreign(void);

/* ---- Startup (startup.c) ---- */
/* MSP as the reset handler found it: the application checks that the bootloader loaded it
 * from the application's vector table. */
extern uint32_t port_initial_msp;

#endif /* STM32DFU_PORT_H */
