/*
 * flash.c — the flash manager: what may be erased or written (contract 6), honest timing
 * for bwPollTimeout, erase/blank checks, program + read-back verify, and the held-back
 * first application block that is written only at manifestation.
 */
#include "bl_internal.h"

typedef struct {
  uint32_t start, size;
  uint32_t erase_ms_typ, erase_ms_max;
} flash_sector_t;

static const flash_sector_t flash_sectors[STM32DFU_SECTOR_COUNT] = STM32DFU_SECTOR_TABLE;

#define FLASH_END (STM32DFU_FLASH_BASE + STM32DFU_FLASH_SIZE)
#define FLASH_CHUNK 64u
#define STAMP_MAGIC_OFFSET 0x1Cu

static struct {
  const bl_profile_t *profile;
  bool held_dirty;                     /* the host wrote into the held block */
  uint8_t held[BL_HELD_BLOCK_SIZE];    /* image of [APP_BASE, APP_BASE + 2048) */
} flash;

_Static_assert(BL_HELD_BLOCK_SIZE <= STM32DFU_APP_SIZE, "held block inside the app region");
_Static_assert(STM32DFU_FLASH_PROGRAM_UNIT == 4u, "the core programs and verifies words");

void flash_init(const bl_profile_t *profile) {
  flash.profile = profile;
  flash.held_dirty = false;
  bl_memset(flash.held, 0xFF, sizeof flash.held);
}

/* [address, address + length) inside [base, end), without overflowing. */
static bool range_inside(uint32_t address, uint32_t length, uint32_t base, uint32_t end) {
  return address >= base && address < end && length <= end - address;
}

static uint32_t writable_base(void) {
  return flash.profile->protect_bootloader ? STM32DFU_APP_BASE : STM32DFU_FLASH_BASE;
}

static uint32_t first_writable_sector(void) {
  return flash.profile->protect_bootloader ? STM32DFU_APP_FIRST_SECTOR : 0u;
}

static int32_t sector_index_at(uint32_t address) {
  for (uint32_t i = 0; i < STM32DFU_SECTOR_COUNT; i++) {
    if (address >= flash_sectors[i].start && address - flash_sectors[i].start < flash_sectors[i].size) {
      return (int32_t)i;
    }
  }
  return -1;
}

static uint32_t program_ms(uint32_t bytes) {
  const uint32_t words = (bytes + 3u) / 4u;
  return (words * STM32DFU_PROGRAM_US_TYP + 999u) / 1000u;
}

/* Bytes of [address, address + length) that fall inside the held block. */
static uint32_t held_overlap(uint32_t address, uint32_t length, uint32_t *held_offset) {
  const uint32_t held_end = STM32DFU_APP_BASE + BL_HELD_BLOCK_SIZE;
  if (!flash.profile->hold_first_block || address >= held_end || address + length <= STM32DFU_APP_BASE) {
    return 0u;
  }
  const uint32_t start = address > STM32DFU_APP_BASE ? address : STM32DFU_APP_BASE;
  const uint32_t end = address + length < held_end ? address + length : held_end;
  *held_offset = start - STM32DFU_APP_BASE;
  return end - start;
}

static bool is_blank(uint32_t address, uint32_t length) {
  uint8_t chunk[FLASH_CHUNK];
  while (length > 0u) {
    const uint32_t n = length < FLASH_CHUNK ? length : FLASH_CHUNK;
    hal_flash_read(address, chunk, n);
    for (uint32_t i = 0; i < n; i++) {
      if (chunk[i] != 0xFFu) return false;
    }
    address += n;
    length -= n;
  }
  return true;
}

static bool matches(uint32_t address, const uint8_t *data, uint32_t length) {
  uint8_t chunk[FLASH_CHUNK];
  while (length > 0u) {
    const uint32_t n = length < FLASH_CHUNK ? length : FLASH_CHUNK;
    hal_flash_read(address, chunk, n);
    for (uint32_t i = 0; i < n; i++) {
      if (chunk[i] != data[i]) return false;
    }
    address += n;
    data += n;
    length -= n;
  }
  return true;
}

static uint8_t program_status(hal_status_t status) {
  switch (status) {
    case HAL_OK: return OK;
    case HAL_ERR_PROTECTED: return errWRITE;
    case HAL_ERR_VERIFY: return errVERIFY;
    default: return errPROG;
  }
}

/* ---- Checks made when a request arrives ---- */

uint8_t flash_plan_erase(uint32_t address, uint32_t *poll_ms) {
  const int32_t index = sector_index_at(address);
  /* DfuSe practice: an erase the device refuses is errTARGET. */
  if (index < 0 || (uint32_t)index < first_writable_sector()) return errTARGET;
  *poll_ms = flash_sectors[index].erase_ms_typ;
  return OK;
}

uint8_t flash_plan_mass_erase(uint32_t *poll_ms) {
  uint32_t total = 0;
  for (uint32_t i = first_writable_sector(); i < STM32DFU_SECTOR_COUNT; i++) total += flash_sectors[i].erase_ms_typ;
  *poll_ms = total;
  return OK;
}

uint8_t flash_plan_write(uint32_t address, uint32_t length, uint32_t *poll_ms) {
  if ((address & 3u) != 0u || !range_inside(address, length, writable_base(), FLASH_END)) return errADDRESS;
  uint32_t held_offset = 0;
  /* Bytes for the held block only go to RAM now. */
  *poll_ms = program_ms(length - held_overlap(address, length, &held_offset));
  return OK;
}

uint8_t flash_plan_crc(uint32_t address, uint32_t length, uint32_t *poll_ms) {
  if ((address & 3u) != 0u || (length & 3u) != 0u ||
      (length > 0u && !range_inside(address, length, STM32DFU_FLASH_BASE, FLASH_END))) {
    return errADDRESS;
  }
  /* An estimate: the software CRC runs at well over 4 kB per millisecond on the F411. */
  *poll_ms = (length + 4095u) / 4096u;
  return OK;
}

uint32_t flash_manifest_poll_ms(void) {
  return flash.held_dirty ? program_ms(BL_HELD_BLOCK_SIZE) : 0u;
}

bool flash_clip_readable(uint32_t address, uint32_t *length) {
  if (address < STM32DFU_FLASH_BASE || address >= FLASH_END) return false;
  if (*length > FLASH_END - address) *length = FLASH_END - address;
  return true;
}

/* ---- Operations ---- */

static uint8_t erase_index(uint32_t index) {
  const flash_sector_t *sector = &flash_sectors[index];
  if (hal_flash_erase_sector(index) != HAL_OK) return errERASE;
  if (!is_blank(sector->start, sector->size)) return errCHECK_ERASED;
  /* The held block behaves like the flash it stands for. */
  if (flash.profile->hold_first_block && sector->start <= STM32DFU_APP_BASE &&
      STM32DFU_APP_BASE - sector->start < sector->size) {
    flash_init(flash.profile);
  }
  return OK;
}

uint8_t flash_erase(uint32_t address) {
  uint32_t unused = 0;
  const uint8_t status = flash_plan_erase(address, &unused);
  if (status != OK) return status;
  return erase_index((uint32_t)sector_index_at(address));
}

uint8_t flash_mass_erase(void) {
  for (uint32_t i = first_writable_sector(); i < STM32DFU_SECTOR_COUNT; i++) {
    const uint8_t status = erase_index(i);
    if (status != OK) return status;
  }
  return OK;
}

static uint8_t program_verified(uint32_t address, const uint8_t *data, uint32_t length) {
  if (length == 0u) return OK;
  if (!is_blank(address, length)) return errCHECK_ERASED;
  const uint8_t status = program_status(hal_flash_program(address, data, length));
  if (status != OK) return status;
  return matches(address, data, length) ? OK : errVERIFY;
}

uint8_t flash_write(uint32_t address, const uint8_t *data, uint32_t length) {
  uint32_t unused = 0;
  uint8_t status = flash_plan_write(address, length, &unused);
  if (status != OK) return status;
  uint32_t held_offset = 0;
  const uint32_t held_bytes = held_overlap(address, length, &held_offset);
  if (held_bytes == 0u) return program_verified(address, data, length);

  /* The flash under the held block must be writable at manifestation. */
  if (!is_blank(STM32DFU_APP_BASE + held_offset, held_bytes)) return errCHECK_ERASED;
  const uint32_t skip = STM32DFU_APP_BASE + held_offset - address;
  bl_memcpy(flash.held + held_offset, data + skip, held_bytes);
  flash.held_dirty = true;
  status = program_verified(address, data, skip);
  if (status != OK) return status;
  return program_verified(address + skip + held_bytes, data + skip + held_bytes, length - skip - held_bytes);
}

/* Programs the held block word by word, the stamp's magic word last: a power cut at any
 * point leaves an image whose stamp does not check (contract 6). Erased words are skipped,
 * so bytes the host never sent stay as the flash has them. */
uint8_t flash_manifest(void) {
  if (!flash.held_dirty) return OK;
  for (uint32_t pass = 0; pass < 2u; pass++) {
    for (uint32_t offset = 0; offset < BL_HELD_BLOCK_SIZE; offset += 4u) {
      if ((offset == STAMP_MAGIC_OFFSET) != (pass == 1u)) continue;
      const uint8_t *word = flash.held + offset;
      if (bl_get_u32le(word) == 0xFFFFFFFFu) continue;
      const uint8_t status = program_verified(STM32DFU_APP_BASE + offset, word, 4u);
      if (status != OK) return status;
    }
  }
  flash.held_dirty = false;
  return OK;
}

uint32_t flash_crc(uint32_t address, uint32_t length) {
  uint8_t chunk[FLASH_CHUNK];
  uint32_t crc = 0xFFFFFFFFu;
  while (length > 0u) {
    const uint32_t n = length < FLASH_CHUNK ? length : FLASH_CHUNK;
    hal_flash_read(address, chunk, n);
    crc = bl_crc_stm32(crc, chunk, n);
    address += n;
    length -= n;
  }
  return crc;
}
