/*
 * mem.c — the four routines GCC may emit calls to even in freestanding code (struct copies,
 * zeroing), since the images link no C library. Weak, so a C library wins if one is linked.
 */
#include <stddef.h>
#include <stdint.h>

__attribute__((weak)) void *memcpy(void *destination, const void *source, size_t length) {
  uint8_t *out = destination;
  const uint8_t *in = source;
  while (length-- > 0u) {
    *out++ = *in++;
  }
  return destination;
}

__attribute__((weak)) void *memmove(void *destination, const void *source, size_t length) {
  uint8_t *out = destination;
  const uint8_t *in = source;
  if (out < in) {
    while (length-- > 0u) {
      *out++ = *in++;
    }
  } else {
    while (length-- > 0u) {
      out[length] = in[length];
    }
  }
  return destination;
}

__attribute__((weak)) void *memset(void *destination, int value, size_t length) {
  uint8_t *out = destination;
  while (length-- > 0u) {
    *out++ = (uint8_t)value;
  }
  return destination;
}

__attribute__((weak)) int memcmp(const void *left, const void *right, size_t length) {
  const uint8_t *a = left;
  const uint8_t *b = right;
  for (size_t i = 0; i < length; i++) {
    if (a[i] != b[i]) {
      return a[i] < b[i] ? -1 : 1;
    }
  }
  return 0;
}
