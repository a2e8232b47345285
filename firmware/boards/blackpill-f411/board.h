/*
 * board.h — WeAct Black Pill (STM32F411CEU6, 25 MHz HSE). Pins, partitions, USB identity and
 * the clock tree come from the generated stm32dfu_layout.h; this file holds what only the
 * port needs, and pins the clock registers the board was verified with on hardware.
 */
#ifndef STM32DFU_BOARD_H
#define STM32DFU_BOARD_H

#include "stm32dfu_layout.h"

/* Checked by clock.c against the planned tree. 25 MHz HSE / M=25 → 1 MHz VCO input; ×N=192
 * → 192 MHz VCO; /P=2 → 96 MHz SYSCLK; /Q=4 → 48 MHz for OTG_FS (RM0383 §6.2.3). */
#define BOARD_VERIFIED_PLLCFGR (25u | (192u << 6) | (0u << 16) | (1u << 22) | (4u << 24))
/* AHB /1, APB1 /2 (at most 50 MHz), APB2 /1 (at most 100 MHz). */
#define BOARD_VERIFIED_CFGR_PRESCALERS (0x4u << 10)
/* RM0383 table 5: 90 < HCLK <= 100 MHz at 2.7–3.6 V needs 3 wait states. */
#define BOARD_VERIFIED_FLASH_LATENCY 3u
/* HCLK above 84 MHz needs regulator scale 1 on the F411 (RM0383 §5.1.4). */
#define BOARD_VERIFIED_VOS_SCALE1 1u

#define BOARD_HAS_USB 1u
#define BOARD_SEMIHOSTING 0u

#endif /* STM32DFU_BOARD_H */
