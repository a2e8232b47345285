/*
 * boot_request.c — the boot-request word (contract 5): magic at +0, complement at +4, in
 * the NOINIT region that startup code never touches, so it survives a system reset.
 * The linker script places `.noinit` at STM32DFU_BOOT_REQUEST_ADDR and asserts it.
 */
#include "port.h"

__attribute__((section(".noinit"), used)) volatile uint32_t port_boot_request[STM32DFU_NOINIT_SIZE / 4u];
_Static_assert(STM32DFU_NOINIT_SIZE >= 8u, "the boot-request word needs two words");
_Static_assert(STM32DFU_BOOT_REQUEST_ADDR == STM32DFU_NOINIT_BASE, "request word opens the NOINIT region");

void hal_boot_request_read(uint32_t *magic, uint32_t *check) {
  *magic = port_boot_request[0];
  *check = port_boot_request[1];
}

void hal_boot_request_write(uint32_t magic, uint32_t check) {
  port_boot_request[0] = magic;
  port_boot_request[1] = check;
  /* The next thing is often a reset: make sure the stores have left the core. */
  __asm__ volatile("dsb" ::: "memory");
}
