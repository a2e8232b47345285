/* DfuSe commands, address arithmetic, honest poll timeouts, self-protection, the held-back
 * first block, the CRC command, manifestation and leaving, and the ST ROM model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dfu_host.h"

static uint8_t block[2048];
static uint8_t readback[2048];
static uint8_t image[24576];

static void fill(uint8_t *p, uint32_t n, uint8_t seed) {
  for (uint32_t i = 0; i < n; i++) p[i] = (uint8_t)(seed + i * 13u);
}

static bool all_erased(uint32_t address, uint32_t length) {
  const uint8_t *p = sim_flash_at(address);
  for (uint32_t i = 0; i < length; i++) {
    if (p[i] != 0xFF) return false;
  }
  return true;
}

static void test_get_commands(void **state) {
  (void)state;
  uint16_t got = 0;
  host_attach(&bl_profile_stm32dfu, 0);
  assert_true(host_upload(0, 64, readback, &got));
  assert_int_equal(got, 4);
  assert_memory_equal(readback, "\x00\x21\x41\xB1", 4);
  assert_int_equal(dfu_state(), S_dfuIDLE); /* short frame */
  host_attach(&bl_profile_st_rom, 0);
  assert_true(host_upload(0, 64, readback, &got));
  assert_int_equal(got, 4);
  assert_memory_equal(readback, "\x00\x21\x41\x92", 4);
}

static void test_block_addressing(void **state) {
  (void)state;
  host_attach(&bl_profile_stm32dfu, 0);
  const uint32_t base = 0x08010000u;
  assert_int_equal(host_set_address(base).status, ST_OK);
  for (uint16_t b = 2; b <= 5; b++) {
    fill(block, 2048, (uint8_t)b);
    if (b == 4) continue; /* a gap: block numbers, not order, decide the address */
    assert_int_equal(host_write(b, block, 2048, NULL).status, ST_OK);
  }
  sim_run(); /* queued blocks are written by the main loop */
  for (uint16_t b = 2; b <= 5; b++) {
    const uint32_t address = base + (uint32_t)(b - 2) * 2048u;
    fill(block, 2048, (uint8_t)b);
    if (b == 4) {
      assert_true(all_erased(address, 2048));
    } else {
      assert_memory_equal(sim_flash_at(address), block, 2048);
    }
  }
  /* The pointer moves mid-download: block 2 now lands at the new pointer. */
  assert_int_equal(host_set_address(0x08020000u).status, ST_OK);
  fill(block, 2048, 0x77);
  assert_int_equal(host_write(2, block, 2048, NULL).status, ST_OK);
  sim_run();
  assert_memory_equal(sim_flash_at(0x08020000u), block, 2048);
  /* UPLOAD reads back with the same arithmetic (after ABORT to dfuIDLE, as dfu-util does). */
  assert_true(host_request_out(ABORT, 0));
  assert_int_equal(host_set_address(base).status, ST_OK);
  assert_true(host_request_out(ABORT, 0));
  uint16_t got = 0;
  assert_true(host_upload(5, 2048, readback, &got));
  assert_int_equal(got, 2048);
  fill(block, 2048, 5);
  assert_memory_equal(readback, block, 2048);
  assert_int_equal(dfu_state(), S_dfuUPLOAD_IDLE);
  assert_int_equal(sim_ep0_violations, 0);
}

static void test_ragged_last_block_is_padded(void **state) {
  (void)state;
  host_attach(&bl_profile_stm32dfu, 0);
  assert_int_equal(host_set_address(0x08010000u).status, ST_OK);
  fill(block, 2048, 1);
  assert_int_equal(host_write(2, block, 1001, NULL).status, ST_OK);
  sim_run();
  assert_memory_equal(sim_flash_at(0x08010000u), block, 1001);
  assert_true(all_erased(0x08010000u + 1001u, 2048 - 1001));
}

static void test_poll_timeouts_are_honest(void **state) {
  (void)state;
  static const uint32_t sectors[][4] = STM32DFU_SECTOR_TABLE;
  dfu_status_t first;
  host_attach(&bl_profile_stm32dfu, 0);
  for (uint32_t i = STM32DFU_APP_FIRST_SECTOR; i < STM32DFU_SECTOR_COUNT; i++) {
    const uint8_t c[5] = {0x41, (uint8_t)sectors[i][0], (uint8_t)(sectors[i][0] >> 8), (uint8_t)(sectors[i][0] >> 16),
                          (uint8_t)(sectors[i][0] >> 24)};
    assert_int_equal(host_command(c, 5, &first).status, ST_OK);
    assert_int_equal(first.state, S_dfuDNBUSY);
    assert_int_equal(first.poll_ms, sectors[i][2]);
  }
  const uint8_t mass[1] = {0x41};
  uint32_t app_total = 0;
  for (uint32_t i = STM32DFU_APP_FIRST_SECTOR; i < STM32DFU_SECTOR_COUNT; i++) app_total += sectors[i][2];
  assert_int_equal(host_command(mass, 1, &first).status, ST_OK);
  assert_int_equal(first.poll_ms, app_total);
  /* Data blocks are queued: accepted at once while a buffer is free. Once all are queued
   * the wait is for the oldest one: 512 words x 16 us = 8.192 ms, rounded up. */
  assert_int_equal(host_set_address(0x08010000u).status, ST_OK);
  for (uint16_t b = 2; b < 1u + BL_WRITE_QUEUE_BLOCKS; b++) {
    assert_int_equal(host_write(b, block, 2048, &first).status, ST_OK);
    assert_int_equal(first.state, S_dfuDNLOAD_IDLE);
    assert_int_equal(first.poll_ms, 0);
  }
  assert_int_equal(host_write(1u + BL_WRITE_QUEUE_BLOCKS, block, 2048, &first).status, ST_OK);
  assert_int_equal(first.state, S_dfuDNBUSY);
  assert_int_equal(first.poll_ms, (512u * STM32DFU_PROGRAM_US_TYP + 999u) / 1000u);
  /* A command waits for every queued block, then for itself. */
  const uint8_t crc[9] = {0xB1, 0x00, 0x00, 0x01, 0x08, 0x00, 0x08, 0x00, 0x00};
  assert_int_equal(host_command(crc, 9, &first).status, ST_OK);
  assert_int_equal(first.state, S_dfuDNBUSY);
  /* Two blocks queued, the older one partly written while the host slept its 9 ms, plus
   * the CRC of 512 words at the port's rate (hal_crc_words_per_ms). */
  const uint32_t block_us = 512u * STM32DFU_PROGRAM_US_TYP;
  const uint32_t crc_us = (512u * 1000u + sim.crc_words_per_ms - 1u) / sim.crc_words_per_ms;
  assert_true(first.poll_ms > (block_us + crc_us + 999u) / 1000u);
  assert_true(first.poll_ms <= (2u * block_us + crc_us + 999u) / 1000u);
  /* The strict ROM model announces each block's own program time. */
  host_attach(&bl_profile_st_rom, 0);
  assert_int_equal(host_set_address(0x08010000u).status, ST_OK);
  assert_int_equal(host_write(2, block, 2048, &first).status, ST_OK);
  assert_int_equal(first.state, S_dfuDNBUSY);
  assert_int_equal(first.poll_ms, (512u * STM32DFU_PROGRAM_US_TYP + 999u) / 1000u);
  assert_int_equal(host_write(3, block, 4, &first).status, ST_OK);
  assert_int_equal(first.poll_ms, 1);
  host_attach(&bl_profile_stm32dfu, 0);
  /* The held-back first block goes to RAM: nothing to wait for. */
  assert_int_equal(host_set_address(STM32DFU_APP_BASE).status, ST_OK);
  assert_int_equal(host_write(2, block, 2048, &first).status, ST_OK);
  assert_int_equal(first.poll_ms, 0);
}

/* The flash operation starts only after the GETSTATUS that announces dfuDNBUSY has
 * completed, from the main loop, never inside a USB event. */
static void test_work_waits_for_status_stage(void **state) {
  (void)state;
  host_attach(&bl_profile_stm32dfu, 0);
  const uint8_t c[5] = {0x41, 0x00, 0x00, 0x01, 0x08}; /* erase 0x08010000 */
  assert_true(host_dnload(0, c, 5));
  assert_int_equal(sim.erases, 0);
  const uint8_t setup[8] = {0xA1, GETSTATUS, 0, 0, 0, 0, 6, 0};
  usbd_setup(setup);
  assert_int_equal(sim.answer, SIM_EP0_SEND);
  assert_int_equal(sim.sent[4], S_dfuDNBUSY);
  assert_false(bl_work_pending());
  bl_poll();
  assert_int_equal(sim.erases, 0);
  usbd_ep0_transfer_complete();
  assert_int_equal(sim.erases, 0);
  assert_true(bl_work_pending());
  bl_poll();
  assert_int_equal(sim.erases, 1);
  dfu_status_t s;
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuDNLOAD_IDLE);
}

static void test_self_protection(void **state) {
  (void)state;
  host_attach(&bl_profile_stm32dfu, 0);
  fill(sim_flash_at(STM32DFU_BOOTLOADER_BASE), STM32DFU_BOOTLOADER_SIZE, 0x42);
  memcpy(image, sim_flash_at(STM32DFU_BOOTLOADER_BASE), 16384);

  /* Erase of a bootloader sector, or of no sector at all: errTARGET. */
  const uint32_t refused_erases[] = {STM32DFU_BOOTLOADER_BASE, STM32DFU_BOOTLOADER_BASE + 0x4000u, STM32DFU_APP_BASE - 4u,
                                     STM32DFU_APP_END, 0x20000000u, 0x1FFF0000u};
  for (size_t i = 0; i < sizeof refused_erases / sizeof refused_erases[0]; i++) {
    dfu_status_t first;
    const uint32_t a = refused_erases[i];
    const uint8_t c[5] = {0x41, (uint8_t)a, (uint8_t)(a >> 8), (uint8_t)(a >> 16), (uint8_t)(a >> 24)};
    const dfu_status_t s = host_command(c, 5, &first);
    if (s.state != S_dfuERROR || s.status != ST_errTARGET) fail_msg("erase at %08x: state %u status %u", a, s.state, s.status);
    assert_true(host_request_out(CLRSTATUS, 0));
  }
  assert_int_equal(sim.erases, 0);

  /* Writes into, across or past: errADDRESS. */
  const struct {
    uint32_t pointer;
    uint16_t length;
  } refused_writes[] = {
      {STM32DFU_BOOTLOADER_BASE, 2048},       {STM32DFU_APP_BASE - 1024u, 2048}, {STM32DFU_APP_BASE - 4u, 4},
      {STM32DFU_APP_END - 1024u, 2048},       {STM32DFU_APP_END, 4},             {STM32DFU_APP_BASE + 2u, 4},
      {0xFFFFF800u, 2048},
  };
  fill(block, 2048, 9);
  for (size_t i = 0; i < sizeof refused_writes / sizeof refused_writes[0]; i++) {
    assert_int_equal(host_set_address(refused_writes[i].pointer).status, ST_OK);
    const dfu_status_t s = host_write(2, block, refused_writes[i].length, NULL);
    if (s.state != S_dfuERROR || s.status != ST_errADDRESS) {
      fail_msg("write %u at %08x: state %u status %u", refused_writes[i].length, refused_writes[i].pointer, s.state, s.status);
    }
    assert_true(host_request_out(CLRSTATUS, 0));
  }
  /* Block-number arithmetic that wraps past 4 GB is refused too. */
  assert_int_equal(host_set_address(0xFFFFF000u).status, ST_OK);
  assert_int_equal(host_write(100, block, 4, NULL).status, ST_errADDRESS);
  assert_true(host_request_out(CLRSTATUS, 0));
  assert_int_equal(sim.programmed_words, 0);

  /* Mass erase erases the application only. */
  fill(sim_flash_at(STM32DFU_APP_BASE), 65536, 3);
  assert_int_equal(host_mass_erase().status, ST_OK);
  assert_true(all_erased(STM32DFU_APP_BASE, STM32DFU_APP_SIZE));
  assert_memory_equal(sim_flash_at(STM32DFU_BOOTLOADER_BASE), image, 16384);
  for (uint32_t i = 0; i < STM32DFU_BOOTLOADER_SIZE; i++) {
    if (sim_flash_at(STM32DFU_BOOTLOADER_BASE)[i] != (uint8_t)(0x42 + i * 13u)) fail_msg("bootloader byte %u changed", i);
  }
}

static void test_rom_model_writes_everything(void **state) {
  (void)state;
  host_attach(&bl_profile_st_rom, 0);
  fill(sim_flash_at(STM32DFU_FLASH_BASE), STM32DFU_FLASH_SIZE, 0x11);
  assert_int_equal(host_mass_erase().status, ST_OK);
  assert_true(all_erased(STM32DFU_FLASH_BASE, STM32DFU_FLASH_SIZE));
  assert_int_equal(host_set_address(STM32DFU_FLASH_BASE).status, ST_OK);
  fill(block, 2048, 5);
  assert_int_equal(host_write(2, block, 2048, NULL).status, ST_OK);
  assert_memory_equal(sim_flash_at(STM32DFU_FLASH_BASE), block, 2048); /* no held block either */
  const uint8_t unprotect[1] = {0x92};
  assert_int_equal(host_command(unprotect, 1, NULL).state, S_dfuDNLOAD_IDLE);
  /* Other alternate settings (option bytes, OTP, features) are not served. */
  host_attach(&bl_profile_st_rom, 1);
  assert_false(host_dnload(0, unprotect, 1));
  assert_int_equal(dfu_status(), ST_errTARGET);
  /* Leave: jumps to the address pointer, no checks, like ST's ROM. */
  host_attach(&bl_profile_st_rom, 0);
  assert_int_equal(host_set_address(0x08000000u).status, ST_OK);
  dfu_status_t s = host_manifest();
  (void)s;
  assert_int_equal(sim.jumps, 1);
  assert_int_equal(sim.jump_address, 0x08000000u);
  assert_false(sim.connected);
}

static void test_malformed_commands_stall(void **state) {
  (void)state;
  const struct {
    const char *bytes;
    uint16_t length;
  } bad[] = {
      {"\x21\x00\x80", 3}, {"\x41\x00\x80\x00", 4}, {"\x55", 1}, {"\xB1\x00\x80\x00\x08", 5},
      {"\x21\x00\x80\x00\x08\x00", 6},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    host_attach(&bl_profile_stm32dfu, 0);
    if (host_dnload(0, (const uint8_t *)bad[i].bytes, bad[i].length)) fail_msg("command %zu accepted", i);
    assert_int_equal(dfu_state(), S_dfuERROR);
    assert_int_equal(dfu_status(), ST_errSTALLEDPKT);
  }
  host_attach(&bl_profile_stm32dfu, 0);
  assert_false(host_dnload(1, block, 4)); /* block 1 has no meaning in DfuSe */
  host_attach(&bl_profile_stm32dfu, 0);
  static uint8_t big[2049];
  assert_false(host_dnload(2, big, sizeof big)); /* more than wTransferSize */
  assert_int_equal(sim_ep0_violations, 0);
}

static void test_write_needs_erased_flash_and_verifies(void **state) {
  (void)state;
  host_attach(&bl_profile_stm32dfu, 0);
  fill(sim_flash_at(0x08010000u), 2048, 1);
  memcpy(image, sim_flash_at(0x08010000u), 2048);
  assert_int_equal(host_set_address(0x08010000u).status, ST_OK);
  fill(block, 2048, 2);
  assert_int_equal(host_write(2, block, 2048, NULL).status, ST_errCHECK_ERASED);
  assert_memory_equal(sim_flash_at(0x08010000u), image, 2048);
  /* A word that does not take its value: errVERIFY, reported once the queued block is
   * written (at the next GETSTATUS), with the word's address in UPLOAD block 1. */
  host_attach(&bl_profile_stm32dfu, 0);
  sim.stuck_word_address = 0x08010010u;
  assert_int_equal(host_set_address(0x08010000u).status, ST_OK);
  memset(block, 0, 2048);
  assert_int_equal(host_write(2, block, 2048, NULL).status, ST_OK);
  sim_run();
  dfu_status_t s;
  assert_true(host_getstatus(&s));
  assert_int_equal(s.state, S_dfuERROR);
  assert_int_equal(s.status, ST_errVERIFY);
  assert_true(host_request_out(CLRSTATUS, 0));
  dfu_report_t report;
  assert_true(host_report(&report));
  assert_int_equal(report.failure_status, ST_errVERIFY);
  assert_int_equal(report.failure_address, 0x08010010u);
  /* A write-protected sector (WRPERR): errWRITE. */
  host_attach(&bl_profile_stm32dfu, 0);
  sim.write_protected[4] = true;
  assert_int_equal(host_set_address(0x08010000u).status, ST_OK);
  assert_int_equal(host_write(2, block, 2048, NULL).status, ST_OK);
  sim_run();
  assert_true(host_getstatus(&s));
  assert_int_equal(s.status, ST_errWRITE);
  assert_true(host_request_out(CLRSTATUS, 0));
  assert_true(host_report(&report));
  assert_int_equal(report.failure_address, 0x08010000u);
  assert_int_equal(host_erase(0x08010000u).status, ST_errERASE);
}

static void test_crc_command(void **state) {
  (void)state;
  host_attach(&bl_profile_stm32dfu, 0);
  fill(sim_flash_at(0x08010000u), 8192, 4);
  const uint32_t address = 0x08010004u, length = 6000u;
  const uint8_t c[9] = {0xB1, 0x04, 0x00, 0x01, 0x08, (uint8_t)length, (uint8_t)(length >> 8), 0, 0};
  dfu_status_t first;
  assert_int_equal(host_command(c, 9, &first).state, S_dfuDNLOAD_IDLE);
  assert_int_equal(first.state, S_dfuDNBUSY);
  assert_int_equal(first.poll_ms, 1); /* 1500 words at the sim's 8000 words per ms: 0.19 ms */
  assert_true(host_request_out(ABORT, 0));
  uint16_t got = 0;
  assert_true(host_upload(1, 64, readback, &got));
  assert_int_equal(got, 20); /* the CRC, then "no failure": address 0xFFFFFFFF, bStatus 0 */
  assert_memory_equal(readback + 12, "\xFF\xFF\xFF\xFF\x00\x00\x00\x00", 8);
  assert_int_equal(dfu_state(), S_dfuIDLE); /* a short frame */
  assert_true(host_upload(1, 12, readback, &got)); /* a host that asks for 12 gets the CRC */
  assert_int_equal(got, 12);
  assert_true(host_request_out(ABORT, 0));
  const uint32_t want = bl_crc_stm32(0xFFFFFFFFu, sim_flash_at(address), length);
  assert_memory_equal(readback, "\x04\x00\x01\x08", 4);
  assert_int_equal(readback[4] | readback[5] << 8, length);
  assert_int_equal((uint32_t)readback[8] | (uint32_t)readback[9] << 8 | (uint32_t)readback[10] << 16 | (uint32_t)readback[11] << 24,
                   want);
  /* Ranges it refuses: unaligned, outside flash. */
  const uint8_t unaligned[9] = {0xB1, 0x02, 0x00, 0x01, 0x08, 0x10, 0, 0, 0};
  assert_int_equal(host_command(unaligned, 9, NULL).status, ST_errADDRESS);
  assert_true(host_request_out(CLRSTATUS, 0));
  const uint8_t outside[9] = {0xB1, 0x00, 0x00, 0x00, 0x20, 0x10, 0, 0, 0};
  assert_int_equal(host_command(outside, 9, NULL).status, ST_errADDRESS);
  /* No result before a CRC command ran: UPLOAD block 1 stalls. */
  host_attach(&bl_profile_stm32dfu, 0);
  assert_false(host_upload(1, 64, readback, &got));
}

static void test_first_block_is_held_until_manifestation(void **state) {
  (void)state;
  const uint32_t length = 6144;
  make_app_image(image, length, 0x00010000u);
  host_attach(&bl_profile_stm32dfu, 0);
  assert_int_equal(host_erase(STM32DFU_APP_BASE).status, ST_OK);
  assert_int_equal(host_set_address(STM32DFU_APP_BASE).status, ST_OK);
  for (uint16_t b = 0; b < 3; b++) assert_int_equal(host_write((uint16_t)(b + 2), image + b * 2048, 2048, NULL).status, ST_OK);
  sim_run();
  /* Everything but the first block is in flash; the first block is not, and reads erased. */
  assert_true(all_erased(STM32DFU_APP_BASE, 2048));
  assert_memory_equal(sim_flash_at(STM32DFU_APP_BASE + 2048), image + 2048, length - 2048);
  assert_int_equal(boot_decide(), BOOT_STAY_NO_APP);
  /* Manifestation: the first block goes in, the stamp's magic word last. */
  dfu_status_t s = host_manifest();
  assert_int_equal(s.state, S_dfuIDLE);
  assert_int_equal(s.status, ST_OK);
  assert_memory_equal(sim_flash_at(STM32DFU_APP_BASE), image, length);
  assert_int_equal(sim.last_program_address, STM32DFU_APP_BASE + 0x1Cu);
  /* A block that straddles the held range: both parts land where they belong. */
  host_attach(&bl_profile_stm32dfu, 0);
  assert_int_equal(host_set_address(STM32DFU_APP_BASE + 1024u).status, ST_OK);
  fill(block, 2048, 8);
  assert_int_equal(host_write(2, block, 2048, NULL).status, ST_OK);
  sim_run();
  assert_true(all_erased(STM32DFU_APP_BASE + 1024u, 1024));
  assert_memory_equal(sim_flash_at(STM32DFU_APP_BASE + 2048u), block + 1024, 1024);
  /* Erasing the sector drops what was held, as it would on flash. */
  assert_int_equal(host_erase(STM32DFU_APP_BASE).status, ST_OK);
  assert_int_equal(host_manifest().status, ST_errFIRMWARE);
  assert_true(all_erased(STM32DFU_APP_BASE, 4096));
}

/* The held block stands for flash: a second write over bytes it already holds is refused
 * like one over programmed flash or a queued block (errCHECK_ERASED, naming the word), and
 * the first data stays what manifestation writes. */
static void test_held_block_refuses_a_second_write(void **state) {
  (void)state;
  const uint32_t length = 4096;
  make_app_image(image, length, 0x00010000u);
  host_attach(&bl_profile_stm32dfu, 0);
  assert_int_equal(host_erase(STM32DFU_APP_BASE).status, ST_OK);
  assert_int_equal(host_set_address(STM32DFU_APP_BASE).status, ST_OK);
  assert_int_equal(host_write(2, image, 2048, NULL).status, ST_OK);
  assert_int_equal(host_write(3, image + 2048, 2048, NULL).status, ST_OK);
  /* Another first block, say a retry with other data, or a second image. */
  fill(block, 2048, 0x42);
  dfu_status_t s = host_write(2, block, 2048, NULL);
  assert_int_equal(s.state, S_dfuERROR);
  assert_int_equal(s.status, ST_errCHECK_ERASED);
  assert_true(host_request_out(CLRSTATUS, 0));
  dfu_report_t report;
  assert_true(host_report(&report));
  assert_int_equal(report.failure_status, ST_errCHECK_ERASED);
  assert_int_equal(report.failure_address, STM32DFU_APP_BASE); /* the first word it holds */
  /* The download goes on with the first image: it completes and boots. */
  memset(block, 0xFF, sizeof block);
  assert_int_equal(host_write(4, block, 2048, NULL).status, ST_OK);
  s = host_manifest();
  assert_int_equal(s.state, S_dfuIDLE);
  assert_int_equal(s.status, ST_OK);
  assert_memory_equal(sim_flash_at(STM32DFU_APP_BASE), image, length);
  assert_int_equal(sim_ep0_violations, 0);
}

static void test_manifest_then_leave(void **state) {
  (void)state;
  const uint32_t length = 6144;
  make_app_image(image, length, 0x00010000u);
  host_attach(&bl_profile_stm32dfu, 0);
  dfu_status_t s = host_download(STM32DFU_APP_BASE, image, length);
  assert_int_equal(s.state, S_dfuIDLE);
  assert_int_equal(s.status, ST_OK);
  /* Tolerant: still on the bus, so the host can read the image back, first block included. */
  sim_run();
  assert_int_equal(sim.jumps, 0);
  assert_true(sim.connected);
  assert_true(host_request_out(ABORT, 0));
  assert_int_equal(host_set_address(STM32DFU_APP_BASE).status, ST_OK);
  assert_true(host_request_out(ABORT, 0));
  uint16_t got = 0;
  assert_true(host_upload(2, 2048, readback, &got));
  assert_memory_equal(readback, image, 2048);
  assert_true(host_request_out(ABORT, 0));
  /* The host resets the bus: the device disconnects and starts the application. */
  usbd_bus_reset();
  sim_run();
  assert_int_equal(sim.jumps, 1);
  assert_int_equal(sim.jump_address, STM32DFU_APP_BASE);
  assert_false(sim.connected);

  /* dfu-util's ":leave" says nothing after the manifest status: the device leaves after
   * BL_LEAVE_IDLE_MS of silence. */
  host_attach(&bl_profile_stm32dfu, 0);
  assert_int_equal(host_download(STM32DFU_APP_BASE, image, length).status, ST_OK);
  sim.micros += (BL_LEAVE_IDLE_MS - 1u) * 1000u;
  sim_run();
  assert_int_equal(sim.jumps, 0);
  sim.micros += 1000u;
  sim_run();
  assert_int_equal(sim.jumps, 1);

  /* An image that does not check: errFIRMWARE, and no leaving on bus reset. */
  host_attach(&bl_profile_stm32dfu, 0);
  image[3000] ^= 0x40;
  s = host_download(STM32DFU_APP_BASE, image, length);
  assert_int_equal(s.state, S_dfuERROR);
  assert_int_equal(s.status, ST_errFIRMWARE);
  usbd_bus_reset();
  sim.micros += 10u * BL_LEAVE_IDLE_MS * 1000u;
  sim_run();
  assert_int_equal(sim.jumps, 0);
  assert_int_equal(sim.resets, 0);
  assert_true(sim.connected);
  assert_int_equal(dfu_state(), S_dfuIDLE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_get_commands),
      cmocka_unit_test(test_block_addressing),
      cmocka_unit_test(test_ragged_last_block_is_padded),
      cmocka_unit_test(test_poll_timeouts_are_honest),
      cmocka_unit_test(test_work_waits_for_status_stage),
      cmocka_unit_test(test_self_protection),
      cmocka_unit_test(test_rom_model_writes_everything),
      cmocka_unit_test(test_malformed_commands_stall),
      cmocka_unit_test(test_write_needs_erased_flash_and_verifies),
      cmocka_unit_test(test_crc_command),
      cmocka_unit_test(test_first_block_is_held_until_manifestation),
      cmocka_unit_test(test_manifest_then_leave),
      cmocka_unit_test(test_held_block_refuses_a_second_write),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
