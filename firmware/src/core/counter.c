/*
 * counter.c — the anti-rollback security counter (docs/signed-firmware.md), kept in the
 * last STM32DFU_COUNTER_OTP_SIZE bytes of the chip's one-time-programmable area. OTP bits
 * are only ever cleared, so the counter is a thermometer: step n is bit (n - 1) % 8 of byte
 * (n - 1) / 8 cleared, least significant bit first, and the value is the number of cleared
 * bits before the first set one. Nothing — the application included — can lower it; an
 * advance cut short by a power loss leaves a value between the old and the new one.
 */
#include "bl_internal.h"

#if defined(STM32DFU_SIGNING) && defined(STM32DFU_COUNTER_OTP_SIZE)

_Static_assert(STM32DFU_COUNTER_OTP_OFFSET + STM32DFU_COUNTER_OTP_SIZE <= STM32DFU_OTP_SIZE,
               "the counter lies inside the OTP area");

uint32_t counter_capacity(void) { return STM32DFU_COUNTER_OTP_SIZE * 8u; }

uint32_t counter_read(void) {
  uint8_t bytes[STM32DFU_COUNTER_OTP_SIZE];
  hal_otp_read(STM32DFU_COUNTER_OTP_OFFSET, bytes, sizeof bytes);
  uint32_t steps = 0;
  for (uint32_t i = 0; i < sizeof bytes; i++) {
    for (uint32_t bit = 0; bit < 8u; bit++, steps++) {
      if ((bytes[i] >> bit) & 1u) return steps;
    }
  }
  return steps;
}

uint8_t counter_advance(uint32_t to) {
  if (to > counter_capacity()) return errTARGET;
  uint8_t bytes[STM32DFU_COUNTER_OTP_SIZE];
  hal_otp_read(STM32DFU_COUNTER_OTP_OFFSET, bytes, sizeof bytes);
  /* Byte by byte, lowest first, so a power cut leaves a thermometer. */
  for (uint32_t i = 0; i < sizeof bytes && i * 8u < to; i++) {
    const uint32_t cleared = to - i * 8u >= 8u ? 8u : to - i * 8u;
    const uint8_t want = (uint8_t)(bytes[i] & (uint8_t)(0xFFu << cleared));
    if (want != bytes[i]) (void)hal_otp_program(STM32DFU_COUNTER_OTP_OFFSET + i, want);
  }
  return counter_read() >= to ? OK : errPROG;
}

#else

uint32_t counter_capacity(void) { return 0u; }
uint32_t counter_read(void) { return 0u; }
uint8_t counter_advance(uint32_t to) { return to == 0u ? OK : errTARGET; }

#endif
