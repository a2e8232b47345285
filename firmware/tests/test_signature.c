/* The bootloader's signed-image check (src/crypto/signature.c) on the vectors the host's
 * checkSignature is tested with (packages/image-tools/fixtures/signature-vectors.txt): the
 * same verdict for every image, read from the simulated flash as the bootloader reads it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hal.h"
#include "signature.h"
#include "signature_vectors.h"
#include "sim.h"

#ifndef STM32DFU_SIGNATURE_VECTORS
#error "STM32DFU_SIGNATURE_VECTORS (path of signature-vectors.txt) comes from tests/CMakeLists.txt"
#endif


static void test_vectors(void **state) {
  (void)state;
  FILE *f = fopen(STM32DFU_SIGNATURE_VECTORS, "r");
  assert_non_null(f);
  static char line[65536];
  static uint8_t image[32768];
  uint8_t key[1][32];
  uint32_t board_word = 0;
  unsigned checked = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    char kind[16], name[64], board[64], hexkey[80], verdict[32];
    unsigned base = 0, counter = 0;
    int consumed = 0;
    if (sscanf(line, "key %79s", hexkey) == 1) {
      assert_int_equal(vectors_from_hex(hexkey, key[0], 32), 32);
    } else if (sscanf(line, "board %63s %x", board, &board_word) == 2) {
      continue;
    } else if (sscanf(line, "%15s %63s %x %31s %u %n", kind, name, &base, verdict, &counter, &consumed) == 5 &&
               strcmp(kind, "signed") == 0) {
      sim_reset();
      const size_t length = vectors_from_hex(line + consumed, image, sizeof image);
      sim_flash_load(base, image, (uint32_t)length);
      uint32_t got_counter = 0;
      const sig_verdict_t got =
          sig_check_image(base, STM32DFU_APP_SIZE, (const uint8_t (*)[32])key, 1, board_word, &got_counter, hal_flash_read);
      if (strcmp(sig_verdict_names[got], verdict) != 0) fail_msg("%s: %s, the host says %s", name, sig_verdict_names[got], verdict);
      if (got == SIG_VALID) assert_int_equal(got_counter, counter);
      checked++;
    }
  }
  fclose(f);
  assert_true(checked >= 8u);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_vectors)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
