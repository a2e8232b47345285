/*
 * semihosting.c — the two Arm semihosting calls the emulated board's tests use
 * ("Semihosting for AArch32 and AArch64", SYS_EXIT 0x18 and SYS_GET_CMDLINE 0x15).
 * Only emulated boards call these: on a chip without a debugger `bkpt` faults.
 */
#include "port.h"

#define SEMIHOSTING_SYS_GET_CMDLINE 0x15u
#define SEMIHOSTING_SYS_EXIT 0x18u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define ADP_STOPPED_RUN_TIME_ERROR 0x20023u

static uint32_t semihosting_call(uint32_t operation, uint32_t argument) {
  register uint32_t r0 __asm__("r0") = operation;
  register uint32_t r1 __asm__("r1") = argument;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void semihosting_exit(bool success) {
  /* AArch32 SYS_EXIT takes the reason code itself in r1, not a parameter block. */
  (void)semihosting_call(SEMIHOSTING_SYS_EXIT, success ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUN_TIME_ERROR);
  for (;;) {
  }
}

bool semihosting_command_line(char *out, uint32_t size) {
  if (size == 0u) {
    return false;
  }
  volatile uint32_t block[2] = {(uint32_t)(uintptr_t)out, size};
  out[0] = '\0';
  if (semihosting_call(SEMIHOSTING_SYS_GET_CMDLINE, (uint32_t)(uintptr_t)block) != 0u) {
    return false;
  }
  out[size - 1u] = '\0';
  return true;
}
