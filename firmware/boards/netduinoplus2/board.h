/*
 * board.h — Netduino Plus 2 (STM32F405RG) as QEMU's `-M netduinoplus2` models it.
 * QEMU models neither RCC, the flash interface nor OTG_FS, so this board keeps the reset
 * clock, has no USB, prints the boot verdict on USART1 and ends a test run through
 * semihosting. It exists to exercise startup, boot decision, jump and boot-request handoff.
 */
#ifndef STM32DFU_BOARD_H
#define STM32DFU_BOARD_H

#include "stm32dfu_layout.h"

/* Unused while STM32DFU_EMULATED skips clock bring-up; the F405 values for a 25 MHz HSE
 * (RM0090 §6.3.2) would be M=25, N=336, P=2, Q=7: 168 MHz SYSCLK, 48 MHz for USB, 5 WS. */
#define BOARD_PLL_M 25u
#define BOARD_PLL_N 336u
#define BOARD_PLL_P 2u
#define BOARD_PLL_Q 7u
#define BOARD_FLASH_LATENCY 5u
#define BOARD_NEEDS_VOS_SCALE1 0u
/* AHB /1, APB1 /4 (at most 42 MHz), APB2 /2 (at most 84 MHz). */
#define BOARD_CFGR_PRESCALERS ((0x5u << 10) | (0x4u << 13))

#define BOARD_HAS_USB 0u
/* Test runs end with a semihosting SYS_EXIT so QEMU returns a status. */
#define BOARD_SEMIHOSTING 1u

#endif /* STM32DFU_BOARD_H */
