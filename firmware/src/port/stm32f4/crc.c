/*
 * crc.c — hal_crc_stm32 and its rate on the STM32F4: the CRC unit (RM0383 §4) once its
 * power-on self-test passed, the software CRC otherwise (crc_unit.c). QEMU models no CRC
 * unit, so emulated boards use software from the start.
 */
#include "crc_unit.h"
#include "port.h"
#include "stm32f4_regs.h"

#ifndef BOARD_HAS_CRC_UNIT
#define BOARD_HAS_CRC_UNIT (!STM32DFU_EMULATED)
#endif

/*
 * Cycles per word, conservative, for hal_crc_words_per_ms. Unit: one word load from flash
 * counted as a full flash access (3 wait states at 96 MHz, RM0383 Table 5: 4 cycles, no
 * credit for the prefetch or ART hits that usually make it ~1), the store to CRC_DR held
 * until the unit's previous word is done (4 HCLK cycles per word, RM0383 §4.3), and 4
 * cycles of loop (counter, compare, taken branch with its pipeline refill): 12, or 8000
 * words (31.25 kB) per ms at 96 MHz. Software (bl_crc_stm32_memory): a byte-wise copy
 * through hal_flash_read (~32 cycles per word) and eight table steps with the table in
 * flash (~7 cycles each), ~90 in all: counted as 128, 750 words (2.9 kB) per ms at 96 MHz.
 */
#define CRC_UNIT_CYCLES_PER_WORD 12u
#define CRC_SOFTWARE_CYCLES_PER_WORD 128u

#if BOARD_HAS_CRC_UNIT
static void unit_reset(void) { CRC_UNIT->CR = CRC_CR_RESET; }
static void unit_write(uint32_t word) { CRC_UNIT->DR = word; }
static uint32_t unit_read(void) { return CRC_UNIT->DR; }
static void unit_feed(uint32_t address, uint32_t words) {
  const volatile uint32_t *word = (const volatile uint32_t *)(uintptr_t)address;
  while (words-- > 0u) {
    CRC_UNIT->DR = *word++;
  }
}
static const crc_unit_t f4_crc_unit = {unit_reset, unit_write, unit_read, unit_feed};
#endif

bool crc_init(void) {
#if BOARD_HAS_CRC_UNIT
  /* RM0383 §6.3.9 RCC_AHB1ENR.CRCEN, read back so the clock is on before the first access. */
  RCC->AHB1ENR |= RCC_AHB1_CRC;
  (void)RCC->AHB1ENR;
  if (crc_unit_select(&f4_crc_unit)) {
    return true;
  }
  RCC->AHB1ENR &= ~RCC_AHB1_CRC;
  return false;
#else
  return crc_unit_select(NULL);
#endif
}

uint32_t hal_crc_stm32(uint32_t crc, uint32_t address, uint32_t length) {
  return crc_unit_compute(crc, address, length);
}

uint32_t hal_crc_words_per_ms(void) {
  uint32_t cycles = crc_unit_in_use() ? CRC_UNIT_CYCLES_PER_WORD : CRC_SOFTWARE_CYCLES_PER_WORD;
  uint32_t rate = clock_hclk_hz() / 1000u / cycles;
  return rate > 0u ? rate : 1u;
}
