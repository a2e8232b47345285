/*
 * bench_host.c — the signature benchmark's phases compiled for the host, to be counted by
 * valgrind's callgrind (run.sh). Each phase is its own function so callgrind's inclusive
 * count of it is that phase's host instructions; host instructions are x86-64 (or whatever
 * the host is) instructions, not Cortex-M4 cycles.
 *
 *   bench_host <small.bin> <large.bin>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_phases.h"

static uint8_t *small_image;
static uint8_t *large_image;

const uint8_t *bench_flash_at(uint32_t address) {
  if (address >= BENCH_SMALL_BASE) return small_image + (address - BENCH_SMALL_BASE);
  return large_image + (address - BENCH_LARGE_BASE);
}

static uint8_t *load(const char *path, long expected) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "bench_host: cannot open %s\n", path);
    exit(1);
  }
  uint8_t *bytes = malloc((size_t)expected);
  const size_t got = bytes == NULL ? 0u : fread(bytes, 1, (size_t)expected, f);
  fclose(f);
  if (got != (size_t)expected) {
    fprintf(stderr, "bench_host: %s has %zu bytes, expected %ld\n", path, got, expected);
    exit(1);
  }
  return bytes;
}

/* One function per measured phase: callgrind reports each by name. */
static uint8_t digest[32];
__attribute__((noinline)) static void phase_sha256_small(void) { bench_sha256(BENCH_SMALL_BASE, BENCH_SMALL_LENGTH, digest); }
__attribute__((noinline)) static void phase_sha256_large(void) { bench_sha256(BENCH_LARGE_BASE, BENCH_LARGE_LENGTH, digest); }
__attribute__((noinline)) static bool phase_ed25519_small(void) { return bench_ed25519(BENCH_SMALL_BASE + BENCH_SMALL_LENGTH); }
__attribute__((noinline)) static bool phase_ed25519_large(void) { return bench_ed25519(BENCH_LARGE_BASE + BENCH_LARGE_LENGTH); }
__attribute__((noinline)) static sig_verdict_t phase_check_small(void) { return bench_check(BENCH_SMALL_BASE); }
__attribute__((noinline)) static sig_verdict_t phase_check_large(void) { return bench_check(BENCH_LARGE_BASE); }

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: bench_host <small.bin> <large.bin>\n");
    return 2;
  }
  small_image = load(argv[1], (long)BENCH_SMALL_LENGTH + SIG_TRAILER_LENGTH);
  large_image = load(argv[2], (long)BENCH_LARGE_LENGTH + SIG_TRAILER_LENGTH);
  int ok = 1;
  phase_sha256_small();
  ok &= memcmp(digest, small_image + BENCH_SMALL_LENGTH + 28u, 32) == 0;
  phase_sha256_large();
  ok &= memcmp(digest, large_image + BENCH_LARGE_LENGTH + 28u, 32) == 0;
  ok &= phase_ed25519_small();
  ok &= phase_ed25519_large();
  ok &= phase_check_small() == SIG_VALID;
  ok &= phase_check_large() == SIG_VALID;
  printf(ok ? "result ok\n" : "result FAILED: a digest or signature did not check\n");
  return ok ? 0 : 1;
}
