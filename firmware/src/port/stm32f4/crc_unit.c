/*
 * crc_unit.c — hal_crc_stm32 on the STM32F4 CRC unit, with the software CRC as fallback
 * (crc_unit.h). Portable C: the registers are reached only through the crc_unit_t given.
 */
#include "crc_unit.h"

#include <stddef.h>

#include "bootloader.h"

#define CRC_POLYNOMIAL 0x04C11DB7u
#define CRC_RESET_VALUE 0xFFFFFFFFu

static const crc_unit_t *selected;

/* One word into the register is 32 shift steps of x^32 mod P, a linear map that can be
 * undone because P has its x^0 term: a step that XORed P left bit 0 set. */
static uint32_t undo_word_steps(uint32_t crc) {
  for (int bit = 0; bit < 32; bit++) {
    crc = (crc & 1u) != 0u ? ((crc ^ CRC_POLYNOMIAL) >> 1) | 0x80000000u : crc >> 1;
  }
  return crc;
}

/* RM0383 §4.3: a word written to CRC_DR is XORed into the register and shifted through
 * 32 steps. From the reset value, writing w gives steps(0xFFFFFFFF ^ w); so the word that
 * gives `crc` is 0xFFFFFFFF ^ steps⁻¹(crc). */
uint32_t crc_unit_seed_word(uint32_t crc) { return CRC_RESET_VALUE ^ undo_word_steps(crc); }

static uint32_t software_word(uint32_t crc, uint32_t word) {
  const uint8_t bytes[4] = {(uint8_t)word, (uint8_t)(word >> 8), (uint8_t)(word >> 16), (uint8_t)(word >> 24)};
  return bl_crc_stm32(crc, bytes, 4u);
}

static bool unit_passes(const crc_unit_t *unit) {
  unit->reset();
  unit->write(CRC_UNIT_TEST_WORD);
  if (unit->read() != CRC_UNIT_TEST_CRC) return false;
  /* Continuing from a value other than the reset one is what the stamp check does around
   * its crc word: seed, read back, one more word. */
  const uint32_t from = 0x89ABCDEFu;
  unit->reset();
  unit->write(crc_unit_seed_word(from));
  if (unit->read() != from) return false;
  unit->write(CRC_UNIT_TEST_WORD);
  return unit->read() == software_word(from, CRC_UNIT_TEST_WORD);
}

bool crc_unit_select(const crc_unit_t *unit) {
  selected = unit != NULL && unit_passes(unit) ? unit : NULL;
  return selected != NULL;
}

bool crc_unit_in_use(void) { return selected != NULL; }

uint32_t crc_unit_compute(uint32_t crc, uint32_t address, uint32_t length) {
  if (selected == NULL) return bl_crc_stm32_memory(crc, address, length);
  selected->reset();
  if (crc != CRC_RESET_VALUE) selected->write(crc_unit_seed_word(crc));
  selected->feed(address, length / 4u);
  return selected->read();
}
