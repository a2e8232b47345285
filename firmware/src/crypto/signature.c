/* signature.c — the signed-image check (signature.h), in the order the host's checkSignature
 * reports: trailer present, format, length, board, key, digest, signature. */
#include "signature.h"

#include <stddef.h>

#include "ed25519_verify.h"
#include "sha256.h"

#define STAMP_MAGIC_OFFSET 0x1Cu
#define STAMP_MAGIC 0x504D5453u
#define CHUNK 64u

static uint32_t u32_at(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint32_t first_word_of_sha256(const uint8_t *data, uint32_t length) {
  uint8_t digest[32];
  sha256_t h;
  sha256_init(&h);
  sha256_update(&h, data, length);
  sha256_final(&h, digest);
  return u32_at(digest);
}

uint32_t sig_board_word(const char *board_id) {
  uint32_t length = 0;
  while (board_id[length] != '\0') length++;
  return first_word_of_sha256((const uint8_t *)board_id, length);
}

sig_verdict_t sig_check_image(uint32_t base, uint32_t region_size, const uint8_t (*keys)[32],
                              uint32_t key_count, uint32_t board_id, uint32_t *security_counter,
                              sig_read_fn read) {
  uint8_t stamp[8];
  read(base + STAMP_MAGIC_OFFSET, stamp, sizeof stamp);
  const uint32_t length = u32_at(stamp + 4);
  if (u32_at(stamp) != STAMP_MAGIC || (length & 3u) != 0u || length > region_size ||
      region_size - length < SIG_TRAILER_LENGTH) {
    return SIG_MISSING;
  }
  uint8_t trailer[SIG_TRAILER_LENGTH];
  read(base + length, trailer, sizeof trailer);
  if (u32_at(trailer + offsetof(sig_trailer_t, magic)) != SIG_MAGIC) return SIG_MISSING;
  if (u32_at(trailer + offsetof(sig_trailer_t, format)) != SIG_FORMAT) return SIG_BAD_FORMAT;
  if (u32_at(trailer + offsetof(sig_trailer_t, image_length)) != length) return SIG_WRONG_LENGTH;
  if (u32_at(trailer + offsetof(sig_trailer_t, board_id)) != board_id) return SIG_WRONG_BOARD;
  const uint32_t key_id = u32_at(trailer + offsetof(sig_trailer_t, key_id));
  const uint8_t *key = NULL;
  for (uint32_t i = 0; i < key_count && key == NULL; i++) {
    if (first_word_of_sha256(keys[i], 32) == key_id) key = keys[i];
  }
  if (key == NULL) return SIG_UNKNOWN_KEY;
  /* The image as it is in flash, a chunk at a time. */
  sha256_t h;
  sha256_init(&h);
  uint8_t chunk[CHUNK];
  for (uint32_t done = 0; done < length;) {
    const uint32_t n = length - done < CHUNK ? length - done : CHUNK;
    read(base + done, chunk, n);
    sha256_update(&h, chunk, n);
    done += n;
  }
  uint8_t digest[32];
  sha256_final(&h, digest);
  uint8_t diff = 0;
  for (uint32_t i = 0; i < 32u; i++) diff |= (uint8_t)(digest[i] ^ trailer[offsetof(sig_trailer_t, digest) + i]);
  if (diff != 0u) return SIG_BAD_DIGEST;
  if (!ed25519_verify(trailer + SIG_SIGNED_LENGTH, trailer, SIG_SIGNED_LENGTH, key)) return SIG_BAD_SIGNATURE;
  if (security_counter != NULL) *security_counter = u32_at(trailer + offsetof(sig_trailer_t, security_counter));
  return SIG_VALID;
}
