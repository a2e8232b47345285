/* Power lost during the k-th flash operation (every erase and every programmed word) and
 * right after the k-th slice of flash work (one bl_poll's erase or program call) of a full
 * pipelined download, for every k: the board must never boot a partial image (contract 6),
 * and the full download must boot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dfu_host.h"

#define NEW_LENGTH 20480u /* spans two sectors, so an erase happens mid-download */
#define OLD_LENGTH 12288u

static uint8_t new_image[NEW_LENGTH];
static uint8_t old_image[OLD_LENGTH];
static jmp_buf power_cut;

/* A board with a valid older application on it, attached to the host. */
static void board_with_old_app(void) {
  host_attach(&bl_profile_stm32dfu, 0);
  sim_flash_load(STM32DFU_APP_BASE, old_image, OLD_LENGTH);
}

static void test_every_power_cut(void **state) {
  (void)state;
  make_app_image(old_image, OLD_LENGTH, 0x00010000u);
  make_app_image(new_image, NEW_LENGTH, 0x00020000u);
  /* A body unlike the old one (first block included), then stamped again. */
  for (uint32_t i = 0x40; i < NEW_LENGTH; i += 4) new_image[i] = (uint8_t)(i >> 3);
  {
    uint8_t *p = new_image;
    uint32_t crc = bl_crc_stm32(0xFFFFFFFFu, p, 0x24);
    crc = bl_crc_stm32(crc, p + 0x28, NEW_LENGTH - 0x28);
    p[0x24] = (uint8_t)crc;
    p[0x25] = (uint8_t)(crc >> 8);
    p[0x26] = (uint8_t)(crc >> 16);
    p[0x27] = (uint8_t)(crc >> 24);
  }

  /* Without a cut: count the operations, and the result boots. */
  board_with_old_app();
  assert_int_equal(boot_decide(), BOOT_JUMP);
  const dfu_status_t done = host_download(STM32DFU_APP_BASE, new_image, NEW_LENGTH);
  assert_int_equal(done.status, ST_OK);
  assert_int_equal(done.state, S_dfuIDLE);
  const uint32_t total = sim.flash_ops;
  const uint32_t slices = sim.flash_calls;
  assert_true(total >= NEW_LENGTH / 4u + 2u);
  /* Every data block is cut into slices; the held block's words go in runs, magic last. */
  assert_true(slices >= (NEW_LENGTH - 2048u) / BL_PROGRAM_SLICE + 2u + 2048u / BL_PROGRAM_SLICE + 1u);
  assert_memory_equal(sim_flash_at(STM32DFU_APP_BASE), new_image, NEW_LENGTH);
  assert_int_equal(boot_decide(), BOOT_JUMP);

  uint32_t cuts = 0;
  for (uint32_t k = 1; k <= total; k++) {
    board_with_old_app();
    sim.power_cut_at = k;
    sim.power_cut_jump = &power_cut;
    if (setjmp(power_cut) == 0) {
      host_download(STM32DFU_APP_BASE, new_image, NEW_LENGTH);
      fail_msg("the download finished although power was cut at operation %u of %u", k, total);
    }
    cuts++;
    sim.power_cut_jump = NULL;
    /* Power back: the boot decision on what the flash holds now. */
    const boot_verdict_t verdict = boot_decide();
    if (verdict == BOOT_JUMP) {
      fail_msg("power cut at flash operation %u of %u: the bootloader would boot a partial image", k, total);
    }
  }
  assert_int_equal(cuts, total);

  cuts = 0;
  for (uint32_t k = 1; k <= slices; k++) {
    board_with_old_app();
    sim.power_cut_after_call = k;
    sim.power_cut_jump = &power_cut;
    if (setjmp(power_cut) == 0) {
      host_download(STM32DFU_APP_BASE, new_image, NEW_LENGTH);
      if (k < slices) fail_msg("the download finished although power was cut after slice %u of %u", k, slices);
      /* After the very last slice the image is whole: power may go. */
    }
    cuts++;
    sim.power_cut_jump = NULL;
    const boot_verdict_t verdict = boot_decide();
    if (k < slices && verdict == BOOT_JUMP) {
      fail_msg("power cut after slice %u of %u: the bootloader would boot a partial image", k, slices);
    }
    if (k == slices && verdict != BOOT_JUMP) fail_msg("power cut after the last slice: the complete image does not boot");
  }
  assert_int_equal(cuts, slices);
  printf("power cut during each of %u flash operations and after each of %u slices: never booted a partial image\n",
         total, slices);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_every_power_cut)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
