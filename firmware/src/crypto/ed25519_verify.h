/*
 * ed25519_verify.h — Ed25519 signature verification (RFC 8032 §5.1.7), verify only: no
 * secrets, no precomputed tables, for the bootloader's small partition.
 */
#ifndef STM32DFU_ED25519_VERIFY_H
#define STM32DFU_ED25519_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when `signature` (R || S, 64 bytes) is a valid Ed25519 signature of `message` by
 * `public_key` (32 bytes): A and R decode to curve points (canonical y, §5.1.3), S < L
 * (§5.1.7 step 1), and [S]B = R + [k]A with k = SHA-512(R || A || M) mod L, checked by
 * comparing the encoding of [S]B - [k]A with R's bytes. Variable time: nothing secret. */
bool ed25519_verify(const uint8_t signature[64], const uint8_t *message, size_t length,
                    const uint8_t public_key[32]);

#endif /* STM32DFU_ED25519_VERIFY_H */
