/*
 * signature_vectors.h — reading packages/image-tools/fixtures/signature-vectors.txt, the
 * signed images and verdicts the C and TypeScript checks must agree on, for the host tests.
 */
#ifndef STM32DFU_SIGNATURE_VECTORS_H
#define STM32DFU_SIGNATURE_VECTORS_H

#include <stddef.h>
#include <stdint.h>

/* One named image of the vectors file. */
typedef struct {
  uint8_t bytes[4096];
  uint32_t length;
  uint32_t counter; /* the security counter it is signed with */
} vector_t;

/* sig_verdict_t by number, as the vectors name them. */
extern const char *const sig_verdict_names[10];

/* Hex digits to bytes, up to `room`, stopping at the end of the line; the count. */
size_t vectors_from_hex(const char *text, uint8_t *out, size_t room);

/* The image named `wanted` (a cmocka failure when there is none), and the vectors' test key
 * into `key`. */
void vectors_load(const char *wanted, vector_t *out, uint8_t key[32]);

#endif /* STM32DFU_SIGNATURE_VECTORS_H */
