/*
 * host_regs.c — RAM stand-ins for the register blocks of stm32f4_regs.h, found by the
 * chip address the driver names (host_regs.h explains the hook).
 */
#include "host_regs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *name;
  uint32_t base;
  uint32_t size; /* bytes */
} host_block_range_t;

/* Addresses from RM0383 §2.3 (memory map) and PM0214 §4 (system control space). */
static const host_block_range_t host_ranges[HOST_BLOCK_COUNT] = {
    [HOST_RCC] = {"RCC", 0x40023800u, 0x400u},
    [HOST_CRC] = {"CRC", 0x40023000u, 0x400u},
    [HOST_PWR] = {"PWR", 0x40007000u, 0x400u},
    [HOST_FLASH] = {"FLASH", 0x40023C00u, 0x400u},
    [HOST_IWDG] = {"IWDG", 0x40003000u, 0x400u},
    [HOST_GPIO] = {"GPIOA-H", 0x40020000u, 0x2000u},
    [HOST_USART1] = {"USART1", 0x40011000u, 0x400u},
    [HOST_SCB] = {"SCB", 0xE000ED00u, 0x100u},
    [HOST_SYSTICK] = {"SysTick", 0xE000E010u, 0x10u},
    [HOST_NVIC] = {"NVIC", 0xE000E100u, 0x400u},
    [HOST_OTG_FS] = {"OTG_FS", 0x50000000u, 0x2000u}, /* registers and FIFO 0 */
};

/* One buffer big enough for the largest block, per block. */
static uint32_t host_memory[HOST_BLOCK_COUNT][0x2000u / 4u];
static uint32_t host_counts[HOST_BLOCK_COUNT];
static void (*host_model)(void);
static int host_in_model;

static volatile uint32_t *host_find(uint32_t address, host_block_t *block) {
  for (uint32_t i = 0; i < HOST_BLOCK_COUNT; i++) {
    const host_block_range_t *range = &host_ranges[i];
    if (address >= range->base && address - range->base < range->size) {
      *block = (host_block_t)i;
      return &host_memory[i][(address - range->base) / 4u];
    }
  }
  fprintf(stderr, "register access at 0x%08X: no block of the port lives there\n", address);
  abort();
}

void *host_reg_block(uint32_t address) {
  if (host_model != NULL && !host_in_model) {
    host_in_model = 1;
    host_model();
    host_in_model = 0;
  }
  host_block_t block;
  volatile uint32_t *word = host_find(address, &block);
  host_counts[block]++;
  return (void *)(uintptr_t)word;
}

volatile uint32_t *host_reg(uint32_t address) {
  host_block_t block;
  return host_find(address, &block);
}

void host_regs_set_model(void (*model)(void)) {
  host_model = model;
}

void host_regs_reset(void) {
  memset(host_memory, 0, sizeof host_memory);
  host_regs_clear_counts();
}

void host_regs_clear_counts(void) {
  memset(host_counts, 0, sizeof host_counts);
}

uint32_t host_reg_accesses(host_block_t block) {
  return host_counts[block];
}
