/* A locked-down board (docs/signed-firmware.md, docs/bootloader-core.md) on the shared
 * vectors (packages/image-tools/fixtures/signature-vectors.txt): the anti-rollback counter in
 * OTP (the verdicts the host's checkSignature gives, the thermometer's bytes, power cuts
 * during every OTP byte and between counter and magic word, nothing lowers it), the
 * GET_SECURITY record byte for byte (the bytes packages/protocol/test/
 * security-record.test.ts decodes), the upload lock-down and the check at every boot.
 *
 * The tests change bl_profile_stm32dfu (built with STM32DFU_RUNTIME_PROFILE: boot_decide
 * reads it, as a port would) and the teardown puts it back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bl_internal.h"
#include "dfu_host.h"
#include "signature_vectors.h"
#include "signature.h"

#ifndef STM32DFU_SIGNATURE_VECTORS
#error "STM32DFU_SIGNATURE_VECTORS comes from tests/CMakeLists.txt"
#endif

#define COUNTER_CAPACITY (STM32DFU_COUNTER_OTP_SIZE * 8u)
#define MAGIC_ADDRESS (STM32DFU_APP_BASE + 0x1Cu)


/* Two keys: the vectors' test key, and 32 zero bytes (SHA-256 66687aad…: key id 0xad7a6866). */
static uint8_t keys[2][32];
static bl_profile_t saved_profile;

/* The named image from the vectors file (and the board's key, read on the way). */
static void load(const char *wanted, vector_t *out) { vectors_load(wanted, out, keys[0]); }

static int save_profile(void **state) {
  (void)state;
  saved_profile = bl_profile_stm32dfu;
  return 0;
}

static int restore_profile(void **state) {
  (void)state;
  bl_profile_stm32dfu = saved_profile;
  return 0;
}

/* A board that requires signatures by `key_count` keys, with the given options, attached. */
static void board(uint8_t key_count, bool verify_at_boot, bool lock_upload) {
  vector_t v;
  load("valid", &v); /* reads the key */
  bl_profile_stm32dfu.signing_required = key_count > 0u;
  bl_profile_stm32dfu.signing_keys = key_count > 0u ? (const uint8_t (*)[32])keys : NULL;
  bl_profile_stm32dfu.signing_key_count = key_count;
  bl_profile_stm32dfu.signing_verify_at_boot = verify_at_boot;
  bl_profile_stm32dfu.lock_upload = lock_upload;
  host_attach(&bl_profile_stm32dfu, 0);
}

static uint8_t *counter_otp(void) { return &sim.otp[STM32DFU_COUNTER_OTP_OFFSET]; }

/* The OTP bytes of a board whose counter reads `steps`, as the bootloader writes them. */
static void thermometer(uint32_t steps, uint8_t out[STM32DFU_COUNTER_OTP_SIZE]) {
  for (uint32_t i = 0; i < STM32DFU_COUNTER_OTP_SIZE; i++) {
    const uint32_t cleared = steps > i * 8u ? (steps - i * 8u >= 8u ? 8u : steps - i * 8u) : 0u;
    out[i] = (uint8_t)(0xFFu << cleared);
  }
}

static void set_counter(uint32_t steps) { thermometer(steps, counter_otp()); }

static void assert_otp_reads(uint32_t steps) {
  uint8_t want[STM32DFU_COUNTER_OTP_SIZE];
  thermometer(steps, want);
  assert_memory_equal(counter_otp(), want, sizeof want);
  assert_int_equal(counter_read(), steps);
}

static boot_verdict_t power_on(void) {
  sim.request_magic = 0;
  sim.request_check = 0;
  return boot_decide();
}

/* Power off and on: flash and OTP stay, RAM (the core's state, the sim's counters) does not. */
static void power_cycle(void) {
  static uint8_t flash[STM32DFU_FLASH_SIZE];
  static uint8_t otp[STM32DFU_OTP_SIZE];
  memcpy(flash, sim.flash, sizeof flash);
  memcpy(otp, sim.otp, sizeof otp);
  host_attach(&bl_profile_stm32dfu, 0);
  memcpy(sim.flash, flash, sizeof flash);
  memcpy(sim.otp, otp, sizeof otp);
}

static bool get_security(uint16_t length, uint8_t *out, uint16_t *got) {
  return sim_control_in(0xC1, USB_REQ_GET_SECURITY, 0, 0, length, out, got);
}

static void security_record(uint8_t out[SECURITY_RECORD_LENGTH]) {
  uint16_t got = 0;
  assert_true(get_security(SECURITY_RECORD_LENGTH, out, &got));
  assert_int_equal(got, SECURITY_RECORD_LENGTH);
}

static uint32_t u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t record_counter(void) {
  uint8_t record[SECURITY_RECORD_LENGTH];
  security_record(record);
  return u32(record + 8);
}

static uint8_t report_verdict(void) {
  uint8_t reply[20];
  uint16_t got = 0;
  assert_true(host_request_out(ABORT, 0));
  assert_true(host_upload(1, sizeof reply, reply, &got));
  assert_true(host_request_out(ABORT, 0)); /* a whole frame left dfuUPLOAD-IDLE */
  return reply[17];
}

static uint32_t magic_word(void) { return u32(sim_flash_at(MAGIC_ADDRESS)); }

/* ---- The counter ---- */

/* Every `counter` line of the vectors for a board of this build's capacity: the verdict the
 * host's checkSignature gives, through a whole download. Valid: installed, boots, the counter
 * reads the image's. Refused: errFIRMWARE, the verdict in the report and the record, nothing
 * bootable, the OTP untouched. */
static void test_the_counter_verdicts_of_the_vectors(void **state) {
  (void)state;
  FILE *f = fopen(STM32DFU_SIGNATURE_VECTORS, "r");
  assert_non_null(f);
  static char line[65536];
  unsigned checked = 0, seen = 0;
  bool verdicts_seen[10] = {false};
  while (fgets(line, sizeof line, f) != NULL) {
    char name[64], verdict[32];
    unsigned at = 0, capacity = 0;
    if (sscanf(line, "counter %63s %u %u %31s", name, &at, &capacity, verdict) != 4) continue;
    seen++;
    /* Boards of another capacity (0: no counter kept) are the host's alone: this build keeps
     * COUNTER_CAPACITY steps. */
    if (capacity != COUNTER_CAPACITY) continue;
    long want = -1;
    for (size_t i = 0; i < sizeof sig_verdict_names / sizeof sig_verdict_names[0]; i++) {
      if (strcmp(sig_verdict_names[i], verdict) == 0) want = (long)i;
    }
    if (want < 0) fail_msg("%s: unknown verdict %s", name, verdict);
    static vector_t v;
    load(name, &v);
    board(1, false, false);
    set_counter(at);
    const uint32_t programs = sim.otp_programs;
    const dfu_status_t s = host_download(STM32DFU_APP_BASE, v.bytes, v.length);
    if (want == 0) {
      if (s.status != ST_OK) fail_msg("%s at counter %u: status %u, want OK", name, at, s.status);
      assert_int_equal(s.state, S_dfuIDLE);
      assert_int_equal(power_on(), BOOT_JUMP);
      assert_otp_reads(v.counter);
      assert_int_equal(record_counter(), v.counter);
    } else {
      if (s.status != ST_errFIRMWARE) fail_msg("%s at counter %u: status %u, want errFIRMWARE", name, at, s.status);
      assert_int_equal(magic_word(), 0xFFFFFFFFu);
      if (power_on() == BOOT_JUMP) fail_msg("%s at counter %u: the refused image boots", name, at);
      assert_int_equal(sim.otp_programs, programs);
      assert_otp_reads(at);
      assert_true(host_request_out(CLRSTATUS, 0));
      uint8_t record[SECURITY_RECORD_LENGTH];
      security_record(record);
      assert_int_equal(u32(record + 8), at);
      assert_int_equal(record[3], want + 1);
    }
    if (report_verdict() != want + 1) fail_msg("%s at counter %u: report verdict byte %u", name, at, report_verdict());
    verdicts_seen[want] = true;
    checked++;
  }
  fclose(f);
  assert_true(seen > checked); /* the host also checks boards without a counter */
  assert_true(checked >= 10u);
  assert_true(verdicts_seen[0] && verdicts_seen[8] && verdicts_seen[9]);
}

/* Installs one after another read 3, 3, 7, 512 in the record, and the OTP holds the
 * thermometer: bit n-1 of the area cleared for step n, least significant bit first; an equal
 * counter programs nothing. */
static void test_the_thermometer_in_otp(void **state) {
  (void)state;
  static vector_t c3, c7, c512, c0;
  load("counter-3", &c3);
  load("counter-7", &c7);
  load("counter-512", &c512);
  load("counter-0", &c0);
  board(1, false, false);
  assert_otp_reads(0);
  assert_int_equal(record_counter(), 0);
  /* Counter 0 on a new board: nothing to program. */
  assert_int_equal(host_download(STM32DFU_APP_BASE, c0.bytes, c0.length).status, ST_OK);
  assert_int_equal(sim.otp_programs, 0);
  assert_int_equal(host_download(STM32DFU_APP_BASE, c3.bytes, c3.length).status, ST_OK);
  assert_int_equal(counter_otp()[0], 0xF8);
  assert_int_equal(counter_otp()[1], 0xFF);
  assert_int_equal(sim.otp_programs, 1);
  assert_int_equal(record_counter(), 3);
  /* The same counter again: accepted, nothing programmed. */
  assert_int_equal(host_download(STM32DFU_APP_BASE, c3.bytes, c3.length).status, ST_OK);
  assert_int_equal(sim.otp_programs, 1);
  assert_int_equal(power_on(), BOOT_JUMP);
  assert_int_equal(host_download(STM32DFU_APP_BASE, c7.bytes, c7.length).status, ST_OK);
  assert_int_equal(counter_otp()[0], 0x80);
  assert_int_equal(sim.otp_programs, 2);
  assert_int_equal(record_counter(), 7);
  /* The top of the range: every byte programmed to zero, one program per byte. */
  assert_int_equal(host_download(STM32DFU_APP_BASE, c512.bytes, c512.length).status, ST_OK);
  for (uint32_t i = 0; i < STM32DFU_COUNTER_OTP_SIZE; i++) assert_int_equal(counter_otp()[i], 0x00);
  assert_int_equal(sim.otp_programs, 2 + STM32DFU_COUNTER_OTP_SIZE);
  assert_int_equal(record_counter(), COUNTER_CAPACITY);
  assert_int_equal(power_on(), BOOT_JUMP);
  /* The rest of the OTP area (the application's) is never touched. */
  for (uint32_t i = 0; i < STM32DFU_COUNTER_OTP_OFFSET; i++) assert_int_equal(sim.otp[i], 0xFF);
}

/* OTP bits are only ever cleared, and the thermometer reads the cleared bits before the first
 * set one: whatever the application programs, anywhere in the counter's bytes, the counter
 * never reads lower; an advance to a lower value does nothing. */
static void test_nothing_lowers_the_counter(void **state) {
  (void)state;
  board(1, false, false);
  for (uint32_t start = 0; start <= 24u; start++) {
    for (uint32_t byte = 0; byte < 4u; byte++) {
      for (uint32_t value = 0; value <= 0xFFu; value++) {
        set_counter(start);
        const uint8_t before = counter_otp()[byte];
        assert_int_equal(hal_otp_program(STM32DFU_COUNTER_OTP_OFFSET + byte, (uint8_t)value), HAL_OK);
        assert_int_equal(counter_otp()[byte], before & value); /* set bits never come back */
        if (counter_read() < start) fail_msg("programming 0x%02x at byte %u lowered %u to %u", value, byte, start, counter_read());
      }
    }
  }
  /* Random programs over the whole area, from a few starts. */
  srand(1);
  for (uint32_t round = 0; round < 2000u; round++) {
    const uint32_t start = (uint32_t)rand() % (COUNTER_CAPACITY + 1u);
    set_counter(start);
    for (int n = 0; n < 8; n++) {
      const uint32_t byte = (uint32_t)rand() % STM32DFU_COUNTER_OTP_SIZE;
      (void)hal_otp_program(STM32DFU_COUNTER_OTP_OFFSET + byte, (uint8_t)rand());
      if (counter_read() < start) fail_msg("round %u: the counter fell below %u", round, start);
    }
  }
  set_counter(7);
  const uint32_t programs = sim.otp_programs;
  assert_int_equal(counter_advance(2), OK);
  assert_int_equal(counter_advance(7), OK);
  assert_int_equal(sim.otp_programs, programs);
  assert_otp_reads(7);
  assert_int_equal(counter_advance(COUNTER_CAPACITY + 1u), errTARGET);
  assert_otp_reads(7);
}

/* A thermometer cut short: whole zero bytes, at most one byte 0xFF << n, then erased bytes. */
static bool is_thermometer(void) {
  uint32_t i = 0;
  while (i < STM32DFU_COUNTER_OTP_SIZE && counter_otp()[i] == 0x00) i++;
  if (i < STM32DFU_COUNTER_OTP_SIZE) {
    bool partial = false;
    for (uint32_t n = 1; n < 8u; n++) partial = partial || counter_otp()[i] == (uint8_t)(0xFFu << n);
    if (partial) i++;
  }
  while (i < STM32DFU_COUNTER_OTP_SIZE && counter_otp()[i] == 0xFF) i++;
  return i == STM32DFU_COUNTER_OTP_SIZE;
}

static jmp_buf power_cut;

/* After a cut: the board stays in the bootloader, the counter is a thermometer between the
 * old and the new value, and the same image downloaded again installs and boots. */
static void after_a_cut(const vector_t *v, const char *what, uint32_t k, bool *counter_before_magic) {
  sim.power_cut_jump = NULL;
  sim.power_cut_at = 0;
  sim.power_cut_after_call = 0;
  power_cycle();
  const uint32_t counter = counter_read();
  const bool booted = power_on() == BOOT_JUMP;
  if (!is_thermometer()) fail_msg("cut %s %u: the OTP is no thermometer", what, k);
  if (counter > v->counter) fail_msg("cut %s %u: counter %u above the image's", what, k, counter);
  if (booted) {
    /* Only once the magic word is written, which comes after the counter. */
    if (counter != v->counter) fail_msg("cut %s %u: boots with counter %u, not the image's", what, k, counter);
    return;
  }
  if (counter == v->counter && magic_word() == 0xFFFFFFFFu) *counter_before_magic = true;
  const dfu_status_t s = host_download(STM32DFU_APP_BASE, v->bytes, v->length);
  if (s.status != ST_OK) fail_msg("cut %s %u: the same image is refused again (status %u)", what, k, s.status);
  assert_int_equal(power_on(), BOOT_JUMP);
  assert_otp_reads(v->counter);
}

/* Power lost during every flash operation (each OTP byte program counts as one) and after
 * every slice of a download that advances the counter over all 64 bytes. */
static void test_power_cuts_during_the_counter_and_before_the_magic_word(void **state) {
  (void)state;
  static vector_t v;
  load("counter-512", &v);
  board(1, false, false);
  assert_int_equal(host_download(STM32DFU_APP_BASE, v.bytes, v.length).status, ST_OK);
  const uint32_t total = sim.flash_ops;
  const uint32_t slices = sim.flash_calls;
  assert_int_equal(sim.otp_programs, STM32DFU_COUNTER_OTP_SIZE);

  bool counter_before_magic = false;
  uint32_t booted_whole = 0;
  for (uint32_t k = 1; k <= total; k++) {
    board(1, false, false);
    sim.power_cut_at = k;
    sim.power_cut_jump = &power_cut;
    if (setjmp(power_cut) == 0) {
      host_download(STM32DFU_APP_BASE, v.bytes, v.length);
      fail_msg("the download finished although power was cut at operation %u of %u", k, total);
    }
    after_a_cut(&v, "during operation", k, &counter_before_magic);
  }
  for (uint32_t k = 1; k <= slices; k++) {
    board(1, false, false);
    sim.power_cut_after_call = k;
    sim.power_cut_jump = &power_cut;
    if (setjmp(power_cut) == 0) {
      host_download(STM32DFU_APP_BASE, v.bytes, v.length);
      if (k < slices) fail_msg("the download finished although power was cut after slice %u of %u", k, slices);
    }
    if (k == slices) booted_whole++;
    after_a_cut(&v, "after slice", k, &counter_before_magic);
  }
  /* Some cut fell between the last OTP byte and the magic word. */
  assert_true(counter_before_magic);
  assert_int_equal(booted_whole, 1);
  printf("power cut during each of %u operations (%u OTP bytes) and after each of %u slices: "
         "never booted, always took the image again\n",
         total, STM32DFU_COUNTER_OTP_SIZE, slices);
}

/* ---- GET_SECURITY ---- */

static const uint8_t plain_record[SECURITY_RECORD_LENGTH] = {
    0x01, 0x80, 0x00, 0x00, 0x45, 0xda, 0xa4, 0xb7, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
/* The bytes security-record.test.ts decodes: signatures required by the test key, verify at
 * boot, upload locked, after installing an image with counter 7. */
static const uint8_t signed_locked_record[SECURITY_RECORD_LENGTH] = {
    0x01, 0x87, 0x01, 0x01, 0x45, 0xda, 0xa4, 0xb7, 0x07, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00,
    0x65, 0xb6, 0x06, 0x73, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
/* ... and a board at counter 5 that refused an image with counter 3 (verdict 8 + 1). */
static const uint8_t rolled_back_record[SECURITY_RECORD_LENGTH] = {
    0x01, 0x81, 0x01, 0x09, 0x45, 0xda, 0xa4, 0xb7, 0x05, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00,
    0x65, 0xb6, 0x06, 0x73, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

static void test_the_security_record(void **state) {
  (void)state;
  uint8_t record[64];
  uint16_t got = 0;

  /* A plain board: no keys, no policy; the check compiled in, the board id and the counter. */
  host_attach(&bl_profile_stm32dfu, 0);
  memset(record, 0xEE, sizeof record);
  assert_true(get_security(sizeof record, record, &got));
  assert_int_equal(got, SECURITY_RECORD_LENGTH); /* a longer wLength gets the 32 bytes */
  assert_memory_equal(record, plain_record, SECURITY_RECORD_LENGTH);
  assert_int_equal(u32(record + 4), sig_board_word(STM32DFU_BOARD_ID));

  /* Two keys: the ids are the first 4 bytes of SHA-256 of each raw key. */
  board(2, false, false);
  security_record(record);
  assert_int_equal(record[1], 0x81);
  assert_int_equal(record[2], 2);
  static const uint8_t ids[8] = {0x65, 0xb6, 0x06, 0x73, 0x66, 0x68, 0x7a, 0xad};
  assert_memory_equal(record + 16, ids, sizeof ids);
  for (int i = 24; i < 32; i++) assert_int_equal(record[i], 0);

  /* Signed and locked, after an install with counter 7. */
  static vector_t v;
  load("counter-7", &v);
  board(1, true, true);
  assert_int_equal(host_download(STM32DFU_APP_BASE, v.bytes, v.length).status, ST_OK);
  security_record(record);
  assert_memory_equal(record, signed_locked_record, SECURITY_RECORD_LENGTH);

  /* A refused rollback: the verdict and the unchanged counter, in dfuERROR too. */
  load("counter-3", &v);
  board(1, false, false);
  set_counter(5);
  assert_int_equal(host_download(STM32DFU_APP_BASE, v.bytes, v.length).status, ST_errFIRMWARE);
  security_record(record);
  assert_memory_equal(record, rolled_back_record, SECURITY_RECORD_LENGTH);
  dfu_status_t s;
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuERROR); /* GET_SECURITY left the DFU state alone */

  /* Only as specified: wLength >= 32, wValue 0, wIndex 0, IN vendor to the interface. */
  assert_false(get_security(SECURITY_RECORD_LENGTH - 1u, record, &got));
  assert_false(sim_control_in(0xC1, USB_REQ_GET_SECURITY, 1, 0, 32, record, &got));
  assert_false(sim_control_in(0xC1, USB_REQ_GET_SECURITY, 0, 1, 32, record, &got));
  assert_false(sim_control_in(0xC0, USB_REQ_GET_SECURITY, 0, 0, 32, record, &got));
  /* ST's ROM has no such request. */
  host_attach(&bl_profile_st_rom, 0);
  assert_false(get_security(SECURITY_RECORD_LENGTH, record, &got));
  assert_int_equal(sim_ep0_violations, 0);
}

/* ---- Lock-down ---- */

static uint8_t functional_attributes(void) {
  uint8_t config[64];
  uint16_t got = 0;
  assert_true(sim_control_in(0x80, 6, 0x0200, 0, sizeof config, config, &got));
  assert_int_equal(got, 27);
  assert_int_equal(config[18 + 1], 0x21);
  return config[18 + 2];
}

static dfu_status_t crc_command(uint32_t address, uint32_t length) {
  const uint8_t c[9] = {0xB1,
                        (uint8_t)address,
                        (uint8_t)(address >> 8),
                        (uint8_t)(address >> 16),
                        (uint8_t)(address >> 24),
                        (uint8_t)length,
                        (uint8_t)(length >> 8),
                        (uint8_t)(length >> 16),
                        (uint8_t)(length >> 24)};
  return host_command(c, sizeof c, NULL);
}

static void crc_refused(uint32_t address, uint32_t length) {
  const dfu_status_t s = crc_command(address, length);
  if (s.state != S_dfuERROR || s.status != ST_errTARGET) {
    fail_msg("CRC of 0x%08x + %u on a locked board: state %u status %u", address, length, s.state, s.status);
  }
  assert_true(host_request_out(CLRSTATUS, 0));
}

static void crc_matches(uint32_t address, uint32_t length) {
  const dfu_status_t s = crc_command(address, length);
  assert_int_equal(s.status, ST_OK);
  assert_int_equal(s.state, S_dfuDNLOAD_IDLE);
  assert_true(host_request_out(ABORT, 0));
  dfu_report_t r;
  assert_true(host_report(&r));
  assert_int_equal(r.crc_address, address);
  assert_int_equal(r.crc_length, length);
  assert_int_equal(r.crc, bl_crc_stm32(0xFFFFFFFFu, sim_flash_at(address), length));
}

static void test_a_locked_board_keeps_its_firmware(void **state) {
  (void)state;
  static vector_t v;
  load("valid", &v);
  board(1, false, false);
  assert_int_equal(functional_attributes(), 0x0F);

  board(1, false, true);
  /* bitCanUpload (0x02) clear; CanDnload, ManifestationTolerant, WillDetach stay. */
  assert_int_equal(functional_attributes(), 0x0D);
  assert_int_equal(host_download(STM32DFU_APP_BASE, v.bytes, v.length).status, ST_OK);
  assert_int_equal(power_on(), BOOT_JUMP);

  /* dfu-util -U (dfuse_do_upload): set address, abort to idle, UPLOAD from block 2: stalls,
   * dfuERROR errSTALLEDPKT, nothing sent. */
  assert_int_equal(host_set_address(STM32DFU_APP_BASE).status, ST_OK);
  assert_true(host_request_out(ABORT, 0));
  uint8_t data[2048];
  uint16_t got = 0;
  assert_false(host_upload(2, sizeof data, data, &got));
  assert_int_equal(got, 0);
  dfu_status_t s;
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuERROR);
  assert_int_equal(s.status, ST_errSTALLEDPKT);
  assert_true(host_request_out(CLRSTATUS, 0));
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuIDLE);
  assert_int_equal(s.status, ST_OK);
  /* Every block of the flash, the bootloader's included. */
  for (uint16_t block = 2; block < 300; block += 37) {
    assert_false(host_upload(block, 64, data, &got));
    assert_true(host_request_out(CLRSTATUS, 0));
  }

  /* Get Commands and the report still answer. */
  assert_true(host_upload(0, 8, data, &got));
  assert_int_equal(got, 4);
  assert_int_equal(data[3], 0xB1);
  assert_true(host_request_out(ABORT, 0));
  assert_int_equal(report_verdict(), 1u);

  /* CRCs of whole application sectors (one, and the whole region) still work, so a host can
   * verify what it wrote; a CRC of anything smaller would read the flash out a word at a time. */
  crc_matches(STM32DFU_APP_BASE, 0x4000u);
  crc_matches(STM32DFU_APP_BASE + 0x4000u, 0x4000u);
  crc_matches(STM32DFU_APP_BASE, STM32DFU_APP_SIZE);
  crc_refused(STM32DFU_APP_BASE, 4u);
  crc_refused(STM32DFU_APP_BASE, v.length);
  crc_refused(STM32DFU_APP_BASE + 4u, 0x4000u);
  crc_refused(STM32DFU_APP_BASE, 0x4004u);
  crc_refused(STM32DFU_APP_BASE, 0u);
  crc_refused(STM32DFU_BOOTLOADER_BASE, 0x4000u); /* the bootloader's own sectors */
  crc_refused(STM32DFU_BOOTLOADER_BASE, STM32DFU_BOOTLOADER_SIZE + STM32DFU_APP_SIZE);

  /* The same board unlocked reads the image back. */
  board(1, false, false);
  sim_flash_load(STM32DFU_APP_BASE, v.bytes, v.length);
  assert_int_equal(host_set_address(STM32DFU_APP_BASE).status, ST_OK);
  assert_true(host_request_out(ABORT, 0));
  assert_true(host_upload(2, 64, data, &got));
  assert_memory_equal(data, v.bytes, 64);
  assert_true(host_request_out(ABORT, 0));
  assert_int_equal(crc_command(STM32DFU_APP_BASE, 4u).status, ST_OK);
  assert_int_equal(sim_ep0_violations, 0);
}

/* ---- Verify at boot ---- */

/* Change one byte of the installed image and give the stamp its new CRC: the stamp check
 * passes, only the signature can tell. */
static void alter_installed_image(uint32_t offset) {
  uint8_t *image = sim_flash_at(STM32DFU_APP_BASE);
  const uint32_t length = u32(image + 0x20);
  image[offset] ^= 0x01u;
  uint32_t crc = bl_crc_stm32(0xFFFFFFFFu, image, 0x24);
  crc = bl_crc_stm32(crc, image + 0x28, length - 0x28);
  image[0x24] = (uint8_t)crc;
  image[0x25] = (uint8_t)(crc >> 8);
  image[0x26] = (uint8_t)(crc >> 16);
  image[0x27] = (uint8_t)(crc >> 24);
}

static void test_verify_at_boot(void **state) {
  (void)state;
  static vector_t v;
  load("valid", &v);
  board(1, true, false);
  assert_int_equal(host_download(STM32DFU_APP_BASE, v.bytes, v.length).status, ST_OK);
  assert_int_equal(power_on(), BOOT_JUMP);

  alter_installed_image(0x80u);
  assert_int_equal(power_on(), BOOT_STAY_BAD_SIGNATURE);
  /* Without the option the stamp is all that is checked: it would boot. */
  bl_profile_stm32dfu.signing_verify_at_boot = false;
  assert_int_equal(power_on(), BOOT_JUMP);
  bl_profile_stm32dfu.signing_verify_at_boot = true;

  /* An image below the board's counter (raised since, e.g. by the application) stays too. */
  sim_flash_load(STM32DFU_APP_BASE, v.bytes, v.length);
  assert_int_equal(power_on(), BOOT_JUMP);
  set_counter(v.counter + 1u);
  assert_int_equal(power_on(), BOOT_STAY_BAD_SIGNATURE);
  bl_profile_stm32dfu.signing_verify_at_boot = false;
  assert_int_equal(power_on(), BOOT_JUMP);
  bl_profile_stm32dfu.signing_verify_at_boot = true;
  set_counter(v.counter + 1u);

  /* An unsigned image with a valid stamp and vectors never boots on such a board. */
  static vector_t u;
  load("unsigned", &u);
  host_attach(&bl_profile_stm32dfu, 0);
  sim_flash_load(STM32DFU_APP_BASE, u.bytes, u.length);
  assert_int_equal(power_on(), BOOT_STAY_BAD_SIGNATURE);
  /* The stamp and vector checks still come first. */
  sim_flash_at(MAGIC_ADDRESS)[0] = 0;
  assert_int_equal(power_on(), BOOT_STAY_BAD_STAMP);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_the_counter_verdicts_of_the_vectors, save_profile, restore_profile),
      cmocka_unit_test_setup_teardown(test_the_thermometer_in_otp, save_profile, restore_profile),
      cmocka_unit_test_setup_teardown(test_nothing_lowers_the_counter, save_profile, restore_profile),
      cmocka_unit_test_setup_teardown(test_power_cuts_during_the_counter_and_before_the_magic_word, save_profile,
                                      restore_profile),
      cmocka_unit_test_setup_teardown(test_the_security_record, save_profile, restore_profile),
      cmocka_unit_test_setup_teardown(test_a_locked_board_keeps_its_firmware, save_profile, restore_profile),
      cmocka_unit_test_setup_teardown(test_verify_at_boot, save_profile, restore_profile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
