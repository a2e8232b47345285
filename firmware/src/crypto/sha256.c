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

/* FIPS 180-4 §4.1.2. Written as shifts so that the compiler emits one ROR (or an operand
 * rotated for free, as in `eor r0, r1, r2, ror #6`) per rotation on the Cortex-M4. */
#define ROTR(x, n) (((x) >> (n)) | ((x) << (32u - (n))))
#define BIG_SIGMA0(x) (ROTR(x, 2) ^ ROTR(x, 13) ^ ROTR(x, 22))
#define BIG_SIGMA1(x) (ROTR(x, 6) ^ ROTR(x, 11) ^ ROTR(x, 25))
#define SMALL_SIGMA0(x) (ROTR(x, 7) ^ ROTR(x, 18) ^ ((x) >> 3))
#define SMALL_SIGMA1(x) (ROTR(x, 17) ^ ROTR(x, 19) ^ ((x) >> 10))

/* One round of §6.2.2 step 3 without moving the working variables: the caller passes them
 * rotated by one place each round, so only d and h are written (d += T1; h = T1 + T2).
 * Ch(e,f,g) = g ^ (e & (f ^ g)) and Maj(a,b,c) = (a & b) | (c & (a | b)), one operation
 * fewer each than the textbook forms. */
#define ROUND(a, b, c, d, e, f, g, h, i)                                              \
  do {                                                                                \
    const uint32_t t1 = (h) + BIG_SIGMA1(e) + ((g) ^ ((e) & ((f) ^ (g)))) + k[i] + w[i]; \
    (d) += t1;                                                                        \
    (h) = t1 + BIG_SIGMA0(a) + (((a) & (b)) | ((c) & ((a) | (b))));                   \
  } while (0)

/* One 64-byte block, big-endian words (§6.2.2). The byte-wise load compiles to LDR + REV on
 * the Cortex-M4 (unaligned loads allowed), and to the same on the host. The whole message
 * schedule is expanded first (256 bytes of stack) so that the rounds index it directly. The
 * rounds are unrolled by 8, the period after which the variables are back in place: it
 * removes the seven moves per round of a rolled loop and keeps a..h in registers, for about
 * 500 bytes more code than a rolled loop (docs/signature-cost.md). */
static void compress(uint32_t state[8], const uint8_t *block) {
  uint32_t schedule[64];
  for (unsigned i = 0; i < 16u; i++, block += 4) {
    schedule[i] = ((uint32_t)block[0] << 24) | ((uint32_t)block[1] << 16) | ((uint32_t)block[2] << 8) | block[3];
  }
  for (uint32_t *p = schedule + 16; p != schedule + 64; p++) {
    p[0] = SMALL_SIGMA1(p[-2]) + p[-7] + SMALL_SIGMA0(p[-15]) + p[-16];
  }
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
  const uint32_t *k = round_constants;
  for (const uint32_t *w = schedule; w != schedule + 64; w += 8, k += 8) {
    ROUND(a, b, c, d, e, f, g, h, 0);
    ROUND(h, a, b, c, d, e, f, g, 1);
    ROUND(g, h, a, b, c, d, e, f, 2);
    ROUND(f, g, h, a, b, c, d, e, 3);
    ROUND(e, f, g, h, a, b, c, d, 4);
    ROUND(d, e, f, g, h, a, b, c, 5);
    ROUND(c, d, e, f, g, h, a, b, 6);
    ROUND(b, c, d, e, f, g, h, a, 7);
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
  state[4] += e;
  state[5] += f;
  state[6] += g;
  state[7] += h;
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
    if (h->used == 0u && length >= 64u) { /* a whole block in the caller's buffer: no copy */
      compress(h->state, data);
      data += 64;
      length -= 64u;
      continue;
    }
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
