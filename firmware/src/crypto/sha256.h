/* sha256.h — SHA-256 (FIPS 180-4), streaming. */
#ifndef STM32DFU_SHA256_H
#define STM32DFU_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint32_t state[8];
  uint64_t length; /* bytes hashed so far */
  uint8_t block[64];
  uint32_t used;
} sha256_t;

void sha256_init(sha256_t *h);
void sha256_update(sha256_t *h, const uint8_t *data, size_t length);
void sha256_final(sha256_t *h, uint8_t digest[32]);

#endif /* STM32DFU_SHA256_H */
