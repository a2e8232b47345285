/* sha512.h — SHA-512 (FIPS 180-4), streaming. */
#ifndef STM32DFU_SHA512_H
#define STM32DFU_SHA512_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t state[8];
  uint64_t length; /* bytes hashed so far */
  uint8_t block[128];
  uint32_t used;
} sha512_t;

void sha512_init(sha512_t *h);
void sha512_update(sha512_t *h, const uint8_t *data, size_t length);
void sha512_final(sha512_t *h, uint8_t digest[64]);

#endif /* STM32DFU_SHA512_H */
