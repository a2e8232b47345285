/* ed25519_check — the bootloader's Ed25519 verification, SHA-512 and SHA-256 on the host, for the
 * differential tests against OpenSSL (conformance/test/ed25519.test.ts). One request per
 * stdin line, one answer per stdout line:
 *   verify <public key hex> <signature hex> <message hex>   ->  1 or 0
 *   sha512 <message hex>                                     ->  the digest, hex
 *   sha256 <message hex>                                     ->  the digest, hex          */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ed25519_verify.h"
#include "sha256.h"
#include "sha512.h"

static size_t from_hex(const char *text, uint8_t *out, size_t room) {
  size_t n = 0;
  while (text[0] != '\0' && text[1] != '\0' && n < room) {
    unsigned v = 0;
    if (sscanf(text, "%2x", &v) != 1) break;
    out[n++] = (uint8_t)v;
    text += 2;
  }
  return n;
}

int main(void) {
  static char line[1 << 20];
  static uint8_t message[1 << 19];
  while (fgets(line, sizeof line, stdin) != NULL) {
    line[strcspn(line, "\r\n")] = '\0';
    char *op = strtok(line, " ");
    if (op == NULL) continue;
    if (strcmp(op, "verify") == 0) {
      const char *key = strtok(NULL, " ");
      const char *sig = strtok(NULL, " ");
      const char *msg = strtok(NULL, " ");
      uint8_t k[32] = {0};
      uint8_t s[64] = {0};
      const size_t nk = key ? from_hex(key, k, sizeof k) : 0;
      const size_t ns = sig ? from_hex(sig, s, sizeof s) : 0;
      const size_t nm = msg ? from_hex(msg, message, sizeof message) : 0;
      /* A key or signature of the wrong length is refused, as a caller of the C API could
       * not even pass one. */
      printf("%d\n", nk == 32 && ns == 64 && ed25519_verify(s, message, nm, k) ? 1 : 0);
    } else if (strcmp(op, "sha512") == 0) {
      const char *msg = strtok(NULL, " ");
      const size_t nm = msg ? from_hex(msg, message, sizeof message) : 0;
      uint8_t digest[64];
      sha512_t h;
      sha512_init(&h);
      sha512_update(&h, message, nm);
      sha512_final(&h, digest);
      for (unsigned i = 0; i < 64u; i++) printf("%02x", digest[i]);
      printf("\n");
    } else if (strcmp(op, "sha256") == 0) {
      const char *msg = strtok(NULL, " ");
      const size_t nm = msg ? from_hex(msg, message, sizeof message) : 0;
      uint8_t digest[32];
      sha256_t h;
      sha256_init(&h);
      sha256_update(&h, message, nm);
      sha256_final(&h, digest);
      for (unsigned i = 0; i < 32u; i++) printf("%02x", digest[i]);
      printf("\n");
    } else {
      printf("?\n");
    }
    fflush(stdout);
  }
  return 0;
}
