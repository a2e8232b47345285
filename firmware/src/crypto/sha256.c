/* sha256.c — SHA-256 (FIPS 180-4 §6.2): the digest of a signed application image. */
#include "sha256.h"

/* FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the
 * first 64 primes. */
static const uint32_t round_constants[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

static uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32u - n)); }

static void compress(uint32_t state[8], const uint8_t block[64]) {
  uint32_t w[16];
  uint32_t v[8];
  for (unsigned i = 0; i < 16u; i++) {
    w[i] = ((uint32_t)block[4u * i] << 24) | ((uint32_t)block[4u * i + 1u] << 16) |
           ((uint32_t)block[4u * i + 2u] << 8) | block[4u * i + 3u];
  }
  for (unsigned i = 0; i < 8u; i++) v[i] = state[i];
  for (unsigned t = 0; t < 64u; t++) {
    if (t >= 16u) { /* the message schedule in a 16-word ring (§6.2.2 step 1) */
      const uint32_t w15 = w[(t - 15u) & 15u];
      const uint32_t w2 = w[(t - 2u) & 15u];
      w[t & 15u] += (rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3)) + (rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10)) +
                    w[(t - 7u) & 15u];
    }
    const uint32_t e = v[4];
    const uint32_t a = v[0];
    const uint32_t t1 = v[7] + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & v[5]) ^ (~e & v[6])) +
                        round_constants[t] + w[t & 15u];
    const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & v[1]) ^ (a & v[2]) ^ (v[1] & v[2]));
    for (unsigned i = 7; i > 0; i--) v[i] = v[i - 1u];
    v[4] += t1;
    v[0] = t1 + t2;
  }
  for (unsigned i = 0; i < 8u; i++) state[i] += v[i];
}

void sha256_init(sha256_t *h) {
  /* §5.3.3: the first 32 bits of the fractional parts of the square roots of the first 8 primes. */
  static const uint32_t initial[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                      0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
  for (unsigned i = 0; i < 8u; i++) h->state[i] = initial[i];
  h->length = 0;
  h->used = 0;
}

void sha256_update(sha256_t *h, const uint8_t *data, size_t length) {
  h->length += length;
  while (length > 0u) {
    h->block[h->used++] = *data++;
    length--;
    if (h->used == 64u) {
      compress(h->state, h->block);
      h->used = 0;
    }
  }
}

void sha256_final(sha256_t *h, uint8_t digest[32]) {
  /* §5.1.1: a 1 bit, zeros, then the length in bits as a 64-bit big-endian number. */
  const uint64_t bits = h->length * 8u;
  uint8_t pad = 0x80;
  sha256_update(h, &pad, 1);
  pad = 0;
  while (h->used != 56u) sha256_update(h, &pad, 1);
  uint8_t tail[8];
  for (unsigned i = 0; i < 8u; i++) tail[7u - i] = (uint8_t)(bits >> (8u * i));
  sha256_update(h, tail, 8);
  for (unsigned i = 0; i < 32u; i++) digest[i] = (uint8_t)(h->state[i / 4u] >> (24u - 8u * (i % 4u)));
}
