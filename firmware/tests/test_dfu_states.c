/* Every DFU 1.1 state against every DFU request (DFU 1.1 appendix A): whether the device
 * stalls, and the state and status it is in afterwards. Our profile is pipelined: its
 * GETSTATUS in dfuDNBUSY and dfuMANIFEST answers how much work is left instead of
 * stalling (sliced work keeps USB alive); the ROM model keeps the strict table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dfu_host.h"

typedef enum { R_DETACH, R_DNLOAD, R_DNLOAD_ZERO, R_UPLOAD, R_GETSTATUS, R_CLRSTATUS, R_GETSTATE, R_ABORT, R_COUNT } req_t;
static const char *const req_names[R_COUNT] = {"DETACH", "DNLOAD", "DNLOAD(0)", "UPLOAD",
                                               "GETSTATUS", "CLRSTATUS", "GETSTATE", "ABORT"};

static uint8_t block_data[64];

/* Puts the device into `state` by the shortest legal path. */
static void enter(uint8_t state) {
  dfu_status_t s;
  host_attach(&bl_profile_stm32dfu, 0);
  memset(block_data, 0x5A, sizeof block_data);
  /* A valid application under the blocks below, so a manifestation ends well (dfuIDLE)
   * and the table shows the DFU states, not the boot check's verdict. */
  static uint8_t app[1024];
  make_app_image(app, sizeof app, 0x00010000u);
  sim_flash_load(STM32DFU_APP_BASE, app, sizeof app);
  switch (state) {
    case S_dfuIDLE:
      break;
    case S_dfuDNLOAD_SYNC:
      /* Fill the write queue, so the GETSTATUS after this block must say dfuDNBUSY. */
      assert_int_equal(host_set_address(0x08010000u).state, S_dfuDNLOAD_IDLE);
      for (uint16_t b = 2; b < 1u + BL_WRITE_QUEUE_BLOCKS; b++) {
        assert_true(host_dnload(b, block_data, sizeof block_data));
        assert_true(host_getstatus(&s));
        assert_int_equal(s.state, S_dfuDNLOAD_IDLE);
      }
      assert_true(host_dnload(1u + BL_WRITE_QUEUE_BLOCKS, block_data, sizeof block_data));
      break;
    case S_dfuDNBUSY:
      enter(S_dfuDNLOAD_SYNC);
      assert_true(host_getstatus(&s));
      break;
    case S_dfuDNLOAD_IDLE:
      enter(S_dfuDNBUSY);
      sim_run();
      assert_true(host_getstatus(&s));
      break;
    case S_dfuMANIFEST_SYNC:
      enter(S_dfuDNLOAD_IDLE);
      assert_true(host_dnload(0, NULL, 0));
      break;
    case S_dfuMANIFEST:
      enter(S_dfuMANIFEST_SYNC);
      assert_true(host_getstatus(&s));
      break;
    case S_dfuUPLOAD_IDLE: {
      uint8_t buf[64];
      uint16_t got = 0;
      assert_true(host_upload(2, sizeof buf, buf, &got));
      break;
    }
    case S_dfuERROR:
      assert_false(host_request_out(CLRSTATUS, 0));
      break;
    default:
      fail_msg("no path to state %u", state);
  }
  assert_int_equal(dfu_state(), state);
}

static bool issue(req_t r) {
  uint8_t buf[64];
  uint16_t got = 0;
  switch (r) {
    case R_DETACH: return host_request_out(DETACH, 1000);
    case R_DNLOAD: return host_dnload(3, block_data, sizeof block_data);
    case R_DNLOAD_ZERO: return host_dnload(0, NULL, 0);
    case R_UPLOAD: return host_upload(2, sizeof buf, buf, &got);
    case R_GETSTATUS: return host_getstatus(NULL);
    case R_CLRSTATUS: return host_request_out(CLRSTATUS, 0);
    case R_GETSTATE: return sim_control_in(0xA1, GETSTATE, 0, 0, 1, buf, &got) && got == 1 && buf[0] == dfu_state();
    case R_ABORT: return host_request_out(ABORT, 0);
    default: return false;
  }
}

/* One row of the table: for each request, accepted? and the state afterwards (an entry
 * of 0 means "stall, then dfuERROR"). */
typedef struct {
  uint8_t state;
  uint8_t after[R_COUNT];
} row_t;

#define ERR 0
static const row_t table[] = {
    /* A zero-length DNLOAD in dfuIDLE starts manifestation, as in ST's device library:
     * dfu-util's ":leave" without an address sends it after its ABORT to dfuIDLE. */
    {S_dfuIDLE, {ERR, S_dfuDNLOAD_SYNC, S_dfuMANIFEST_SYNC, S_dfuUPLOAD_IDLE, S_dfuIDLE, ERR, S_dfuIDLE, S_dfuIDLE}},
    {S_dfuDNLOAD_SYNC, {ERR, ERR, ERR, ERR, S_dfuDNBUSY, ERR, S_dfuDNLOAD_SYNC, ERR}},
    {S_dfuDNBUSY, {ERR, ERR, ERR, ERR, S_dfuDNBUSY, ERR, ERR, ERR}},
    {S_dfuDNLOAD_IDLE,
     {ERR, S_dfuDNLOAD_SYNC, S_dfuMANIFEST_SYNC, ERR, S_dfuDNLOAD_IDLE, ERR, S_dfuDNLOAD_IDLE, S_dfuIDLE}},
    {S_dfuMANIFEST_SYNC, {ERR, ERR, ERR, ERR, S_dfuMANIFEST, ERR, S_dfuMANIFEST_SYNC, ERR}},
    /* Any request but GETSTATUS in dfuMANIFEST first finishes the manifestation, then is
     * answered from dfuMANIFEST-SYNC: GETSTATE too, which the spec would stall. */
    {S_dfuMANIFEST, {ERR, ERR, ERR, ERR, S_dfuMANIFEST, ERR, S_dfuMANIFEST_SYNC, ERR}},
    {S_dfuUPLOAD_IDLE, {ERR, ERR, ERR, S_dfuUPLOAD_IDLE, S_dfuUPLOAD_IDLE, ERR, S_dfuUPLOAD_IDLE, S_dfuIDLE}},
    {S_dfuERROR, {ERR, ERR, ERR, ERR, S_dfuERROR, S_dfuIDLE, S_dfuERROR, ERR}},
};

static void check_row(const row_t *row) {
  for (int r = 0; r < R_COUNT; r++) {
    enter(row->state);
    const uint8_t status_before = dfu_status();
    const bool accepted = issue((req_t)r);
    const uint8_t want = row->after[r];
    if (want == ERR) {
      if (accepted) fail_msg("state %u, %s: accepted, the spec says stall", row->state, req_names[r]);
      if (dfu_state() != S_dfuERROR) fail_msg("state %u, %s: now %u, want dfuERROR", row->state, req_names[r], dfu_state());
      /* Entering dfuERROR says why honestly; inside dfuERROR the first cause is kept. */
      const uint8_t want_status = row->state == S_dfuERROR ? status_before : ST_errSTALLEDPKT;
      if (dfu_status() != want_status) fail_msg("state %u, %s: bStatus %u, want %u", row->state, req_names[r], dfu_status(), want_status);
    } else {
      if (!accepted) fail_msg("state %u, %s: stalled, the spec says accept", row->state, req_names[r]);
      if (dfu_state() != want) fail_msg("state %u, %s: now %u, want %u", row->state, req_names[r], dfu_state(), want);
    }
    assert_int_equal(sim_ep0_violations, 0);
  }
}

static void test_idle(void **state) { (void)state; check_row(&table[0]); }
static void test_dnload_sync(void **state) { (void)state; check_row(&table[1]); }
static void test_dnbusy(void **state) { (void)state; check_row(&table[2]); }
static void test_dnload_idle(void **state) { (void)state; check_row(&table[3]); }
static void test_manifest_sync(void **state) { (void)state; check_row(&table[4]); }
static void test_manifest(void **state) { (void)state; check_row(&table[5]); }
static void test_upload_idle(void **state) { (void)state; check_row(&table[6]); }
static void test_error(void **state) { (void)state; check_row(&table[7]); }

/* Not manifestation-tolerant (the ROM model): after manifestation the device sits in
 * dfuMANIFEST-WAIT-RESET, answers nothing, and leaves. */
static void test_manifest_wait_reset(void **state) {
  (void)state;
  for (int r = 0; r < R_COUNT; r++) {
    dfu_status_t s;
    host_attach(&bl_profile_st_rom, 0);
    assert_int_equal(host_set_address(0x08010000u).state, S_dfuDNLOAD_IDLE);
    assert_true(host_dnload(0, NULL, 0));
    assert_true(host_getstatus(&s));
    assert_int_equal(s.state, S_dfuMANIFEST);
    sim_run();
    assert_int_equal(dfu_state(), S_dfuMANIFEST_WAIT_RESET);
    if (issue((req_t)r)) fail_msg("dfuMANIFEST-WAIT-RESET, %s: accepted", req_names[r]);
    assert_int_equal(dfu_state(), S_dfuMANIFEST_WAIT_RESET);
  }
}

/* The ROM model is strict: in dfuDNBUSY (a block being written) and dfuMANIFEST every
 * request, GETSTATUS included, stalls into dfuERROR. */
static void test_rom_busy_states_stall(void **state) {
  (void)state;
  for (int r = 0; r < R_COUNT; r++) {
    for (int manifest = 0; manifest < 2; manifest++) {
      dfu_status_t s;
      host_attach(&bl_profile_st_rom, 0);
      memset(block_data, 0x5A, sizeof block_data);
      assert_int_equal(host_set_address(0x08010000u).state, S_dfuDNLOAD_IDLE);
      if (manifest) {
        assert_true(host_dnload(0, NULL, 0));
      } else {
        assert_true(host_dnload(2, block_data, sizeof block_data));
      }
      assert_true(host_getstatus(&s));
      assert_int_equal(s.state, manifest ? S_dfuMANIFEST : S_dfuDNBUSY);
      if (issue((req_t)r)) fail_msg("ROM model, state %u, %s: accepted", s.state, req_names[r]);
      assert_int_equal(dfu_state(), S_dfuERROR);
      assert_int_equal(dfu_status(), ST_errSTALLEDPKT);
    }
  }
}

/* A short UPLOAD frame ends the upload: back to dfuIDLE. */
static void test_short_upload_ends(void **state) {
  (void)state;
  uint8_t buf[2048];
  uint16_t got = 0;
  host_attach(&bl_profile_stm32dfu, 0);
  assert_true(host_set_address(STM32DFU_APP_END - 100u).status == ST_OK);
  assert_true(host_request_out(ABORT, 0));
  assert_true(host_upload(2, 2048, buf, &got));
  assert_int_equal(got, 100);
  assert_int_equal(dfu_state(), S_dfuIDLE);
}

/* Requests with the wrong direction are unexpected too. */
static void test_wrong_direction_stalls(void **state) {
  (void)state;
  uint8_t buf[8];
  host_attach(&bl_profile_stm32dfu, 0);
  assert_false(sim_control_out(0x21, GETSTATUS, 0, 0, NULL, 0));
  assert_int_equal(dfu_state(), S_dfuERROR);
  host_attach(&bl_profile_stm32dfu, 0);
  assert_false(sim_control_in(0xA1, DNLOAD, 2, 0, 8, buf, NULL));
  assert_int_equal(dfu_state(), S_dfuERROR);
  host_attach(&bl_profile_stm32dfu, 0);
  assert_false(sim_control_in(0xA1, 7, 0, 0, 8, buf, NULL)); /* no such DFU request */
  assert_int_equal(dfu_state(), S_dfuERROR);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_idle),           cmocka_unit_test(test_dnload_sync),
      cmocka_unit_test(test_dnbusy),         cmocka_unit_test(test_dnload_idle),
      cmocka_unit_test(test_manifest_sync),  cmocka_unit_test(test_manifest),
      cmocka_unit_test(test_upload_idle),    cmocka_unit_test(test_error),
      cmocka_unit_test(test_manifest_wait_reset), cmocka_unit_test(test_rom_busy_states_stall),
      cmocka_unit_test(test_short_upload_ends),
      cmocka_unit_test(test_wrong_direction_stalls),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
