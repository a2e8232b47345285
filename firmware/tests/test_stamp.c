/* The app stamp (contract 4) against the shared vectors file, and the boot decision
 * (contract 5): request word, button, stamp, vector table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dfu_host.h"

#ifndef STM32DFU_STAMP_VECTORS
#error "STM32DFU_STAMP_VECTORS (path of app-stamp-vectors.txt) comes from tests/CMakeLists.txt"
#endif

/* Reads one line of any length; NULL at end of file. The caller frees it. */
static char *read_line(FILE *f) {
  size_t capacity = 256, n = 0;
  char *line = malloc(capacity);
  int c;
  while ((c = fgetc(f)) != EOF && c != '\n') {
    if (n + 1 >= capacity) line = realloc(line, capacity *= 2);
    line[n++] = (char)c;
  }
  if (c == EOF && n == 0) {
    free(line);
    return NULL;
  }
  line[n] = '\0';
  return line;
}

/* Hex string ("-" is empty) into bytes; returns the byte count or -1. */
static long parse_hex(const char *hex, uint8_t *out, size_t capacity) {
  if (strcmp(hex, "-") == 0) return 0;
  const size_t len = strlen(hex);
  if (len % 2 != 0 || len / 2 > capacity) return -1;
  for (size_t i = 0; i < len / 2; i++) {
    unsigned byte;
    if (sscanf(hex + 2 * i, "%2x", &byte) != 1) return -1;
    out[i] = (uint8_t)byte;
  }
  return (long)(len / 2);
}

static int vectors_checked;

static void check_line(char *line, int line_number) {
  static uint8_t data[STM32DFU_APP_SIZE];
  char *hash = strchr(line, '#');
  if (hash != NULL) *hash = '\0';
  char *fields[7] = {0};
  int count = 0;
  for (char *tok = strtok(line, " \t\r"); tok != NULL && count < 7; tok = strtok(NULL, " \t\r")) fields[count++] = tok;
  if (count == 0) return;
  if (strcmp(fields[0], "crc") == 0 && count == 3) {
    const unsigned long expected = strtoul(fields[1], NULL, 16);
    const long n = parse_hex(fields[2], data, sizeof data);
    if (n < 0) fail_msg("%s:%d: bad hex", STM32DFU_STAMP_VECTORS, line_number);
    const uint32_t crc = bl_crc_stm32(0xFFFFFFFFu, data, (uint32_t)n);
    if (crc != expected) fail_msg("%s:%d: crc %08x, want %08lx", STM32DFU_STAMP_VECTORS, line_number, crc, expected);
  } else if (strcmp(fields[0], "stamp") == 0 && count == 6) {
    const uint32_t base = (uint32_t)strtoul(fields[2], NULL, 16);
    const uint32_t version = (uint32_t)strtoul(fields[4], NULL, 16);
    const long n = parse_hex(fields[5], data, sizeof data);
    if (n < 0 || base < STM32DFU_FLASH_BASE || base + (uint32_t)n > STM32DFU_FLASH_BASE + STM32DFU_FLASH_SIZE) {
      fail_msg("%s:%d: image does not fit the simulated flash", STM32DFU_STAMP_VECTORS, line_number);
    }
    sim_reset();
    sim_flash_load(base, data, (uint32_t)n);
    uint32_t got_version = 0;
    const stamp_verdict_t verdict = boot_check_stamp(base, STM32DFU_APP_SIZE, &got_version);
    static const char *const names[] = {"valid", "bad-magic", "bad-length", "bad-crc"};
    if (strcmp(names[verdict], fields[3]) != 0) {
      fail_msg("%s:%d: stamp %s: the check says %s, the vector says %s", STM32DFU_STAMP_VECTORS, line_number,
               fields[1], names[verdict], fields[3]);
    }
    if (verdict == STAMP_VALID && got_version != version) {
      fail_msg("%s:%d: version %08x, want %08x", STM32DFU_STAMP_VECTORS, line_number, got_version, version);
    }
  } else {
    fail_msg("%s:%d: unknown line kind '%s'", STM32DFU_STAMP_VECTORS, line_number, fields[0]);
  }
  vectors_checked++;
}

static void test_shared_vectors(void **state) {
  (void)state;
  FILE *f = fopen(STM32DFU_STAMP_VECTORS, "r");
  if (f == NULL) {
    fail_msg("missing %s: it is written by @stm32dfu/image-tools (contract 4); build that package first",
             STM32DFU_STAMP_VECTORS);
  }
  int line_number = 0;
  char *line;
  while ((line = read_line(f)) != NULL) {
    check_line(line, ++line_number);
    free(line);
  }
  fclose(f);
  assert_true(vectors_checked >= 10); /* a file that lost its vectors must not pass */
}

static void test_crc_of_known_word(void **state) {
  (void)state;
  /* The reference value for 0x12345678 fed to the STM32 CRC unit (RM0383 §4). */
  const uint8_t word[4] = {0x78, 0x56, 0x34, 0x12};
  assert_int_equal(bl_crc_stm32(0xFFFFFFFFu, word, 4), 0xDF8A8A2Bu);
}

static uint8_t image[8192];

static void load_app(uint32_t length) {
  sim_reset();
  make_app_image(image, length, 0x01020003u);
  sim_flash_load(STM32DFU_APP_BASE, image, length);
}

static void put32(uint32_t address, uint32_t value) {
  uint8_t *p = sim_flash_at(address);
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(value >> (8 * i));
}

/* Re-stamps the image in flash after a vector change, so only the vectors are wrong. */
static void restamp(uint32_t length) {
  memcpy(image, sim_flash_at(STM32DFU_APP_BASE), length);
  uint32_t crc = bl_crc_stm32(0xFFFFFFFFu, image, 0x24);
  crc = bl_crc_stm32(crc, image + 0x28, length - 0x28);
  put32(STM32DFU_APP_BASE + 0x24, crc);
}

static void test_boot_decide(void **state) {
  (void)state;
  uint32_t version = 0;
  load_app(4096);
  assert_int_equal(boot_check_stamp(STM32DFU_APP_BASE, STM32DFU_APP_SIZE, &version), STAMP_VALID);
  assert_int_equal(version, 0x01020003u);
  assert_int_equal(boot_decide(), BOOT_JUMP);

  /* The request word keeps us in DFU mode once, and is cleared. */
  sim.request_magic = STM32DFU_BOOT_REQUEST_MAGIC;
  sim.request_check = ~STM32DFU_BOOT_REQUEST_MAGIC;
  assert_int_equal(boot_decide(), BOOT_STAY_REQUESTED);
  assert_int_equal(sim.request_magic, 0);
  assert_int_equal(sim.request_check, 0);
  assert_int_equal(boot_decide(), BOOT_JUMP);
  /* Magic without its complement is noise (a power-on RAM pattern), cleared too. */
  sim.request_magic = STM32DFU_BOOT_REQUEST_MAGIC;
  sim.request_check = 0x12345678u;
  assert_int_equal(boot_decide(), BOOT_JUMP);
  assert_int_equal(sim.request_magic, 0);

  sim.button = true;
  assert_int_equal(boot_decide(), STM32DFU_HAS_BUTTON ? BOOT_STAY_BUTTON : BOOT_JUMP);
  sim.button = false;

  sim_reset();
  assert_int_equal(boot_decide(), BOOT_STAY_NO_APP);

  load_app(4096);
  sim_flash_at(STM32DFU_APP_BASE + 2000)[0] ^= 0x01;
  assert_int_equal(boot_decide(), BOOT_STAY_BAD_STAMP);
}

static void test_vector_sanity(void **state) {
  (void)state;
  const uint32_t length = 1024;
  const struct {
    uint32_t offset, value;
  } bad[] = {
      {0, STM32DFU_SRAM_BASE},                          /* SP at the bottom of SRAM: no stack */
      {0, STM32DFU_SRAM_BASE + STM32DFU_SRAM_SIZE + 4}, /* SP past SRAM */
      {0, STM32DFU_SRAM_BASE + 0x1002},                 /* SP not word-aligned */
      {0, 0x08008000u},                                 /* SP in flash */
      {4, STM32DFU_APP_BASE + 0x200u},                  /* reset handler without the Thumb bit */
      {4, STM32DFU_BOOTLOADER_BASE + 0x101u},           /* reset handler in the bootloader */
      {4, STM32DFU_APP_END + 1u},                       /* past the region */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    load_app(length);
    put32(STM32DFU_APP_BASE + bad[i].offset, bad[i].value);
    restamp(length);
    assert_int_equal(boot_check_stamp(STM32DFU_APP_BASE, STM32DFU_APP_SIZE, NULL), STAMP_VALID);
    if (boot_decide() != BOOT_STAY_BAD_VECTORS) fail_msg("case %zu: word +%u = %08x boots", i, bad[i].offset, bad[i].value);
  }
  /* SP exactly at the top of SRAM is the normal case. */
  load_app(length);
  assert_int_equal(boot_decide(), BOOT_JUMP);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shared_vectors),
      cmocka_unit_test(test_crc_of_known_word),
      cmocka_unit_test(test_boot_decide),
      cmocka_unit_test(test_vector_sanity),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
