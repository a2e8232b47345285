/*
 * signature.h — the bootloader's check of a signed application image (docs/signed-
 * firmware.md): a 128-byte trailer right after the stamped image, holding a signed block
 * (SHA-256 of the image, its length, version, security counter, board id, key id) and an
 * Ed25519 signature of that block. Mirrored in @stm32dfu/image-tools (signature.ts), both
 * checked against packages/image-tools/fixtures/signature-vectors.txt.
 */
#ifndef STM32DFU_SIGNATURE_H
#define STM32DFU_SIGNATURE_H

#include <stdint.h>

#define SIG_MAGIC 0x4E474953u /* "SIGN" */
#define SIG_FORMAT 1u
#define SIG_TRAILER_LENGTH 128u
#define SIG_SIGNED_LENGTH 64u /* the signature covers bytes 0-63 of the trailer */

/* The trailer's layout, all little-endian; the code reads it byte by byte at these offsets
 * (a flash copy need not be aligned), the struct documents them and the asserts hold the two
 * together. */
typedef struct {
  uint32_t magic;            /* +0   SIG_MAGIC */
  uint32_t format;           /* +4   SIG_FORMAT */
  uint32_t image_length;     /* +8   bytes the digest covers: the stamp's length */
  uint32_t version;          /* +12  as the stamp's: major << 24 | minor << 16 | patch */
  uint32_t security_counter; /* +16  anti-rollback: lower than the board's is refused */
  uint32_t board_id;         /* +20  first word of SHA-256 of the board id string */
  uint32_t key_id;           /* +24  first word of SHA-256 of the raw public key */
  uint8_t digest[32];        /* +28  SHA-256 of [base, base + image_length) */
  uint32_t reserved;         /* +60  zero */
  uint8_t signature[64];     /* +64  Ed25519 (R || S) of bytes 0-63 */
} sig_trailer_t;
_Static_assert(sizeof(sig_trailer_t) == SIG_TRAILER_LENGTH, "the trailer is 128 bytes");
_Static_assert(__builtin_offsetof(sig_trailer_t, digest) == 28u, "digest at +28");
_Static_assert(__builtin_offsetof(sig_trailer_t, signature) == SIG_SIGNED_LENGTH, "signature at +64");

typedef enum {
  SIG_VALID = 0,
  SIG_MISSING = 1,      /* no stamp, or no trailer magic after the stamped image */
  SIG_BAD_FORMAT = 2,   /* a trailer format this bootloader does not read */
  SIG_WRONG_LENGTH = 3, /* the trailer covers another length than the stamp */
  SIG_WRONG_BOARD = 4,  /* signed for another board */
  SIG_UNKNOWN_KEY = 5,  /* signed with a key the board does not hold */
  SIG_BAD_DIGEST = 6,   /* the image is not what was signed */
  SIG_BAD_SIGNATURE = 7,
  /* Given by the bootloader after a valid signature, against its anti-rollback counter: */
  SIG_ROLLED_BACK = 8,      /* the image's security counter is below the board's */
  SIG_COUNTER_TOO_HIGH = 9, /* above the highest counter the board can record */
} sig_verdict_t;

/* Check the image at `base` (the stamp's length from base + 0x1C, the trailer after it)
 * against `key_count` raw Ed25519 public keys and this board's id word, reading through
 * `read` (hal_flash_read, or the flash as it will be installed). On SIG_VALID, *security_counter (may be NULL) gets the image's counter. */
typedef void (*sig_read_fn)(uint32_t address, uint8_t *out, uint32_t length);
sig_verdict_t sig_check_image(uint32_t base, uint32_t region_size, const uint8_t (*keys)[32],
                              uint32_t key_count, uint32_t board_id, uint32_t *security_counter,
                              sig_read_fn read);

/* The board id word of a trailer: the first 4 bytes of SHA-256 of the board id, little-endian. */
uint32_t sig_board_word(const char *board_id);

#endif /* STM32DFU_SIGNATURE_H */
