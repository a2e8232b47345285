/*
 * ed25519_verify.c — Ed25519 verification (RFC 8032 §5.1), written for size, not speed: the
 * field GF(2^255 - 19) in sixteen 16-bit limbs held in int64 (products and sums never
 * overflow), the complete addition law of §5.1.4 for every point operation, double-and-add
 * over both scalars at once, and no precomputed tables: the base point is decoded from its
 * encoding and the constants d and sqrt(-1) are computed when first needed. Nothing here is
 * secret, so variable time is fine.
 */
#include "ed25519_verify.h"

#include "sha512.h"

typedef int64_t fe[16]; /* value = sum of limb[i] * 2^(16 i), limbs not always reduced */

typedef struct {
  fe x, y, z, t; /* extended coordinates (§5.1.4): x = X/Z, y = Y/Z, x y = T/Z */
} point;

/* p = 2^255 - 19 in limbs. */
static const int64_t prime[16] = {0xffed, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
                                  0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0x7fff};

/* The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
static const uint8_t group_order[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

static void fe_set(fe o, int64_t v) {
  for (unsigned i = 0; i < 16u; i++) o[i] = 0;
  o[0] = v;
}

static void fe_copy(fe o, const fe a) {
  for (unsigned i = 0; i < 16u; i++) o[i] = a[i];
}

static void fe_add(fe o, const fe a, const fe b) {
  for (unsigned i = 0; i < 16u; i++) o[i] = a[i] + b[i];
}

static void fe_sub(fe o, const fe a, const fe b) {
  for (unsigned i = 0; i < 16u; i++) o[i] = a[i] - b[i];
}

/* Each limb into [0, 2^16), the carry out of the top limb folded back in: 2^256 = 38 (mod p).
 * Floor division keeps negative limbs right. */
static void fe_carry(fe o) {
  for (unsigned i = 0; i < 16u; i++) {
    const int64_t c = (o[i] >= 0 ? o[i] : o[i] - 65535) / 65536;
    o[i] -= c * 65536;
    if (i < 15u) o[i + 1u] += c;
    else o[0] += 38 * c;
  }
}

static void fe_mul(fe o, const fe a, const fe b) {
  int64_t t[31];
  for (unsigned i = 0; i < 31u; i++) t[i] = 0;
  for (unsigned i = 0; i < 16u; i++) {
    for (unsigned j = 0; j < 16u; j++) t[i + j] += a[i] * b[j];
  }
  for (unsigned i = 0; i < 15u; i++) t[i] += 38 * t[i + 16u]; /* 2^256 = 38 (mod p) */
  for (unsigned i = 0; i < 16u; i++) o[i] = t[i];
  fe_carry(o);
  fe_carry(o);
}

/* a^e for a 255-bit exponent given little-endian, square and multiply from the top bit. */
static void fe_pow(fe o, const fe a, const uint8_t e[32]) {
  fe r;
  fe_set(r, 1);
  for (int bit = 254; bit >= 0; bit--) {
    fe_mul(r, r, r);
    if ((e[bit / 8] >> (bit % 8)) & 1u) fe_mul(r, r, a);
  }
  fe_copy(o, r);
}

/* Exponents, little-endian: all 0xff bytes but the first and the last. */
static void exponent(uint8_t e[32], uint8_t low, uint8_t high) {
  for (unsigned i = 0; i < 32u; i++) e[i] = 0xff;
  e[0] = low;
  e[31] = high;
}

static void fe_invert(fe o, const fe a) {
  uint8_t e[32];
  exponent(e, 0xeb, 0x7f); /* p - 2 = 2^255 - 21 (Fermat) */
  fe_pow(o, a, e);
}

/* The canonical 32-byte encoding: fully reduced below p, little-endian (§5.1.2). */
static void fe_pack(uint8_t out[32], const fe a) {
  fe t;
  fe_copy(t, a);
  fe_carry(t);
  fe_carry(t);
  fe_carry(t);
  /* Now 0 <= t < 2^256 < 3p: subtract p while that does not go below zero. */
  for (unsigned round = 0; round < 2u; round++) {
    fe m;
    int64_t borrow = 0;
    for (unsigned i = 0; i < 16u; i++) {
      const int64_t v = t[i] - prime[i] - borrow;
      borrow = v < 0 ? 1 : 0;
      m[i] = v + borrow * 65536;
    }
    if (borrow == 0) fe_copy(t, m);
  }
  for (unsigned i = 0; i < 16u; i++) {
    out[2u * i] = (uint8_t)(t[i] & 0xff);
    out[2u * i + 1u] = (uint8_t)((t[i] >> 8) & 0xff);
  }
}

static void fe_unpack(fe o, const uint8_t in[32]) {
  for (unsigned i = 0; i < 16u; i++) o[i] = (int64_t)in[2u * i] | ((int64_t)in[2u * i + 1u] << 8);
  o[15] &= 0x7fff;
}

static bool fe_equal(const fe a, const fe b) {
  uint8_t x[32];
  uint8_t y[32];
  fe_pack(x, a);
  fe_pack(y, b);
  uint8_t diff = 0;
  for (unsigned i = 0; i < 32u; i++) diff |= (uint8_t)(x[i] ^ y[i]);
  return diff == 0u;
}

static unsigned fe_parity(const fe a) {
  uint8_t x[32];
  fe_pack(x, a);
  return x[0] & 1u;
}

/* d = -121665 / 121666 and 2d, the curve constant (§5.1). */
static void curve_d(fe d) {
  fe n;
  fe den;
  fe_set(n, -121665);
  fe_set(den, 121666);
  fe_invert(den, den);
  fe_mul(d, n, den);
}

/* §5.1.4, the complete twisted-Edwards addition (a = -1); doubling is p + p. */
static void point_add(point *r, const point *p, const point *q, const fe d2) {
  fe a, b, c, d, e, f, g, h, t;
  fe_sub(a, p->y, p->x);
  fe_sub(t, q->y, q->x);
  fe_mul(a, a, t);
  fe_add(b, p->y, p->x);
  fe_add(t, q->y, q->x);
  fe_mul(b, b, t);
  fe_mul(c, p->t, q->t);
  fe_mul(c, c, d2);
  fe_mul(d, p->z, q->z);
  fe_add(d, d, d);
  fe_sub(e, b, a);
  fe_sub(f, d, c);
  fe_add(g, d, c);
  fe_add(h, b, a);
  fe_mul(r->x, e, f);
  fe_mul(r->y, g, h);
  fe_mul(r->t, e, h);
  fe_mul(r->z, f, g);
}

/* §5.1.3: a point from its encoding; false for a y >= p or an x that does not exist. */
static bool point_decode(point *p, const uint8_t in[32], const fe d) {
  uint8_t canonical[32];
  const unsigned sign = in[31] >> 7;
  fe_unpack(p->y, in);
  fe_pack(canonical, p->y);
  for (unsigned i = 0; i < 32u; i++) {
    if (canonical[i] != (i == 31u ? (in[31] & 0x7fu) : in[i])) return false;
  }
  fe one, u, v, v3, x, check;
  fe_set(one, 1);
  fe_mul(u, p->y, p->y);
  fe_mul(v, u, d);
  fe_sub(u, u, one); /* u = y^2 - 1 */
  fe_add(v, v, one); /* v = d y^2 + 1 */
  /* x = u v^3 (u v^7)^((p - 5) / 8) */
  fe_mul(v3, v, v);
  fe_mul(v3, v3, v);
  fe_mul(x, v3, v3);
  fe_mul(x, x, v);
  fe_mul(x, x, u);
  uint8_t e[32];
  exponent(e, 0xfd, 0x0f); /* (p - 5) / 8 = 2^252 - 3 */
  fe_pow(x, x, e);
  fe_mul(x, x, v3);
  fe_mul(x, x, u);
  fe_mul(check, x, x);
  fe_mul(check, check, v);
  if (!fe_equal(check, u)) {
    fe minus_u;
    fe_set(minus_u, 0);
    fe_sub(minus_u, minus_u, u);
    if (!fe_equal(check, minus_u)) return false;
    fe root;
    exponent(e, 0xfb, 0x1f); /* sqrt(-1) = 2^((p - 1) / 4), (p - 1) / 4 = 2^253 - 5 */
    fe two;
    fe_set(two, 2);
    fe_pow(root, two, e);
    fe_mul(x, x, root);
  }
  fe zero;
  fe_set(zero, 0);
  if (fe_equal(x, zero) && sign == 1u) return false;
  if (fe_parity(x) != sign) fe_sub(x, zero, x);
  fe_copy(p->x, x);
  fe_set(p->z, 1);
  fe_mul(p->t, p->x, p->y);
  return true;
}

static void point_encode(uint8_t out[32], const point *p) {
  fe zi, x, y;
  fe_invert(zi, p->z);
  fe_mul(x, p->x, zi);
  fe_mul(y, p->y, zi);
  fe_pack(out, y);
  out[31] |= (uint8_t)(fe_parity(x) << 7);
}

/* S < L, comparing the little-endian numbers from the top byte down (§5.1.7 step 1). */
static bool scalar_below_order(const uint8_t s[32]) {
  for (int i = 31; i >= 0; i--) {
    if (s[i] != group_order[i]) return s[i] < group_order[i];
  }
  return false;
}

/* A 512-bit little-endian number mod L, by shift-and-subtract from the top bit. */
static void reduce_mod_order(uint8_t out[32], const uint8_t in[64]) {
  uint8_t r[33] = {0};
  for (int bit = 511; bit >= 0; bit--) {
    unsigned carry = (in[bit / 8] >> (bit % 8)) & 1u;
    for (unsigned i = 0; i < 33u; i++) {
      const unsigned v = ((unsigned)r[i] << 1) | carry;
      r[i] = (uint8_t)v;
      carry = v >> 8;
    }
    /* r < 2L before the shift's bit came in, so one subtraction brings it below L. */
    int geq = 1;
    for (int i = 32; i >= 0; i--) {
      const unsigned li = i < 32 ? group_order[i] : 0u;
      if (r[i] != li) {
        geq = r[i] > li;
        break;
      }
    }
    if (geq) {
      int borrow = 0;
      for (unsigned i = 0; i < 33u; i++) {
        const int v = (int)r[i] - (int)(i < 32u ? group_order[i] : 0u) - borrow;
        borrow = v < 0;
        r[i] = (uint8_t)(v + borrow * 256);
      }
    }
  }
  for (unsigned i = 0; i < 32u; i++) out[i] = r[i];
}

bool ed25519_verify(const uint8_t signature[64], const uint8_t *message, size_t length,
                    const uint8_t public_key[32]) {
  static const uint8_t base_encoding[32] = {
      0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
      0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
  }; /* B: y = 4/5, x even (§5.1) */
  if (!scalar_below_order(signature + 32)) return false;
  fe d, d2;
  curve_d(d);
  fe_add(d2, d, d);
  point a, b;
  if (!point_decode(&a, public_key, d) || !point_decode(&b, base_encoding, d)) return false;

  /* k = SHA-512(R || A || M) mod L (§5.1.7 step 2). */
  uint8_t digest[64];
  uint8_t k[32];
  sha512_t h;
  sha512_init(&h);
  sha512_update(&h, signature, 32);
  sha512_update(&h, public_key, 32);
  sha512_update(&h, message, length);
  sha512_final(&h, digest);
  reduce_mod_order(k, digest);

  /* [S]B + [k](-A), which equals R when [S]B = R + [k]A (step 3). */
  fe zero;
  fe_set(zero, 0);
  fe_sub(a.x, zero, a.x);
  fe_sub(a.t, zero, a.t);
  point r;
  fe_set(r.x, 0);
  fe_set(r.y, 1);
  fe_set(r.z, 1);
  fe_set(r.t, 0);
  const uint8_t *s = signature + 32;
  for (int bit = 255; bit >= 0; bit--) {
    point_add(&r, &r, &r, d2);
    if ((s[bit / 8] >> (bit % 8)) & 1u) point_add(&r, &r, &b, d2);
    if ((k[bit / 8] >> (bit % 8)) & 1u) point_add(&r, &r, &a, d2);
  }
  uint8_t encoded[32];
  point_encode(encoded, &r);
  uint8_t diff = 0;
  for (unsigned i = 0; i < 32u; i++) diff |= (uint8_t)(encoded[i] ^ signature[i]);
  return diff == 0u;
}
