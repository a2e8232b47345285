/* bench_phases.c — the measured phases (bench_phases.h). */
#include "bench_phases.h"

#include "ed25519_verify.h"
#include "sha256.h"

static const uint8_t bench_keys[1][32] = {BENCH_PUBLIC_KEY};

void bench_flash_read(uint32_t address, uint8_t *out, uint32_t length) {
  const volatile uint8_t *source = bench_flash_at(address);
  for (uint32_t i = 0; i < length; i++) {
    out[i] = source[i];
  }
}

__attribute__((noinline)) void bench_sha256(uint32_t address, uint32_t length, uint8_t digest[32]) {
  sha256_t h;
  sha256_init(&h);
  sha256_update(&h, bench_flash_at(address), length);
  sha256_final(&h, digest);
}

__attribute__((noinline)) bool bench_ed25519(uint32_t trailer_address) {
  const uint8_t *trailer = bench_flash_at(trailer_address);
  return ed25519_verify(trailer + SIG_SIGNED_LENGTH, trailer, SIG_SIGNED_LENGTH, bench_keys[0]);
}

__attribute__((noinline)) sig_verdict_t bench_check(uint32_t base) {
  uint32_t counter = 0;
  return sig_check_image(base, BENCH_REGION_SIZE, bench_keys, 1, BENCH_BOARD_WORD, &counter, bench_flash_read);
}
