/*
 * host_regs.h — force-included (cc -include) when tests/run.sh compiles the port's drivers
 * for the host. It supplies the two override hooks of stm32f4_regs.h:
 *
 *   STM32F4_REG_BLOCK(type, address)  the block at a chip address becomes a block of host
 *                                     RAM (host_regs.c), and every use is counted per block;
 *   STM32F4_DSB()                     a compiler barrier instead of the Cortex-M DSB.
 *
 * RAM keeps whatever was last written. A register with hardware behaviour (a self-clearing
 * bit, a write-1-to-clear flag, a flag the peripheral sets) is modelled by the test's model
 * function (host_regs_set_model), which runs before every counted access: it sees each
 * write the driver made by the driver's next register access, as the peripheral would have
 * acted on it by then.
 */
#ifndef STM32DFU_HOST_REGS_H
#define STM32DFU_HOST_REGS_H

#include <stdint.h>

typedef enum {
  HOST_RCC,
  HOST_CRC,
  HOST_PWR,
  HOST_FLASH,
  HOST_IWDG,
  HOST_GPIO,
  HOST_USART1,
  HOST_SCB,
  HOST_SYSTICK,
  HOST_NVIC,
  HOST_OTG_FS,
  HOST_BLOCK_COUNT,
} host_block_t;

/* The RAM standing for the register at `address` (counted as one access of its block).
 * An address outside every block the port uses aborts the test program. */
void *host_reg_block(uint32_t address);

/* The same word, for a test to set up or inspect the model: not counted. */
volatile uint32_t *host_reg(uint32_t address);

/* The test's model of the hardware, run before every counted access (NULL: none). */
void host_regs_set_model(void (*model)(void));

/* Every block back to zero and every count to zero; the model is kept. */
void host_regs_reset(void);
/* Counts to zero, contents kept. */
void host_regs_clear_counts(void);
/* How many register accesses went to `block` since the last reset or clear. */
uint32_t host_reg_accesses(host_block_t block);

#define STM32F4_REG_BLOCK(type, address) ((type *)host_reg_block((uint32_t)(address)))
#define STM32F4_DSB() __asm__ volatile("" ::: "memory")

#endif /* STM32DFU_HOST_REGS_H */
