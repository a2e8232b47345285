/* signature_vectors.c — see signature_vectors.h. */
#include "signature_vectors.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#ifndef STM32DFU_SIGNATURE_VECTORS
#error "STM32DFU_SIGNATURE_VECTORS (path of signature-vectors.txt) comes from tests/CMakeLists.txt"
#endif

const char *const sig_verdict_names[10] = {"valid",       "missing",     "bad-format", "wrong-length",
                                           "wrong-board", "unknown-key", "bad-digest", "bad-signature",
                                           "rolled-back", "counter-too-high"};

size_t vectors_from_hex(const char *text, uint8_t *out, size_t room) {
  size_t n = 0;
  while (text[0] != '\0' && text[1] != '\0' && text[0] != '\n' && n < room) {
    unsigned v = 0;
    if (sscanf(text, "%2x", &v) != 1) break;
    out[n++] = (uint8_t)v;
    text += 2;
  }
  return n;
}

void vectors_load(const char *wanted, vector_t *out, uint8_t key[32]) {
  FILE *f = fopen(STM32DFU_SIGNATURE_VECTORS, "r");
  assert_non_null(f);
  static char line[65536];
  bool found = false;
  while (fgets(line, sizeof line, f) != NULL) {
    char name[64], verdict[32], hexkey[80];
    unsigned base = 0, counter = 0;
    int consumed = 0;
    if (sscanf(line, "key %79s", hexkey) == 1) {
      assert_int_equal(vectors_from_hex(hexkey, key, 32), 32);
    } else if (sscanf(line, "signed %63s %x %31s %u %n", name, &base, verdict, &counter, &consumed) == 4 &&
               strcmp(name, wanted) == 0) {
      out->length = (uint32_t)vectors_from_hex(line + consumed, out->bytes, sizeof out->bytes);
      out->counter = counter;
      found = true;
    }
  }
  fclose(f);
  if (!found) fail_msg("no vector %s in %s", wanted, STM32DFU_SIGNATURE_VECTORS);
}
