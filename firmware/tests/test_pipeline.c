/* Pipelined data blocks (our profile): blocks are queued as they arrive and written one
 * slice per bl_poll while the host sends the next ones; everything that needs the flash
 * settled waits for the queue; failures of queued blocks surface with their address. The
 * ROM model stays strict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dfu_host.h"

#define BASE 0x08010000u /* sector 4, 64 kB */
#define BLOCK 2048u
#define BLOCK_US (BLOCK / 4u * STM32DFU_PROGRAM_US_TYP)
#define SLICES_PER_BLOCK (BLOCK / BL_PROGRAM_SLICE)

static uint8_t blocks[BL_WRITE_QUEUE_BLOCKS + 1u][BLOCK];
static uint8_t readback[BLOCK];

static void fill_blocks(void) {
  for (uint32_t b = 0; b <= BL_WRITE_QUEUE_BLOCKS; b++) {
    for (uint32_t i = 0; i < BLOCK; i++) blocks[b][i] = (uint8_t)(b * 31u + i * 7u + 1u);
  }
}

static bool erased(uint32_t address, uint32_t length) {
  for (uint32_t i = 0; i < length; i++) {
    if (sim_flash_at(address)[i] != 0xFFu) return false;
  }
  return true;
}

/* Our board with the pointer at BASE and `n` blocks sent, each answered dfuDNLOAD-IDLE. */
static void queue_blocks(uint32_t n) {
  dfu_status_t s;
  fill_blocks();
  host_attach(&bl_profile_stm32dfu, 0);
  assert_int_equal(host_set_address(BASE).state, S_dfuDNLOAD_IDLE);
  for (uint32_t b = 0; b < n; b++) {
    assert_true(host_dnload((uint16_t)(b + 2u), blocks[b], BLOCK));
    assert_true(host_getstatus(&s));
    assert_int_equal(s.state, S_dfuDNLOAD_IDLE);
    assert_int_equal(s.poll_ms, 0);
  }
}

static void test_idle_at_once_while_a_buffer_is_free(void **state) {
  (void)state;
  queue_blocks(BL_WRITE_QUEUE_BLOCKS - 1u);
  /* Accepted, not yet written: nothing ran between the requests. */
  assert_int_equal(sim.flash_calls, 0);
  assert_true(erased(BASE, BLOCK));
  assert_true(bl_work_pending());
  /* The main loop writes them one slice at a time, oldest first. */
  bl_poll();
  assert_int_equal(sim.flash_calls, 1);
  assert_int_equal(sim.programmed_words, BL_PROGRAM_SLICE / 4u);
  assert_memory_equal(sim_flash_at(BASE), blocks[0], BL_PROGRAM_SLICE);
  assert_true(erased(BASE + BL_PROGRAM_SLICE, BLOCK - BL_PROGRAM_SLICE));
  sim_run();
  assert_int_equal(sim.flash_calls, (BL_WRITE_QUEUE_BLOCKS - 1u) * SLICES_PER_BLOCK);
  for (uint32_t b = 0; b + 1u < BL_WRITE_QUEUE_BLOCKS; b++) {
    assert_memory_equal(sim_flash_at(BASE + b * BLOCK), blocks[b], BLOCK);
  }
  assert_false(bl_work_pending());
  assert_int_equal(dfu_state(), S_dfuDNLOAD_IDLE);
  assert_int_equal(sim_ep0_violations, 0);
}

static void test_busy_with_honest_poll_timeout_when_full(void **state) {
  (void)state;
  dfu_status_t s;
  queue_blocks(BL_WRITE_QUEUE_BLOCKS - 1u);
  /* The block that takes the last buffer: wait for the oldest to be written. */
  assert_true(host_dnload(1u + BL_WRITE_QUEUE_BLOCKS, blocks[BL_WRITE_QUEUE_BLOCKS - 1u], BLOCK));
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuDNBUSY);
  assert_int_equal(s.status, ST_OK);
  assert_int_equal(s.poll_ms, (BLOCK_US + 999u) / 1000u);
  /* A host that polls early hears what is left, rounded up to whole milliseconds. */
  for (uint32_t i = 0; i < SLICES_PER_BLOCK - 4u; i++) bl_poll();
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuDNBUSY);
  assert_int_equal(s.poll_ms, (4u * BL_PROGRAM_SLICE / 4u * STM32DFU_PROGRAM_US_TYP + 999u) / 1000u);
  /* Once a buffer is free: dfuDNLOAD-SYNC, then dfuDNLOAD-IDLE. */
  for (uint32_t i = 0; i < 4u; i++) bl_poll();
  assert_int_equal(dfu_state(), S_dfuDNLOAD_SYNC);
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuDNLOAD_IDLE);
  assert_int_equal(s.poll_ms, 0);
  /* Sleeping the announced time is always enough. */
  assert_true(host_dnload(2u + BL_WRITE_QUEUE_BLOCKS, blocks[BL_WRITE_QUEUE_BLOCKS], BLOCK));
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuDNBUSY);
  sim_sleep(s.poll_ms);
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuDNLOAD_IDLE);
  sim_run();
  for (uint32_t b = 0; b <= BL_WRITE_QUEUE_BLOCKS; b++) {
    assert_memory_equal(sim_flash_at(BASE + b * BLOCK), blocks[b], BLOCK);
  }
  assert_int_equal(sim_ep0_violations, 0);
}

/* A failing block: errVERIFY at the next GETSTATUS, the rest of the queue dropped, the
 * failing word in UPLOAD block 1. */
static void test_queued_failure_surfaces_with_its_address(void **state) {
  (void)state;
  dfu_status_t s;
  dfu_report_t report;
  const uint32_t stuck = BASE + BLOCK + 0x124u; /* in the second block */
  fill_blocks();
  blocks[1][0x124] = 0x00; /* bit 0 must clear, and cannot */
  host_attach(&bl_profile_stm32dfu, 0);
  sim.stuck_word_address = stuck;
  assert_int_equal(host_set_address(BASE).state, S_dfuDNLOAD_IDLE);
  for (uint32_t b = 0; b < BL_WRITE_QUEUE_BLOCKS; b++) {
    assert_true(host_dnload((uint16_t)(b + 2u), blocks[b], BLOCK));
    assert_true(host_getstatus(&s));
  }
  sim_run();
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuERROR);
  assert_int_equal(s.status, ST_errVERIFY);
  assert_memory_equal(sim_flash_at(BASE), blocks[0], BLOCK);
  /* The block after the failing one was dropped, never written. */
  assert_true(erased(BASE + 2u * BLOCK, BLOCK));
  assert_true(host_request_out(CLRSTATUS, 0));
  assert_true(host_report(&report));
  assert_int_equal(report.failure_status, ST_errVERIFY);
  assert_int_equal(report.failure_address, stuck);
  assert_int_equal(report.crc, 0xFFFFFFFFu); /* no CRC has run */
  assert_int_equal(sim_ep0_violations, 0);
}

/* A failure while the host is already sending the next request: that request does not
 * run, the next GETSTATUS reports the failure. */
static void test_failure_stops_what_waits_for_the_queue(void **state) {
  (void)state;
  dfu_status_t s;
  /* A command. */
  queue_blocks(1);
  sim.write_protected[4] = true;
  const uint8_t erase5[5] = {0x41, 0x00, 0x00, 0x02, 0x08}; /* sector 5 */
  assert_true(host_dnload(0, erase5, 5));
  sim_run();
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuERROR);
  assert_int_equal(s.status, ST_errWRITE);
  sim_run();
  assert_int_equal(sim.erases, 0);
  /* The next data block: not queued. */
  queue_blocks(1);
  sim.stuck_word_address = BASE;
  blocks[0][0] = 0x00;
  host_attach(&bl_profile_stm32dfu, 0);
  sim.stuck_word_address = BASE;
  assert_int_equal(host_set_address(BASE).state, S_dfuDNLOAD_IDLE);
  assert_true(host_dnload(2, blocks[0], BLOCK));
  assert_true(host_getstatus(&s));
  sim_run();
  assert_true(host_dnload(3, blocks[1], BLOCK));
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuERROR);
  assert_int_equal(s.status, ST_errVERIFY);
  sim_run();
  assert_true(erased(BASE + BLOCK, BLOCK));
  /* Manifestation: the held block is not written. */
  host_attach(&bl_profile_stm32dfu, 0);
  sim.stuck_word_address = STM32DFU_APP_BASE + BLOCK;
  assert_int_equal(host_set_address(STM32DFU_APP_BASE).state, S_dfuDNLOAD_IDLE);
  memset(blocks[0], 0x00, BLOCK);
  assert_true(host_dnload(2, blocks[0], BLOCK)); /* held */
  assert_true(host_getstatus(&s));
  assert_true(host_dnload(3, blocks[0], BLOCK)); /* flash: its first word sticks */
  assert_true(host_getstatus(&s));
  assert_true(host_dnload(0, NULL, 0));
  sim_run();
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuERROR);
  assert_int_equal(s.status, ST_errVERIFY);
  assert_true(erased(STM32DFU_APP_BASE, BLOCK));
  assert_int_equal(sim_ep0_violations, 0);
}

/* A command arriving behind queued blocks is announced with their time plus its own and
 * starts only once they are written; an erase never overlaps programming. */
static void test_commands_wait_for_the_queue(void **state) {
  (void)state;
  dfu_status_t s;
  static const uint32_t sectors[][4] = STM32DFU_SECTOR_TABLE;
  queue_blocks(2);
  const uint8_t erase5[5] = {0x41, 0x00, 0x00, 0x02, 0x08}; /* sector 5: 0x08020000 */
  assert_true(host_dnload(0, erase5, 5));
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuDNBUSY);
  assert_int_equal(s.poll_ms, (2u * BLOCK_US + sectors[5][2] * 1000u + 999u) / 1000u);
  for (uint32_t i = 0; i < 2u * SLICES_PER_BLOCK; i++) {
    bl_poll();
    assert_int_equal(sim.erases, 0);
  }
  assert_memory_equal(sim_flash_at(BASE + BLOCK), blocks[1], BLOCK);
  bl_poll();
  assert_int_equal(sim.erases, 1);
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuDNLOAD_IDLE);

  /* CRC of the queued range: it covers what the blocks wrote. */
  queue_blocks(2);
  const uint8_t crc[9] = {0xB1, 0x00, 0x00, 0x01, 0x08, 0x00, 0x10, 0x00, 0x00};
  assert_int_equal(host_command(crc, 9, NULL).state, S_dfuDNLOAD_IDLE);
  assert_true(host_request_out(ABORT, 0));
  dfu_report_t report;
  assert_true(host_report(&report));
  assert_int_equal(report.crc_length, 2u * BLOCK);
  uint32_t want = bl_crc_stm32(0xFFFFFFFFu, blocks[0], BLOCK);
  want = bl_crc_stm32(want, blocks[1], BLOCK);
  assert_int_equal(report.crc, want);
  assert_int_equal(report.failure_address, DFUSE_REPORT_NO_FAILURE);
  assert_int_equal(sim_ep0_violations, 0);
}

/* ABORT, CLRSTATUS and bus reset finish the queue before they return: the host saw the
 * blocks accepted. UPLOAD (from dfuIDLE) then reads them. */
static void test_abort_and_reset_finish_the_queue(void **state) {
  (void)state;
  uint16_t got = 0;
  queue_blocks(BL_WRITE_QUEUE_BLOCKS - 1u);
  assert_int_equal(sim.flash_calls, 0);
  assert_true(host_request_out(ABORT, 0));
  assert_int_equal(sim.flash_calls, (BL_WRITE_QUEUE_BLOCKS - 1u) * SLICES_PER_BLOCK);
  assert_int_equal(dfu_state(), S_dfuIDLE);
  assert_false(bl_work_pending());
  assert_true(host_upload(3, BLOCK, readback, &got)); /* pointer BASE: block 3 is the second */
  assert_int_equal(got, BLOCK);
  assert_memory_equal(readback, blocks[1], BLOCK);

  /* ABORT when a queued block fails: stall, dfuERROR with the failure. */
  host_attach(&bl_profile_stm32dfu, 0);
  sim.write_protected[4] = true;
  assert_int_equal(host_set_address(BASE).state, S_dfuDNLOAD_IDLE);
  assert_true(host_dnload(2, blocks[0], BLOCK));
  assert_true(host_getstatus(NULL));
  assert_false(host_request_out(ABORT, 0));
  assert_int_equal(dfu_state(), S_dfuERROR);
  assert_int_equal(dfu_status(), ST_errWRITE);

  /* A request the state does not expect leaves the queue running; CLRSTATUS finishes it. */
  queue_blocks(1);
  uint8_t buf[8];
  assert_false(host_upload(2, sizeof buf, buf, &got)); /* UPLOAD in dfuDNLOAD-IDLE */
  assert_int_equal(dfu_status(), ST_errSTALLEDPKT);
  assert_true(host_request_out(CLRSTATUS, 0));
  assert_memory_equal(sim_flash_at(BASE), blocks[0], BLOCK);

  /* Bus reset. */
  queue_blocks(BL_WRITE_QUEUE_BLOCKS - 1u);
  usbd_bus_reset();
  assert_int_equal(dfu_state(), S_dfuIDLE);
  for (uint32_t b = 0; b + 1u < BL_WRITE_QUEUE_BLOCKS; b++) {
    assert_memory_equal(sim_flash_at(BASE + b * BLOCK), blocks[b], BLOCK);
  }
  assert_int_equal(sim_ep0_violations, 0);
}

/* Manifestation waits for the queue, then writes the held block, magic word last. */
static void test_manifestation_waits_for_the_queue(void **state) {
  (void)state;
  dfu_status_t s;
  static uint8_t image[BL_WRITE_QUEUE_BLOCKS * BLOCK];
  make_app_image(image, sizeof image, 0x00010203u);
  host_attach(&bl_profile_stm32dfu, 0);
  assert_int_equal(host_set_address(STM32DFU_APP_BASE).state, S_dfuDNLOAD_IDLE);
  /* First block last, as hosts do; it goes to RAM and takes no buffer. */
  for (uint16_t b = 1; b < BL_WRITE_QUEUE_BLOCKS; b++) {
    assert_true(host_dnload((uint16_t)(b + 2u), image + b * BLOCK, BLOCK));
    assert_true(host_getstatus(&s));
    assert_int_equal(s.state, S_dfuDNLOAD_IDLE);
  }
  assert_true(host_dnload(2, image, BLOCK));
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuDNLOAD_IDLE);
  assert_int_equal(sim.flash_calls, 0);
  const uint32_t queued = BL_WRITE_QUEUE_BLOCKS - 1u;
  assert_true(host_dnload(0, NULL, 0));
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuMANIFEST);
  assert_int_equal(s.poll_ms, (queued * BLOCK_US + BLOCK_US + 999u) / 1000u);
  /* Not one held word before the last queued word. */
  while (bl_work_pending() && dfu_state() == S_dfuMANIFEST) {
    bl_poll();
    if (!erased(STM32DFU_APP_BASE, BLOCK)) {
      assert_memory_equal(sim_flash_at(STM32DFU_APP_BASE + BLOCK), image + BLOCK, queued * BLOCK);
    }
  }
  assert_int_equal(sim.last_program_address, STM32DFU_APP_BASE + 0x1Cu);
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuIDLE);
  assert_memory_equal(sim_flash_at(STM32DFU_APP_BASE), image, sizeof image);
  assert_int_equal(boot_decide(), BOOT_JUMP);
}

/* A block over bytes a queued block will write is refused on arrival (errCHECK_ERASED,
 * nothing touched), as it would be once they are in flash. */
static void test_blank_check_covers_queued_blocks(void **state) {
  (void)state;
  dfu_status_t s;
  dfu_report_t report;
  queue_blocks(1);
  assert_true(host_dnload(2, blocks[1], BLOCK)); /* block 2 again */
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuERROR);
  assert_int_equal(s.status, ST_errCHECK_ERASED);
  assert_true(host_request_out(CLRSTATUS, 0));
  assert_memory_equal(sim_flash_at(BASE), blocks[0], BLOCK); /* the first one, untouched */
  assert_true(host_report(&report));
  assert_int_equal(report.failure_status, ST_errCHECK_ERASED);
  assert_int_equal(report.failure_address, BASE);
}

/* The ROM model: one block at a time, programmed only after dfuDNBUSY was announced. */
static void test_rom_model_is_strict(void **state) {
  (void)state;
  dfu_status_t s;
  fill_blocks();
  host_attach(&bl_profile_st_rom, 0);
  assert_int_equal(host_set_address(BASE).state, S_dfuDNLOAD_IDLE);
  assert_true(host_dnload(2, blocks[0], BLOCK));
  bl_poll();
  assert_int_equal(sim.flash_calls, 0);
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuDNBUSY);
  assert_int_equal(s.poll_ms, (BLOCK_US + 999u) / 1000u);
  sim_sleep(s.poll_ms);
  assert_int_equal(sim.flash_calls, SLICES_PER_BLOCK);
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuDNLOAD_IDLE);
  assert_memory_equal(sim_flash_at(BASE), blocks[0], BLOCK);
  assert_int_equal(sim_ep0_violations, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_idle_at_once_while_a_buffer_is_free),
      cmocka_unit_test(test_busy_with_honest_poll_timeout_when_full),
      cmocka_unit_test(test_queued_failure_surfaces_with_its_address),
      cmocka_unit_test(test_failure_stops_what_waits_for_the_queue),
      cmocka_unit_test(test_commands_wait_for_the_queue),
      cmocka_unit_test(test_abort_and_reset_finish_the_queue),
      cmocka_unit_test(test_manifestation_waits_for_the_queue),
      cmocka_unit_test(test_blank_check_covers_queued_blocks),
      cmocka_unit_test(test_rom_model_is_strict),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
