/* A board that requires signatures (docs/signed-firmware.md), on the shared vectors
 * (packages/image-tools/fixtures/signature-vectors.txt): a signed image installs and boots;
 * unsigned, foreign-key and altered images are refused at manifestation with errFIRMWARE and
 * never become bootable; the magic word is withheld on every other path that writes the first
 * block (ABORT), yet reads back as sent; an installed image is made unbootable before any of
 * its sectors changes, since its CRC alone can be forged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dfu_host.h"
#include "signature_vectors.h"

#ifndef STM32DFU_SIGNATURE_VECTORS
#error "STM32DFU_SIGNATURE_VECTORS comes from tests/CMakeLists.txt"
#endif

static uint8_t key[1][32];
static bl_profile_t profile;

/* The named image from the vectors file (and the board's key, read on the way). */
static void load(const char *wanted, vector_t *out) { vectors_load(wanted, out, key[0]); }

static void signed_board(void) {
  profile = bl_profile_stm32dfu;
  profile.signing_required = true;
  profile.signing_keys = (const uint8_t (*)[32])key;
  profile.signing_key_count = 1;
  host_attach(&profile, 0);
}

static boot_verdict_t power_on(void) {
  sim.request_magic = 0;
  sim.request_check = 0;
  return boot_decide();
}

static uint8_t report_verdict(void) {
  uint8_t reply[20];
  uint16_t got = 0;
  assert_true(host_request_out(ABORT, 0));
  assert_true(host_upload(1, sizeof reply, reply, &got));
  return reply[17];
}

static void test_signed_image_installs_and_boots(void **state) {
  (void)state;
  static vector_t v;
  load("valid", &v);
  signed_board();
  const dfu_status_t s = host_download(STM32DFU_APP_BASE, v.bytes, v.length);
  assert_int_equal(s.status, ST_OK);
  assert_int_equal(s.state, S_dfuIDLE);
  assert_memory_equal(sim_flash_at(STM32DFU_APP_BASE), v.bytes, v.length);
  assert_int_equal(power_on(), BOOT_JUMP);
  assert_int_equal(report_verdict(), 1u); /* SIG_VALID + 1 */
}

static void refused(const char *name, uint8_t verdict_plus_one) {
  static vector_t v;
  load(name, &v);
  signed_board();
  const dfu_status_t s = host_download(STM32DFU_APP_BASE, v.bytes, v.length);
  if (s.status != ST_errFIRMWARE) fail_msg("%s: status %u, want errFIRMWARE", name, s.status);
  /* Everything but the magic word is in flash; without it nothing boots. */
  assert_int_equal(*(const uint32_t *)(const void *)sim_flash_at(STM32DFU_APP_BASE + 0x1Cu), 0xFFFFFFFFu);
  if (power_on() == BOOT_JUMP) fail_msg("%s: the refused image boots", name);
  assert_true(host_request_out(CLRSTATUS, 0));
  assert_int_equal(report_verdict(), verdict_plus_one);
}

static void test_unsigned_and_altered_images_are_refused(void **state) {
  (void)state;
  refused("unsigned", 2u);          /* SIG_MISSING + 1 */
  refused("other-key", 6u);         /* SIG_UNKNOWN_KEY + 1 */
  refused("image-changed", 7u);     /* SIG_BAD_DIGEST + 1 */
  refused("signature-changed", 8u); /* SIG_BAD_SIGNATURE + 1 */
  refused("other-board", 5u);       /* SIG_WRONG_BOARD + 1 */
}

/* dfu-util without :leave ends with ABORT: the first block goes to flash but its magic word
 * waits for a manifestation that checks the signature; read back, it is what was sent. */
static void test_abort_withholds_the_magic_word_until_the_signature_checks(void **state) {
  (void)state;
  static vector_t v;
  load("valid", &v);
  signed_board();
  assert_int_equal(host_erase(STM32DFU_APP_BASE).status, ST_OK);
  assert_int_equal(host_set_address(STM32DFU_APP_BASE).status, ST_OK);
  assert_int_equal(host_write(2, v.bytes, (uint16_t)v.length, NULL).status, ST_OK);
  assert_true(host_request_out(ABORT, 0));
  assert_int_equal(*(const uint32_t *)(const void *)sim_flash_at(STM32DFU_APP_BASE + 0x1Cu), 0xFFFFFFFFu);
  uint8_t back[64];
  uint16_t got = 0;
  assert_int_equal(host_set_address(STM32DFU_APP_BASE).status, ST_OK);
  assert_true(host_request_out(ABORT, 0));
  assert_true(host_upload(2, sizeof back, back, &got));
  assert_memory_equal(back, v.bytes, sizeof back); /* the magic word included */
  /* ... and the leave that follows checks the signature and writes it. */
  assert_true(host_request_out(ABORT, 0));
  assert_int_equal(host_set_address(STM32DFU_APP_BASE).status, ST_OK);
  assert_int_equal(host_manifest().status, ST_OK);
  assert_memory_equal(sim_flash_at(STM32DFU_APP_BASE), v.bytes, v.length);
  assert_int_equal(power_on(), BOOT_JUMP);
}

/* An installed signed image, then a host that leaves its first sector alone and erases
 * another: the magic word is zeroed first, so forged code in that sector can never boot. */
static void test_an_installed_image_is_revoked_before_its_sectors_change(void **state) {
  (void)state;
  static vector_t v;
  load("valid", &v);
  signed_board();
  assert_int_equal(host_download(STM32DFU_APP_BASE, v.bytes, v.length).status, ST_OK);
  assert_int_equal(power_on(), BOOT_JUMP);
  host_attach(&profile, 0); /* a new session (sim_reset clears flash: reload the image) */
  sim_flash_load(STM32DFU_APP_BASE, v.bytes, v.length);
  assert_int_equal(power_on(), BOOT_JUMP);
  assert_int_equal(host_erase(STM32DFU_APP_BASE + 0x4000u).status, ST_OK); /* sector 3 */
  assert_int_equal(*(const uint32_t *)(const void *)sim_flash_at(STM32DFU_APP_BASE + 0x1Cu), 0u);
  assert_int_equal(power_on(), BOOT_STAY_BAD_STAMP);
}

/* The same board without the requirement behaves as before: no withholding, no revocation. */
static void test_an_unsigned_board_is_unchanged(void **state) {
  (void)state;
  static vector_t v;
  load("unsigned", &v);
  host_attach(&bl_profile_stm32dfu, 0);
  assert_int_equal(host_download(STM32DFU_APP_BASE, v.bytes, v.length).status, ST_OK);
  assert_int_equal(power_on(), BOOT_JUMP);
  assert_int_equal(host_erase(STM32DFU_APP_BASE + 0x4000u).status, ST_OK);
  assert_int_equal(power_on(), BOOT_JUMP);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_signed_image_installs_and_boots),
      cmocka_unit_test(test_unsigned_and_altered_images_are_refused),
      cmocka_unit_test(test_abort_withholds_the_magic_word_until_the_signature_checks),
      cmocka_unit_test(test_an_installed_image_is_revoked_before_its_sectors_change),
      cmocka_unit_test(test_an_unsigned_board_is_unchanged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
