/*
 * test_flash.c — the port's flash driver (flash.c) on the host, against RAM stand-ins for
 * the FLASH interface registers (host_regs.h) and, for the program path, host memory mapped
 * at the chip's flash address. The bootloader's own sectors are refused in the driver itself,
 * before any FLASH register is read or written, while the application's still erase and
 * program. Built twice by tests/run.sh: as the bootloader has it, and with
 * PORT_FLASH_SELF_UPDATE=1, the explicit switch a self-update path would build with.
 * Needs _GNU_SOURCE (MAP_FIXED_NOREPLACE), given on the command line by run.sh.
 */
#include <stdbool.h>
#include <sys/mman.h>

#include "port.h"
#include "port_test.h"
#include "stm32f4_regs.h"

#ifndef PORT_FLASH_SELF_UPDATE
#define PORT_FLASH_SELF_UPDATE 0
#endif

#define FLASH_SR_ADDR 0x40023C0Cu
#define FLASH_CR_ADDR 0x40023C10u

/* ---- What flash.c needs from the rest of the port ---- */

static uint32_t fake_millis;
uint32_t hal_millis(void) {
  return fake_millis++;
}

/* Called right before STRT and in every BSY poll: FLASH_CR as the erase is started. */
static uint32_t cr_before_start;
void watchdog_refresh(void) {
  cr_before_start = *host_reg(FLASH_CR_ADDR);
}

/* The chip's flash array at its own address, when the host lets us map it there. */
static bool flash_mapped;
static void map_flash(void) {
  void *at = mmap((void *)(uintptr_t)STM32DFU_FLASH_BASE, STM32DFU_FLASH_SIZE, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  flash_mapped = at == (void *)(uintptr_t)STM32DFU_FLASH_BASE;
  if (flash_mapped) {
    memset(at, 0xFF, STM32DFU_FLASH_SIZE);
  } else {
    fprintf(stderr, "note: cannot map host memory at 0x%08X; the program checks use no flash\n",
            STM32DFU_FLASH_BASE);
  }
}

/* The FLASH interface as the driver sees it on a healthy chip: never busy and no error
 * (the driver's rc_w1 writes to FLASH_SR clear flags, they set none). The model cannot run
 * the FLASH_KEYR key sequence (RM0383 §3.5.1), so FLASH_CR starts unlocked. */
static void flash_model(void) {
  *host_reg(FLASH_SR_ADDR) = 0u;
}

static void fresh(void) {
  host_regs_reset();
  host_regs_set_model(flash_model);
  cr_before_start = 0u;
  host_regs_clear_counts();
}

static const char *status_name(hal_status_t status) {
  static const char *const names[] = {"HAL_OK", "HAL_ERR_PROTECTED", "HAL_ERR_ALIGNMENT", "HAL_ERR_SEQUENCE",
                                      "HAL_ERR_TIMEOUT", "HAL_ERR_VERIFY"};
  return (unsigned)status < sizeof names / sizeof names[0] ? names[status] : "?";
}

#if !PORT_FLASH_SELF_UPDATE
/* ---- The bootloader's sectors ---- */

static void test_erase_bootloader_sectors_refused(void) {
  for (uint32_t sector = 0; sector < STM32DFU_APP_FIRST_SECTOR; sector++) {
    fresh();
    hal_status_t status = hal_flash_erase_sector(sector);
    if (status != HAL_ERR_PROTECTED) {
      problem("erase of bootloader sector %u returned %s, not HAL_ERR_PROTECTED", sector, status_name(status));
    }
    if (host_reg_accesses(HOST_FLASH) != 0u) {
      problem("erase of bootloader sector %u made %u FLASH register accesses, expected none", sector,
              host_reg_accesses(HOST_FLASH));
    }
  }
}

static void test_program_bootloader_region_refused(void) {
  static const uint8_t words[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
  static const struct {
    uint32_t address, length;
  } attempts[] = {
      {STM32DFU_FLASH_BASE, 4u},                 /* the initial stack pointer */
      {STM32DFU_FLASH_BASE + 4u, 4u},            /* the reset vector */
      {STM32DFU_FLASH_BASE, 0u},                 /* nothing, but still below the application */
      {STM32DFU_APP_BASE - 4u, 4u},              /* the bootloader's last word */
      {STM32DFU_APP_BASE - 4u, 8u},              /* across the boundary */
      {STM32DFU_BOOTLOADER_BASE + 0x4000u, 4u},  /* sector 1 */
  };
  for (uint32_t i = 0; i < sizeof attempts / sizeof attempts[0]; i++) {
    fresh();
    uint8_t before[8];
    if (flash_mapped) {
      memcpy(before, (const void *)(uintptr_t)attempts[i].address, attempts[i].length);
    }
    hal_status_t status = hal_flash_program(attempts[i].address, words, attempts[i].length);
    if (status != HAL_ERR_PROTECTED) {
      problem("program of %u bytes at 0x%08X returned %s, not HAL_ERR_PROTECTED", attempts[i].length,
              attempts[i].address, status_name(status));
    }
    if (host_reg_accesses(HOST_FLASH) != 0u) {
      problem("program of %u bytes at 0x%08X made %u FLASH register accesses, expected none", attempts[i].length,
              attempts[i].address, host_reg_accesses(HOST_FLASH));
    }
    if (flash_mapped && memcmp(before, (const void *)(uintptr_t)attempts[i].address, attempts[i].length) != 0) {
      problem("program at 0x%08X changed flash", attempts[i].address);
    }
  }
}

/* ---- The application's sectors: still served ---- */

static void test_erase_application_sector(void) {
  fresh();
  hal_status_t status = hal_flash_erase_sector(STM32DFU_APP_FIRST_SECTOR);
  uint32_t expected = FLASH_CR_PSIZE_X32 | FLASH_CR_SER | (STM32DFU_APP_FIRST_SECTOR << FLASH_CR_SNB_SHIFT);
  if (status != HAL_OK) {
    problem("erase of sector %u returned %s", STM32DFU_APP_FIRST_SECTOR, status_name(status));
  }
  if (cr_before_start != expected) {
    problem("FLASH_CR before STRT was 0x%08X, expected 0x%08X (SER, SNB %u, PSIZE x32)", cr_before_start, expected,
            STM32DFU_APP_FIRST_SECTOR);
  }
  if (*host_reg(FLASH_CR_ADDR) != FLASH_CR_LOCK) {
    problem("FLASH_CR after the erase is 0x%08X, not locked", *host_reg(FLASH_CR_ADDR));
  }
}

static void test_program_application_base(void) {
  static const uint8_t word[4] = {0x00, 0x80, 0x02, 0x20};
  if (!flash_mapped) {
    return;
  }
  fresh();
  hal_status_t status = hal_flash_program(STM32DFU_APP_BASE, word, sizeof word);
  if (status != HAL_OK) {
    problem("program at the application base returned %s", status_name(status));
  }
  if (*(const volatile uint32_t *)(uintptr_t)STM32DFU_APP_BASE != 0x20028000u) {
    problem("the application base reads 0x%08X after programming 0x20028000",
            *(const volatile uint32_t *)(uintptr_t)STM32DFU_APP_BASE);
  }
  if (host_reg_accesses(HOST_FLASH) == 0u) {
    problem("programming the application made no FLASH register access");
  }
}

#else
/* ---- Built with PORT_FLASH_SELF_UPDATE=1: the bootloader's sectors are served ---- */

static void test_self_update_erases_sector_0(void) {
  fresh();
  hal_status_t status = hal_flash_erase_sector(0u);
  if (status != HAL_OK) {
    problem("erase of sector 0 returned %s", status_name(status));
  }
  if (cr_before_start != (FLASH_CR_PSIZE_X32 | FLASH_CR_SER)) {
    problem("FLASH_CR before STRT was 0x%08X, expected SER, SNB 0, PSIZE x32", cr_before_start);
  }
}

static void test_self_update_programs_sector_0(void) {
  static const uint8_t word[4] = {0x78, 0x56, 0x34, 0x12};
  if (!flash_mapped) {
    return;
  }
  fresh();
  hal_status_t status = hal_flash_program(STM32DFU_FLASH_BASE, word, sizeof word);
  if (status != HAL_OK || *(const volatile uint32_t *)(uintptr_t)STM32DFU_FLASH_BASE != 0x12345678u) {
    problem("program at 0x%08X returned %s and reads 0x%08X", STM32DFU_FLASH_BASE, status_name(status),
            *(const volatile uint32_t *)(uintptr_t)STM32DFU_FLASH_BASE);
  }
}

#endif

int main(void) {
  map_flash();
#if PORT_FLASH_SELF_UPDATE
  run("flash, self-update build: bootloader sector 0 erases (SNB 0 reaches FLASH_CR)", test_self_update_erases_sector_0);
  run("flash, self-update build: a word at 0x08000000 programs", test_self_update_programs_sector_0);
#else
  run("flash: erasing a bootloader sector (0-1) is refused with HAL_ERR_PROTECTED, no FLASH register touched",
      test_erase_bootloader_sectors_refused);
  run("flash: programming below the application base is refused with HAL_ERR_PROTECTED, no FLASH register touched",
      test_program_bootloader_region_refused);
  run("flash: the first application sector still erases (SER, SNB 2, PSIZE x32, locked after)",
      test_erase_application_sector);
  run("flash: a word at the application base still programs and reads back", test_program_application_base);
#endif
  return finish();
}
