/*
 * crc_unit.h — the STM32F4 CRC unit (RM0383 §4) behind hal_crc_stm32, with its register
 * accesses passed in, so the logic around them (power-on self-test, fallback to software,
 * continuing from any CRC value) also runs on the host against a fake unit
 * (firmware/tests/test_crc_unit.c).
 */
#ifndef STM32DFU_CRC_UNIT_H
#define STM32DFU_CRC_UNIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  void (*reset)(void);                            /* CRC_CR.RESET: CRC_DR back to 0xFFFFFFFF */
  void (*write)(uint32_t word);                   /* one word into CRC_DR */
  uint32_t (*read)(void);                         /* CRC_DR */
  void (*feed)(uint32_t address, uint32_t words); /* each word of memory at `address` into CRC_DR */
} crc_unit_t;

/* The self-test's reference: the word 0x12345678 from the reset value gives 0xDF8A8A2B. */
#define CRC_UNIT_TEST_WORD 0x12345678u
#define CRC_UNIT_TEST_CRC 0xDF8A8A2Bu

/* Self-test `unit` (its clock already on) and use it for crc_unit_compute when it passes:
 * the reference vector from the reset value, then a continuation from another value, both
 * checked against the software CRC. NULL, or a failed test, selects software, so a unit
 * that computes something else can never make a valid application look corrupt. Returns
 * whether the unit is in use. */
bool crc_unit_select(const crc_unit_t *unit);
bool crc_unit_in_use(void);

/* hal_crc_stm32 (hal.h) on the selected path. */
uint32_t crc_unit_compute(uint32_t crc, uint32_t address, uint32_t length);

/* The word that, written after a reset, leaves the unit's register at `crc`. */
uint32_t crc_unit_seed_word(uint32_t crc);

#endif /* STM32DFU_CRC_UNIT_H */
