/*
 * libc.c — the few C library functions clang may emit calls to on its own.
 *
 * The core links against no libc, but at -O2 clang turns byte loops (bl_memcpy, struct
 * copies, zero-initialised arrays) into calls to memcpy/memset, and wasm32 without the
 * bulk-memory feature has no instruction for them. `no_builtin` keeps clang from turning
 * these very loops back into calls to themselves.
 */
#include <stddef.h>
#include <stdint.h>

__attribute__((no_builtin)) void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
  uint8_t *d = dst;
  const uint8_t *s = src;
  while (n-- > 0u) *d++ = *s++;
  return dst;
}

__attribute__((no_builtin)) void *memmove(void *dst, const void *src, size_t n) {
  uint8_t *d = dst;
  const uint8_t *s = src;
  if (d < s) {
    while (n-- > 0u) *d++ = *s++;
  } else {
    while (n-- > 0u) d[n] = s[n];
  }
  return dst;
}

__attribute__((no_builtin)) void *memset(void *dst, int value, size_t n) {
  uint8_t *d = dst;
  while (n-- > 0u) *d++ = (uint8_t)value;
  return dst;
}

__attribute__((no_builtin)) int memcmp(const void *a, const void *b, size_t n) {
  const uint8_t *x = a;
  const uint8_t *y = b;
  for (size_t i = 0; i < n; i++) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}
