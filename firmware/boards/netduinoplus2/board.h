/*
 * board.h — Netduino Plus 2 (STM32F405RG) as QEMU's `-M netduinoplus2` models it.
 * QEMU models neither RCC, the flash interface nor OTG_FS, so this board keeps the reset
 * clock (the planned tree in stm32dfu_layout.h is compiled but never started), has no USB,
 * prints the boot verdict on USART1 and ends a test run through semihosting. It exists to
 * exercise startup, boot decision, jump and boot-request handoff.
 */
#ifndef STM32DFU_BOARD_H
#define STM32DFU_BOARD_H

#include "stm32dfu_layout.h"

#define BOARD_HAS_USB 0u
/* Test runs end with a semihosting SYS_EXIT so QEMU returns a status. */
#define BOARD_SEMIHOSTING 1u

#endif /* STM32DFU_BOARD_H */
