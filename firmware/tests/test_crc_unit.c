/* hal_crc_stm32 on the STM32F4 CRC unit (src/port/stm32f4/crc_unit.c) against a fake unit
 * on the simulated flash: continuing from any CRC value, the power-on self-test and its
 * fallback to software, the boot decision on either path, and the bwPollTimeouts of the
 * CRC command and of manifestation (its stamp check) from the port's rate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crc_unit.h"
#include "dfu_host.h"

/* ---- A fake CRC unit: a register, a reset, words written to DR ---- */

typedef enum {
  FAKE_GOOD,      /* what RM0383 §4 describes */
  FAKE_ABSENT,    /* writes ignored, reads 0: no clock, or QEMU's unimplemented device */
  FAKE_REFLECTED, /* another CRC-32 (bit-reflected input): a different configuration */
  FAKE_NO_RESET,  /* CR.RESET ignored: the register keeps its value */
} fake_kind_t;

static struct {
  fake_kind_t kind;
  uint32_t dr;
  uint32_t words_fed; /* through feed(), the hot path */
} fake;

static uint32_t step(uint32_t crc, uint32_t word) {
  crc ^= word;
  for (int bit = 0; bit < 32; bit++) crc = (crc & 0x80000000u) != 0u ? (crc << 1) ^ 0x04C11DB7u : crc << 1;
  return crc;
}

static uint32_t reflect(uint32_t v) {
  uint32_t r = 0;
  for (int bit = 0; bit < 32; bit++, v >>= 1) r = (r << 1) | (v & 1u);
  return r;
}

static void fake_reset(void) {
  if (fake.kind != FAKE_NO_RESET) fake.dr = 0xFFFFFFFFu;
}
static void fake_write(uint32_t word) {
  if (fake.kind == FAKE_ABSENT) return;
  fake.dr = step(fake.dr, fake.kind == FAKE_REFLECTED ? reflect(word) : word);
}
static uint32_t fake_read(void) { return fake.kind == FAKE_ABSENT ? 0u : fake.dr; }
static void fake_feed(uint32_t address, uint32_t words) {
  for (uint32_t i = 0; i < words; i++, address += 4u) {
    uint8_t b[4];
    hal_flash_read(address, b, 4);
    fake_write((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
    fake.words_fed++;
  }
}
static const crc_unit_t fake_unit = {fake_reset, fake_write, fake_read, fake_feed};

static void fake_power_on(fake_kind_t kind) {
  memset(&fake, 0, sizeof fake);
  fake.kind = kind;
  fake.dr = 0xFFFFFFFFu; /* RM0383 §4.4.1: CRC_DR resets to 0xFFFFFFFF */
}

static uint8_t image[16384];

static void fill(uint32_t address, uint32_t length, uint32_t seed) {
  uint8_t *p = sim_flash_at(address);
  for (uint32_t i = 0; i < length; i++) p[i] = (uint8_t)((i * 31u + seed) ^ (i >> 7));
}

/* ---- Tests ---- */

static void test_seed_word_leads_from_the_reset_value_to_any_crc(void **state) {
  (void)state;
  const uint32_t targets[] = {0x00000000u, 0xFFFFFFFFu, 0xDF8A8A2Bu, 0x80000000u, 0x00000001u, 0x89ABCDEFu};
  for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
    assert_int_equal(step(0xFFFFFFFFu, crc_unit_seed_word(targets[i])), targets[i]);
  }
  /* The reset value needs the word that keeps it: step(0xFFFFFFFF, w) == 0xFFFFFFFF. */
  const uint32_t keep = crc_unit_seed_word(0xFFFFFFFFu);
  assert_int_equal(step(0xFFFFFFFFu, keep), 0xFFFFFFFFu);
}

static void test_a_good_unit_is_used_and_agrees_with_software(void **state) {
  (void)state;
  sim_reset();
  fake_power_on(FAKE_GOOD);
  assert_true(crc_unit_select(&fake_unit));
  assert_true(crc_unit_in_use());
  const uint32_t base = 0x08010000u, length = 12000u;
  fill(base, length, 5);
  const uint32_t whole = bl_crc_stm32(0xFFFFFFFFu, sim_flash_at(base), length);
  fake.words_fed = 0;
  assert_int_equal(hal_crc_stm32(0xFFFFFFFFu, base, length), whole);
  assert_int_equal(fake.words_fed, length / 4u); /* computed by the unit, not in software */
  /* Split anywhere and continued: the CRC of the whole (hal.h). */
  const uint32_t first = hal_crc_stm32(0xFFFFFFFFu, base, 0x24);
  assert_int_equal(hal_crc_stm32(first, base + 0x24, length - 0x24), whole);
  /* From a value no earlier call returned. */
  assert_int_equal(hal_crc_stm32(0x01234567u, base, 64), bl_crc_stm32(0x01234567u, sim_flash_at(base), 64));
  assert_int_equal(hal_crc_stm32(0x5A5A5A5Au, base, 0), 0x5A5A5A5Au);
}

static void test_a_good_unit_checks_the_stamp(void **state) {
  (void)state;
  sim_reset();
  fake_power_on(FAKE_GOOD);
  assert_true(crc_unit_select(&fake_unit));
  make_app_image(image, sizeof image, 0x00010203u);
  sim_flash_load(STM32DFU_APP_BASE, image, sizeof image);
  fake.words_fed = 0;
  assert_int_equal(boot_decide(), BOOT_JUMP);
  assert_int_equal(fake.words_fed, sizeof image / 4u - 1u); /* every word but the crc word */
  sim_flash_at(STM32DFU_APP_BASE + 0x1000u)[2] ^= 0x10u;
  assert_int_equal(boot_decide(), BOOT_STAY_BAD_STAMP);
}

/* The point of the self-test: whatever the unit does, a valid application still boots and a
 * corrupt one still does not, because the software CRC takes over. */
static void test_a_unit_that_fails_its_self_test_falls_back_to_software(void **state) {
  (void)state;
  const fake_kind_t broken[] = {FAKE_ABSENT, FAKE_REFLECTED, FAKE_NO_RESET};
  for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
    sim_reset();
    fake_power_on(broken[i]);
    assert_false(crc_unit_select(&fake_unit));
    assert_false(crc_unit_in_use());
    make_app_image(image, sizeof image, 0x00010203u);
    sim_flash_load(STM32DFU_APP_BASE, image, sizeof image);
    assert_int_equal(boot_decide(), BOOT_JUMP);
    assert_int_equal(fake.words_fed, 0); /* never asked again after the self-test */
    sim_flash_at(STM32DFU_APP_BASE + 0x2000u)[0] ^= 0x01u;
    assert_int_equal(boot_decide(), BOOT_STAY_BAD_STAMP);
  }
}

static void test_no_unit_means_software(void **state) {
  (void)state;
  sim_reset();
  assert_false(crc_unit_select(NULL));
  fill(0x08020000u, 4096, 9);
  assert_int_equal(hal_crc_stm32(0xFFFFFFFFu, 0x08020000u, 4096),
                   bl_crc_stm32(0xFFFFFFFFu, sim_flash_at(0x08020000u), 4096));
}

/* The first GETSTATUS after a CRC command of `length` bytes at the app base, nothing queued. */
static uint32_t crc_poll_ms(uint32_t words_per_ms, uint32_t length) {
  host_attach(&bl_profile_stm32dfu, 0);
  sim.crc_words_per_ms = words_per_ms;
  const uint32_t a = STM32DFU_APP_BASE;
  const uint8_t c[9] = {0xB1,           (uint8_t)a,      (uint8_t)(a >> 8),       (uint8_t)(a >> 16), (uint8_t)(a >> 24),
                        (uint8_t)length, (uint8_t)(length >> 8), (uint8_t)(length >> 16), (uint8_t)(length >> 24)};
  dfu_status_t first;
  assert_int_equal(host_command(c, 9, &first).state, S_dfuDNLOAD_IDLE);
  assert_int_equal(first.state, S_dfuDNBUSY);
  assert_int_equal(sim.crc_calls, 1);
  return first.poll_ms;
}

static void test_crc_command_poll_timeout_follows_the_ports_rate(void **state) {
  (void)state;
  /* The F411's unit at 96 MHz, 8000 words per ms: the whole 480 kB application region,
   * 122880 words, is 15.36 ms, announced as 16. */
  assert_int_equal(crc_poll_ms(8000u, STM32DFU_APP_SIZE), (STM32DFU_APP_SIZE / 4u + 7999u) / 8000u);
  assert_int_equal(crc_poll_ms(8000u, 480u * 1024u), 16);
  /* The software path's 750 words per ms: 164 ms for the same range. */
  assert_int_equal(crc_poll_ms(750u, 480u * 1024u), 164);
  /* One 16 kB sector on the unit: 0.512 ms, at least 1. */
  assert_int_equal(crc_poll_ms(8000u, 16384u), 1);
  /* A port that reports 0 (a contract breach) still gets a finite, long wait. */
  assert_int_equal(crc_poll_ms(0u, 4096u), 1024);
}

/* The first GETSTATUS after the zero-length DNLOAD that ends a 16 kB download. */
static dfu_status_t manifest_status(uint32_t words_per_ms) {
  host_attach(&bl_profile_stm32dfu, 0);
  sim.crc_words_per_ms = words_per_ms;
  make_app_image(image, 16384u, 0x00010203u);
  assert_int_equal(host_erase(STM32DFU_APP_BASE).status, ST_OK);
  assert_int_equal(host_set_address(STM32DFU_APP_BASE).status, ST_OK);
  for (uint16_t block = 0; block < 8u; block++) {
    assert_int_equal(host_write((uint16_t)(block + 2u), image + block * 2048u, 2048, NULL).status, ST_OK);
  }
  assert_true(host_dnload(0, NULL, 0));
  dfu_status_t status;
  assert_true(host_getstatus(&status));
  return status;
}

static void test_manifestation_poll_timeout_counts_the_stamp_check(void **state) {
  (void)state;
  /* The same download, the same queue; only the rate differs. The boot check's CRC covers
   * the 4096 stamped words: 8.192 ms at 500 words per ms, 0.512 ms at 8000; the held
   * block's blank check and read-back read its 512 words twice: 2.048 ms and 0.128 ms. */
  const dfu_status_t slow = manifest_status(500u);
  const dfu_status_t fast = manifest_status(8000u);
  assert_int_equal(slow.state, S_dfuMANIFEST);
  assert_int_equal(fast.state, S_dfuMANIFEST);
  assert_in_range(slow.poll_ms - fast.poll_ms, 9, 10);
  /* Polling on as dfu-util does: the image it then checks would boot. */
  dfu_status_t status = fast;
  for (int polls = 0; polls < 100 && status.state == S_dfuMANIFEST; polls++) {
    sim_sleep(status.poll_ms);
    assert_true(host_getstatus(&status));
  }
  assert_int_equal(status.state, S_dfuIDLE);
  assert_int_equal(status.status, ST_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seed_word_leads_from_the_reset_value_to_any_crc),
      cmocka_unit_test(test_a_good_unit_is_used_and_agrees_with_software),
      cmocka_unit_test(test_a_good_unit_checks_the_stamp),
      cmocka_unit_test(test_a_unit_that_fails_its_self_test_falls_back_to_software),
      cmocka_unit_test(test_no_unit_means_software),
      cmocka_unit_test(test_crc_command_poll_timeout_follows_the_ports_rate),
      cmocka_unit_test(test_manifestation_poll_timeout_counts_the_stamp_check),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
