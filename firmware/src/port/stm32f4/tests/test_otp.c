/*
 * test_otp.c — the port's OTP driver (otp.c) on the host: FLASH registers as RAM stand-ins
 * (host_regs.h) and host memory mapped at the chip's OTP address, 0x1FFF7800, with its lock
 * bytes at 0x1FFF7A00. The model below plays the flash interface: the FLASH_KEYR sequence
 * unlocks FLASH_CR, a byte written into the OTP area with PG set lands NOR-style (bits only
 * cleared) and is recorded with the FLASH_CR it was written under, FLASH_SR is rc_w1, and a
 * test can hold BSY or raise an error flag. Needs _GNU_SOURCE (MAP_FIXED_NOREPLACE).
 */
#include <stdbool.h>
#include <sys/mman.h>

#include "port.h"
#include "port_test.h"
#include "stm32f4_regs.h"

#define FLASH_KEYR_ADDR 0x40023C04u
#define FLASH_SR_ADDR 0x40023C0Cu
#define FLASH_CR_ADDR 0x40023C10u
#define OTP_PAGE 0x1FFF7000u
#define OTP_PAGE_SIZE 0x1000u

/* ---- What the drivers need from the rest of the port ---- */
static uint32_t fake_millis;
uint32_t hal_millis(void) {
  return fake_millis++;
}
void watchdog_refresh(void) {}

static volatile uint8_t *otp = (volatile uint8_t *)(uintptr_t)OTP_AREA_BASE;
static volatile uint8_t *lock_bytes = (volatile uint8_t *)(uintptr_t)OTP_LOCK_BASE;

/* ---- The flash interface model ---- */
static struct {
  uint32_t sr;             /* the hardware's FLASH_SR */
  uint32_t sr_written;     /* what the RAM word held when the model last wrote it */
  bool busy_forever;       /* BSY never clears */
  uint32_t error_on_write; /* FLASH_SR flags a programmed byte raises */
  uint32_t key_stage;      /* FLASH_KEYR: 1 after KEY1 */
  uint32_t keys_written;   /* KEY1 then KEY2 sequences seen */
  uint8_t shadow[OTP_AREA_SIZE + 16u];
  uint32_t writes;         /* bytes that changed in the OTP area */
  uint32_t cr_at_write;    /* FLASH_CR when the last one was written */
  uint32_t offset_written;
} m;

static void model(void) {
  volatile uint32_t *keyr = host_reg(FLASH_KEYR_ADDR);
  volatile uint32_t *cr = host_reg(FLASH_CR_ADDR);
  volatile uint32_t *sr = host_reg(FLASH_SR_ADDR);
  /* FLASH_KEYR reads 0 on the chip: a value here is a write the driver just made. */
  if (*keyr == FLASH_KEY1) {
    m.key_stage = 1u;
  } else if (*keyr == FLASH_KEY2 && m.key_stage == 1u) {
    *cr &= ~FLASH_CR_LOCK;
    m.keys_written++;
    m.key_stage = 0u;
  } else if (*keyr != 0u) {
    m.key_stage = 0u;
  }
  *keyr = 0u;
  /* rc_w1: a driver write to FLASH_SR clears the flags it names. */
  if (*sr != m.sr_written) {
    m.sr &= ~*sr;
  }
  /* A byte written into the OTP area or its lock bytes: only with PG, only clearing bits. */
  for (uint32_t i = 0; i < sizeof m.shadow; i++) {
    uint8_t now = otp[i];
    if (now != m.shadow[i]) {
      m.writes++;
      m.cr_at_write = *cr;
      m.offset_written = i;
      if ((*cr & FLASH_CR_PG) == 0u || (*cr & FLASH_CR_LOCK) != 0u) {
        m.sr |= FLASH_SR_PGSERR;
        otp[i] = m.shadow[i];
      } else {
        otp[i] = (uint8_t)(m.shadow[i] & now);
        m.sr |= m.error_on_write;
        if (m.error_on_write != 0u) {
          otp[i] = m.shadow[i];
        }
      }
      m.shadow[i] = otp[i];
    }
  }
  m.sr = m.busy_forever ? (m.sr | FLASH_SR_BSY) : (m.sr & ~FLASH_SR_BSY);
  *sr = m.sr;
  m.sr_written = m.sr;
}

static bool otp_mapped;

static void fresh(void) {
  host_regs_set_model(NULL);
  host_regs_reset();
  memset(&m, 0, sizeof m);
  if (otp_mapped) {
    memset((void *)(uintptr_t)OTP_AREA_BASE, 0xFF, OTP_AREA_SIZE + 16u);
    memset(m.shadow, 0xFF, sizeof m.shadow);
  }
  *host_reg(FLASH_CR_ADDR) = FLASH_CR_LOCK; /* as after reset (RM0383 §3.8.5) */
  host_regs_set_model(model);
  host_regs_clear_counts();
}

static const char *status_name(hal_status_t status) {
  static const char *const names[] = {"HAL_OK", "HAL_ERR_PROTECTED", "HAL_ERR_ALIGNMENT", "HAL_ERR_SEQUENCE",
                                      "HAL_ERR_TIMEOUT", "HAL_ERR_VERIFY"};
  return (unsigned)status < sizeof names / sizeof names[0] ? names[status] : "?";
}

static void expect_locked_after(const char *what) {
  if ((*host_reg(FLASH_CR_ADDR) & FLASH_CR_LOCK) == 0u || (*host_reg(FLASH_CR_ADDR) & FLASH_CR_PG) != 0u) {
    problem("%s: FLASH_CR is 0x%08X afterwards, not locked with PG clear", what, *host_reg(FLASH_CR_ADDR));
  }
}

static void test_program_byte(void) {
  fresh();
  hal_status_t status = hal_otp_program(STM32DFU_COUNTER_OTP_OFFSET, 0xFEu);
  if (status != HAL_OK) {
    problem("programming OTP byte %u returned %s", STM32DFU_COUNTER_OTP_OFFSET, status_name(status));
  }
  if (otp[STM32DFU_COUNTER_OTP_OFFSET] != 0xFEu) {
    problem("0x%08X reads 0x%02X, expected 0xFE", OTP_AREA_BASE + STM32DFU_COUNTER_OTP_OFFSET,
            otp[STM32DFU_COUNTER_OTP_OFFSET]);
  }
  if (m.writes != 1u || m.offset_written != STM32DFU_COUNTER_OTP_OFFSET) {
    problem("%u bytes of the OTP area changed (last at offset %u), expected exactly offset %u", m.writes,
            m.offset_written, STM32DFU_COUNTER_OTP_OFFSET);
  }
  if (m.keys_written != 1u) {
    problem("FLASH_KEYR saw %u KEY1/KEY2 sequences, expected 1", m.keys_written);
  }
  if ((m.cr_at_write & (FLASH_CR_PG | FLASH_CR_PSIZE_MASK | FLASH_CR_SER | FLASH_CR_STRT)) !=
      (FLASH_CR_PG | FLASH_CR_PSIZE_X8)) {
    problem("FLASH_CR was 0x%08X when the byte was written, expected PG with PSIZE x8 (0x%08X)", m.cr_at_write,
            FLASH_CR_PG | FLASH_CR_PSIZE_X8);
  }
  expect_locked_after("after a byte program");
}

static void test_thermometer(void) {
  /* The counter clears one more bit of a byte that already has some cleared. */
  fresh();
  const uint32_t offset = STM32DFU_COUNTER_OTP_OFFSET + 3u;
  hal_status_t first = hal_otp_program(offset, 0xFEu);
  hal_status_t second = hal_otp_program(offset, 0xFCu);
  uint8_t read = 0;
  hal_otp_read(offset, &read, 1u);
  if (first != HAL_OK || second != HAL_OK || read != 0xFCu) {
    problem("programming 0xFE then 0xFC returned %s, %s and reads 0x%02X, expected HAL_OK twice and 0xFC",
            status_name(first), status_name(second), read);
  }
  if (m.keys_written != 2u) {
    problem("FLASH_KEYR saw %u key sequences for two programs, expected 2 (locked in between)", m.keys_written);
  }
}

static void test_offset_past_area_refused(void) {
  static const uint32_t offsets[] = {OTP_AREA_SIZE, OTP_AREA_SIZE + 1u, OTP_AREA_SIZE + 15u, 0xFFFFFFFFu};
  for (uint32_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
    fresh();
    hal_status_t status = hal_otp_program(offsets[i], 0x00u);
    if (status != HAL_ERR_PROTECTED) {
      problem("offset %u returned %s, not HAL_ERR_PROTECTED", offsets[i], status_name(status));
    }
    if (host_reg_accesses(HOST_FLASH) != 0u || m.writes != 0u) {
      problem("offset %u: %u FLASH register accesses and %u bytes changed, expected none", offsets[i],
              host_reg_accesses(HOST_FLASH), m.writes);
    }
  }
  for (uint32_t i = 0; i < 16u; i++) {
    if (lock_bytes[i] != 0xFFu) {
      problem("lock byte %u reads 0x%02X: the driver wrote a lock byte", i, lock_bytes[i]);
    }
  }
}

static void test_locked_block_refused(void) {
  fresh();
  const uint32_t block = STM32DFU_COUNTER_OTP_OFFSET / OTP_BLOCK_SIZE;
  lock_bytes[block] = 0x00u;
  m.shadow[OTP_AREA_SIZE + block] = 0x00u;
  hal_status_t status = hal_otp_program(STM32DFU_COUNTER_OTP_OFFSET, 0x00u);
  if (status != HAL_ERR_PROTECTED) {
    problem("a byte of locked block %u returned %s, not HAL_ERR_PROTECTED", block, status_name(status));
  }
  if (host_reg_accesses(HOST_FLASH) != 0u || otp[STM32DFU_COUNTER_OTP_OFFSET] != 0xFFu) {
    problem("locked block: %u FLASH register accesses, byte reads 0x%02X; expected none and 0xFF",
            host_reg_accesses(HOST_FLASH), otp[STM32DFU_COUNTER_OTP_OFFSET]);
  }
  /* The block before it is still open. */
  status = hal_otp_program(STM32DFU_COUNTER_OTP_OFFSET - 1u, 0x7Fu);
  if (status != HAL_OK || otp[STM32DFU_COUNTER_OTP_OFFSET - 1u] != 0x7Fu) {
    problem("the last byte of open block %u returned %s and reads 0x%02X", block - 1u, status_name(status),
            otp[STM32DFU_COUNTER_OTP_OFFSET - 1u]);
  }
}

static void test_error_flag_reported_and_cleared(void) {
  static const struct {
    uint32_t flag;
    hal_status_t expected;
  } cases[] = {{FLASH_SR_WRPERR, HAL_ERR_PROTECTED}, {FLASH_SR_PGSERR, HAL_ERR_SEQUENCE},
               {FLASH_SR_PGPERR, HAL_ERR_ALIGNMENT}};
  for (uint32_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fresh();
    m.error_on_write = cases[i].flag;
    hal_status_t status = hal_otp_program(0u, 0x00u);
    if (status != cases[i].expected) {
      problem("FLASH_SR 0x%02X after the write returned %s, expected %s", cases[i].flag, status_name(status),
              status_name(cases[i].expected));
    }
    if ((m.sr & FLASH_SR_ERRORS) != 0u) {
      problem("FLASH_SR still holds 0x%02X afterwards: the error flags were not cleared", m.sr & FLASH_SR_ERRORS);
    }
    expect_locked_after("after a failed program");
  }
}

static void test_busy_bounded(void) {
  fresh();
  m.busy_forever = true;
  fake_millis = 0u;
  hal_status_t status = hal_otp_program(1u, 0x00u);
  if (status != HAL_ERR_TIMEOUT) {
    problem("BSY that never clears returned %s, not HAL_ERR_TIMEOUT", status_name(status));
  }
  if (m.writes != 0u) {
    problem("%u OTP bytes changed although the interface never became idle", m.writes);
  }
  expect_locked_after("after a timeout");
}

static void test_read(void) {
  fresh();
  otp[0] = 0x12u;
  otp[1] = 0x34u;
  otp[OTP_AREA_SIZE - 1u] = 0x56u;
  uint8_t out[4] = {0};
  hal_otp_read(0u, out, 2u);
  if (out[0] != 0x12u || out[1] != 0x34u) {
    problem("hal_otp_read(0, 2) gave %02X %02X, expected 12 34", out[0], out[1]);
  }
  lock_bytes[0] = 0x00u;
  hal_otp_read(OTP_AREA_SIZE - 1u, out, 3u);
  if (out[0] != 0x56u || out[1] != 0xFFu || out[2] != 0xFFu) {
    problem("reading across the end gave %02X %02X %02X, expected 56 FF FF (lock bytes not read)", out[0], out[1],
            out[2]);
  }
  if (host_reg_accesses(HOST_FLASH) != 0u) {
    problem("reading made %u FLASH register accesses, expected none (memory-mapped)", host_reg_accesses(HOST_FLASH));
  }
}

int main(void) {
  void *at = mmap((void *)(uintptr_t)OTP_PAGE, OTP_PAGE_SIZE, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  otp_mapped = at == (void *)(uintptr_t)OTP_PAGE;
  if (!otp_mapped) {
    printf("FAIL otp: cannot map host memory at 0x%08X for the OTP area\n", OTP_PAGE);
    return 1;
  }
  run("otp: a byte programs with FLASH_KEYR unlock, PG + PSIZE x8, and FLASH_CR locked again", test_program_byte);
  run("otp: a byte with bits cleared takes more cleared bits (the counter's thermometer)", test_thermometer);
  run("otp: offsets 512 and up (the lock bytes) are refused with HAL_ERR_PROTECTED, no register touched",
      test_offset_past_area_refused);
  run("otp: a block whose lock byte is 0x00 is refused with HAL_ERR_PROTECTED; its neighbour still programs",
      test_locked_block_refused);
  run("otp: WRPERR, PGSERR, PGPERR become HAL statuses and are cleared (rc_w1)", test_error_flag_reported_and_cleared);
  run("otp: a BSY that never clears ends in HAL_ERR_TIMEOUT with nothing written", test_busy_bounded);
  run("otp: reads are memory-mapped at 0x1FFF7800 and stop at the 512 data bytes", test_read);
  return finish();
}
