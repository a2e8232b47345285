/* Paths real hosts take that a host written for this bootloader never does: dfu-util 0.11's
 * request sequences (src/dfuse.c, src/main.c) without ":leave", ":leave" without an
 * address, "-R" after a download, ":unprotect:force", a host that ignores bwPollTimeout,
 * and a stalled request after a block failed in the background. Each test replays the
 * exact requests, then checks what the board does next: what the flash holds, whether the
 * next power-on boots the application, what the host reads back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dfu_host.h"

#define APP_LENGTH 12288u /* six 2 kB blocks: the held first one and five queued */

static uint8_t app[APP_LENGTH];

/* dfu-util's dfuse_dnload_element for a raw binary (-s ADDRESS -D file.bin): erase every
 * page a chunk touches, then per chunk SET_ADDRESS and DNLOAD block 2, each polled with
 * GETSTATUS until it leaves dfuDNBUSY. Returns false when the device refused something. */
static bool dfu_util_download(uint32_t address, const uint8_t *image, uint32_t length) {
  if (host_erase(address).status != ST_OK) return false;
  for (uint32_t offset = 0; offset < length; offset += 2048u) {
    const uint32_t n = length - offset < 2048u ? length - offset : 2048u;
    if (host_set_address(address + offset).status != ST_OK) return false;
    if (host_write(2, image + offset, (uint16_t)n, NULL).status != ST_OK) return false;
  }
  return true;
}

/* dfu_abort_to_idle: ABORT, then GETSTATUS must say dfuIDLE. */
static void dfu_util_abort_to_idle(void) {
  dfu_status_t s;
  assert_true(host_request_out(ABORT, 0));
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuIDLE);
}

/* The next power-on: SRAM (the boot-request word) is gone, the flash stays. */
static boot_verdict_t power_on(void) {
  sim.request_magic = 0;
  sim.request_check = 0;
  return boot_decide();
}

static void board(void) {
  host_attach(&bl_profile_stm32dfu, 0);
  make_app_image(app, APP_LENGTH, 0x00010203u);
}

/* dfu-util -a 0 -s 0x08008000 -D app.bin: no ":leave", so the download ends with ABORT. The
 * first block must reach the flash then, or the next power-on finds no application. */
static void test_download_without_leave_boots_at_the_next_power_on(void **state) {
  (void)state;
  board();
  assert_true(dfu_util_download(STM32DFU_APP_BASE, app, APP_LENGTH));
  dfu_util_abort_to_idle();
  assert_memory_equal(sim_flash_at(STM32DFU_APP_BASE), app, APP_LENGTH);
  assert_int_equal(power_on(), BOOT_JUMP);
  assert_int_equal(sim_ep0_violations, 0);
}

/* ... and -U right after it reads back what was sent, first block included. */
static void test_upload_after_download_reads_the_first_block(void **state) {
  (void)state;
  board();
  assert_true(dfu_util_download(STM32DFU_APP_BASE, app, APP_LENGTH));
  dfu_util_abort_to_idle();
  /* dfuse_do_upload: SET_ADDRESS, abort to idle, UPLOAD blocks from 2. */
  assert_int_equal(host_set_address(STM32DFU_APP_BASE).status, ST_OK);
  dfu_util_abort_to_idle();
  static uint8_t read[2048];
  uint16_t got = 0;
  assert_true(host_upload(2, sizeof read, read, &got));
  assert_int_equal(got, sizeof read);
  assert_memory_equal(read, app, sizeof read);
}

/* A host that reads the first block back without ABORT first cannot: UPLOAD is refused in
 * dfuDNLOAD-IDLE. But one that asks for the CRC of it (our protocol's verify) gets the
 * CRC of what it sent. */
static void test_crc_over_the_first_block_covers_what_was_sent(void **state) {
  (void)state;
  board();
  assert_true(dfu_util_download(STM32DFU_APP_BASE, app, APP_LENGTH));
  const uint32_t a = STM32DFU_APP_BASE;
  const uint8_t crc_command[9] = {0xB1, (uint8_t)a, (uint8_t)(a >> 8), (uint8_t)(a >> 16), (uint8_t)(a >> 24),
                                  (uint8_t)APP_LENGTH, (uint8_t)(APP_LENGTH >> 8), 0, 0};
  assert_int_equal(host_command(crc_command, sizeof crc_command, NULL).status, ST_OK);
  dfu_report_t report;
  assert_true(host_request_out(ABORT, 0));
  assert_true(host_report(&report));
  assert_int_equal(report.crc, bl_crc_stm32(0xFFFFFFFFu, app, APP_LENGTH));
}

/* A download cut off half way, then ABORT (the host gave up): the held block is written,
 * but the stamp's CRC covers the whole image, so the partial one never boots. */
static void test_aborted_partial_download_never_boots(void **state) {
  (void)state;
  board();
  assert_true(dfu_util_download(STM32DFU_APP_BASE, app, APP_LENGTH / 2u));
  dfu_util_abort_to_idle();
  assert_int_equal(power_on(), BOOT_STAY_BAD_STAMP);
}

/* Power lost while ABORT writes the held block: the magic word goes last, so no cut can
 * leave a stamp that checks. */
static void test_power_cut_while_abort_writes_the_first_block(void **state) {
  (void)state;
  static jmp_buf cut;
  board();
  assert_true(dfu_util_download(STM32DFU_APP_BASE, app, APP_LENGTH));
  assert_true(host_request_out(ABORT, 0));
  const uint32_t total = sim.flash_ops;
  uint32_t words_at_abort = 0;
  for (uint32_t k = 1;; k++) {
    board();
    assert_true(dfu_util_download(STM32DFU_APP_BASE, app, APP_LENGTH));
    const uint32_t before = sim.flash_ops;
    words_at_abort = total - before;
    if (k > words_at_abort) break;
    sim.power_cut_at = before + k;
    sim.power_cut_jump = &cut;
    if (setjmp(cut) == 0) {
      (void)host_request_out(ABORT, 0);
      fail_msg("ABORT finished although power was cut at its word %u of %u", k, words_at_abort);
    }
    sim.power_cut_jump = NULL;
    sim.power_cut_at = 0;
    if (power_on() == BOOT_JUMP) fail_msg("power cut at word %u of %u of the held block: it boots", k, words_at_abort);
  }
  assert_true(words_at_abort >= 2048u / 4u - 8u);
}

/* A bus reset in the middle of a download (the host went away and the OS reset the port):
 * what was sent is written, held block last; a partial image still does not boot, a whole
 * one does. */
static void test_bus_reset_ends_a_download_like_abort(void **state) {
  (void)state;
  board();
  assert_true(dfu_util_download(STM32DFU_APP_BASE, app, APP_LENGTH));
  usbd_bus_reset();
  assert_memory_equal(sim_flash_at(STM32DFU_APP_BASE), app, APP_LENGTH);
  assert_int_equal(power_on(), BOOT_JUMP);
  board();
  assert_true(dfu_util_download(STM32DFU_APP_BASE, app, 4096u));
  usbd_bus_reset();
  assert_int_equal(power_on(), BOOT_STAY_BAD_STAMP);
}

/* dfu-util -a 0 -D app.dfu -s :leave: no address, so after the download dfuse_do_leave
 * sends the zero-length DNLOAD straight after its ABORT to dfuIDLE. ST's device library
 * takes that as the end of the download; so must we, and then start the application. */
static void test_leave_without_address_from_idle(void **state) {
  (void)state;
  board();
  assert_true(dfu_util_download(STM32DFU_APP_BASE, app, APP_LENGTH));
  dfu_util_abort_to_idle();
  assert_true(host_dnload(2, NULL, 0));
  dfu_status_t s;
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuMANIFEST);
  sim_sleep(s.poll_ms);
  /* dfu-util has exited; the board leaves once the bus is quiet. */
  sim_sleep(BL_LEAVE_IDLE_MS + 10u);
  sim_run();
  assert_int_equal(sim.jumps, 1);
  assert_int_equal(sim.jump_address, STM32DFU_APP_BASE);
}

/* Manifestation interrupted by a request the spec says to stall: dfu-util -R sends DETACH
 * right after the manifest GETSTATUS on a device whose bwPollTimeout ran short; a browser
 * client polls GETSTATE. The manifestation is finished first, never dropped. */
static void start_manifestation(void) {
  board();
  assert_true(dfu_util_download(STM32DFU_APP_BASE, app, APP_LENGTH));
  assert_true(host_dnload(0, NULL, 0));
  dfu_status_t s;
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuMANIFEST);
  assert_true(s.poll_ms > 0u);
  /* Nothing of the held block is written yet: the host did not wait. */
  assert_int_equal(sim_flash_at(STM32DFU_APP_BASE)[0x1C], 0xFF);
}

static void test_detach_during_manifestation_finishes_it(void **state) {
  (void)state;
  start_manifestation();
  assert_false(host_request_out(DETACH, 1000)); /* DETACH has no place in DFU mode */
  assert_memory_equal(sim_flash_at(STM32DFU_APP_BASE), app, APP_LENGTH);
  assert_int_equal(dfu_state(), S_dfuERROR);
  assert_int_equal(dfu_status(), ST_errSTALLEDPKT);
  /* dfu-util then resets the port: DFU 1.1 §8, the new firmware starts. */
  usbd_bus_reset();
  sim_run();
  assert_int_equal(sim.jumps, 1);
  assert_int_equal(power_on(), BOOT_JUMP);
}

static void test_getstate_during_manifestation_finishes_it(void **state) {
  (void)state;
  start_manifestation();
  uint8_t answer = 0xEE;
  uint16_t got = 0;
  assert_true(sim_control_in(0xA1, GETSTATE, 0, 0, 1, &answer, &got));
  assert_int_equal(answer, S_dfuMANIFEST_SYNC);
  dfu_status_t s;
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuIDLE); /* the image would boot */
  assert_int_equal(s.status, ST_OK);
  assert_memory_equal(sim_flash_at(STM32DFU_APP_BASE), app, APP_LENGTH);
}

static void test_bus_reset_during_manifestation_finishes_it_and_starts_the_app(void **state) {
  (void)state;
  start_manifestation();
  usbd_bus_reset();
  sim_run();
  assert_int_equal(sim.jumps, 1);
  assert_memory_equal(sim_flash_at(STM32DFU_APP_BASE), app, APP_LENGTH);
}

/* A block fails in the background (the word at 0x08008804 will not program), a request the
 * state does not allow arrives before the GETSTATUS that would report it, then the host
 * clears the status as dfu-util does. DFU 1.1: CLRSTATUS in dfuERROR returns to dfuIDLE,
 * once; the failure is named by the error state and the report. */
static void test_clrstatus_after_a_background_failure_and_a_stall(void **state) {
  (void)state;
  board();
  sim.stuck_word_address = STM32DFU_APP_BASE + 0x804u;
  assert_int_equal(host_erase(STM32DFU_APP_BASE).status, ST_OK);
  assert_int_equal(host_set_address(STM32DFU_APP_BASE + 0x800u).status, ST_OK);
  dfu_status_t s;
  static uint8_t zeros[2048]; /* bit 0 of the stuck word must be cleared to fail */
  assert_true(host_dnload(2, zeros, sizeof zeros));
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuDNLOAD_IDLE); /* queued */
  sim_run();                                   /* ... and it fails */
  uint8_t buf[64];
  uint16_t got = 0;
  assert_false(host_upload(2, sizeof buf, buf, &got)); /* UPLOAD in dfuDNLOAD-IDLE */
  assert_int_equal(dfu_state(), S_dfuERROR);
  assert_int_equal(dfu_status(), ST_errVERIFY); /* the first cause */
  assert_true(host_request_out(CLRSTATUS, 0));
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuIDLE);
  assert_int_equal(s.status, ST_OK);
  dfu_report_t report;
  assert_true(host_report(&report));
  assert_int_equal(report.failure_status, ST_errVERIFY);
  assert_int_equal(report.failure_address, STM32DFU_APP_BASE + 0x804u);
  assert_int_equal(sim_ep0_violations, 0);
}

/* dfu-util -s :unprotect:force: READ_UNPROTECT would mass-erase the chip, bootloader
 * included. Refused on its face: the DNLOAD is taken, its first GETSTATUS answers
 * dfuERROR / errTARGET instead of dfuDNBUSY, nothing is erased, and the device works on
 * after CLRSTATUS. Get Commands does not list it, so ST's tools never send it. */
static void test_read_unprotect_is_refused_without_touching_flash(void **state) {
  (void)state;
  board();
  sim_flash_load(STM32DFU_APP_BASE, app, APP_LENGTH);
  const uint32_t erases = sim.erases;
  const uint8_t unprotect[1] = {0x92};
  assert_true(host_dnload(0, unprotect, 1));
  dfu_status_t s;
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuERROR);
  assert_int_equal(s.status, ST_errTARGET);
  sim_run();
  assert_int_equal(sim.erases, erases);
  assert_memory_equal(sim_flash_at(STM32DFU_APP_BASE), app, APP_LENGTH);
  assert_true(host_request_out(CLRSTATUS, 0));
  uint8_t commands[8];
  uint16_t got = 0;
  assert_true(host_upload(0, sizeof commands, commands, &got));
  assert_null(memchr(commands, 0x92, got));
  assert_int_equal(power_on(), BOOT_JUMP);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_download_without_leave_boots_at_the_next_power_on),
      cmocka_unit_test(test_upload_after_download_reads_the_first_block),
      cmocka_unit_test(test_crc_over_the_first_block_covers_what_was_sent),
      cmocka_unit_test(test_aborted_partial_download_never_boots),
      cmocka_unit_test(test_power_cut_while_abort_writes_the_first_block),
      cmocka_unit_test(test_bus_reset_ends_a_download_like_abort),
      cmocka_unit_test(test_leave_without_address_from_idle),
      cmocka_unit_test(test_detach_during_manifestation_finishes_it),
      cmocka_unit_test(test_getstate_during_manifestation_finishes_it),
      cmocka_unit_test(test_bus_reset_during_manifestation_finishes_it_and_starts_the_app),
      cmocka_unit_test(test_clrstatus_after_a_background_failure_and_a_stall),
      cmocka_unit_test(test_read_unprotect_is_refused_without_touching_flash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
