/*
 * board.h — any STM32F4 board described only by its JSON (codegen --board-file), used when
 * firmware/boards/<id>/ does not exist. Pins, partitions, USB identity and the clock tree
 * all come from the generated stm32dfu_layout.h.
 */
#ifndef STM32DFU_BOARD_H
#define STM32DFU_BOARD_H

#include "stm32dfu_layout.h"

/* A real board has USB; a board that exists only in QEMU has none and ends test runs
 * through semihosting instead. */
#define BOARD_HAS_USB (!STM32DFU_EMULATED)
#define BOARD_SEMIHOSTING STM32DFU_EMULATED

#endif /* STM32DFU_BOARD_H */
