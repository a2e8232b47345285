/*
 * flash.c — the flash manager: what may be erased or written (contract 6), honest timing
 * for bwPollTimeout, erase/blank checks, the write queue programmed one slice at a time
 * with read-back verify, the held-back first application block that is written only at
 * manifestation, and the record of the last failed operation.
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
#define STAMP_MAGIC 0x504D5453u /* contract 4: "STMP", followed by the stamped length */
#define NO_SLOT 0xFFu

/* What is left of a queued block: `remaining` bytes from `offset` in its slot go to `address`. */
typedef struct {
  uint32_t address, remaining, offset;
} flash_entry_t;

static struct {
  const bl_profile_t *profile;
  bool held_dirty;                     /* the host wrote into the held block */
  uint32_t manifest_offset;            /* how far manifestation has programmed the held block */
  uint8_t failure_status;              /* last failed flash operation (OK: none) */
  uint32_t failure_address;
  uint8_t rx;                          /* slot of the current OUT data stage */
  uint8_t queued;                      /* slots in `order`, oldest first */
  uint8_t order[BL_WRITE_QUEUE_BLOCKS];
  flash_entry_t entry[BL_WRITE_QUEUE_BLOCKS];
  uint8_t held[BL_HELD_BLOCK_SIZE];    /* image of [APP_BASE, APP_BASE + 2048) */
  bool magic_pending;                  /* signing: the held block is written but its magic word */
  uint8_t pending_magic[4];
  uint8_t slots[BL_WRITE_QUEUE_BLOCKS][BL_MAX_TRANSFER_SIZE];
} flash;

_Static_assert(BL_HELD_BLOCK_SIZE <= STM32DFU_APP_SIZE, "held block inside the app region");
_Static_assert(STM32DFU_FLASH_PROGRAM_UNIT == 4u, "the core programs and verifies words");
_Static_assert(BL_PROGRAM_SLICE % 4u == 0u && BL_PROGRAM_SLICE <= BL_MAX_TRANSFER_SIZE, "slices of whole words");
_Static_assert(BL_WRITE_QUEUE_BLOCKS >= 1u && BL_WRITE_QUEUE_BLOCKS < NO_SLOT, "slot numbers fit a byte");

static void held_reset(void) {
  flash.held_dirty = false;
  flash.manifest_offset = 0;
  bl_memset(flash.held, 0xFF, sizeof flash.held);
}

void flash_init(const bl_profile_t *profile) {
  flash.profile = profile;
  flash.magic_pending = false;
  flash.failure_status = OK;
  flash.failure_address = DFUSE_REPORT_NO_FAILURE;
  flash.rx = NO_SLOT;
  flash.queued = 0;
  held_reset();
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

static uint32_t program_us(uint32_t bytes) {
  return (bytes + 3u) / 4u * STM32DFU_PROGRAM_US_TYP;
}

static uint8_t fail(uint8_t status, uint32_t address) {
  flash.failure_status = status;
  flash.failure_address = address;
  return status;
}

uint8_t flash_failure(uint32_t *address) {
  *address = flash.failure_address;
  return flash.failure_status;
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

/* True when the range reads erased; otherwise *bad is the first word that does not. */
static bool is_blank(uint32_t address, uint32_t length, uint32_t *bad) {
  uint8_t chunk[FLASH_CHUNK];
  while (length > 0u) {
    const uint32_t n = length < FLASH_CHUNK ? length : FLASH_CHUNK;
    hal_flash_read(address, chunk, n);
    for (uint32_t i = 0; i < n; i++) {
      if (chunk[i] != 0xFFu) {
        *bad = (address + i) & ~3u;
        return false;
      }
    }
    address += n;
    length -= n;
  }
  return true;
}

/* True when flash holds `data`; otherwise *bad is the first word that differs. */
static bool matches(uint32_t address, const uint8_t *data, uint32_t length, uint32_t *bad) {
  uint8_t chunk[FLASH_CHUNK];
  while (length > 0u) {
    const uint32_t n = length < FLASH_CHUNK ? length : FLASH_CHUNK;
    hal_flash_read(address, chunk, n);
    for (uint32_t i = 0; i < n; i++) {
      if (chunk[i] != data[i]) {
        *bad = (address + i) & ~3u;
        return false;
      }
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

uint8_t flash_plan_erase(uint32_t address, uint32_t *work_us) {
  const int32_t index = sector_index_at(address);
  /* DfuSe practice: an erase the device refuses is errTARGET. */
  if (index < 0 || (uint32_t)index < first_writable_sector()) return errTARGET;
  *work_us = flash_sectors[index].erase_ms_typ * 1000u;
  return OK;
}

uint32_t flash_mass_erase_us(uint32_t done) {
  uint32_t total = 0;
  for (uint32_t i = first_writable_sector() + done; i < STM32DFU_SECTOR_COUNT; i++) {
    total += flash_sectors[i].erase_ms_typ * 1000u;
  }
  return total;
}

uint32_t flash_crc_us(uint32_t length) {
  /* The port's conservative rate (hal.h), so the host's sleep covers the whole CRC. */
  uint32_t words_per_ms = hal_crc_words_per_ms();
  if (words_per_ms == 0u) words_per_ms = 1u;
  /* length is inside the flash (at most 2^21 bytes here), so the product fits 32 bits. */
  return ((length / 4u) * 1000u + words_per_ms - 1u) / words_per_ms;
}

/* The stamped length of the image being installed (held block, else flash); 0: no stamp. */
static uint32_t stamped_length(void) {
  uint8_t stamp[8];
  if (flash.held_dirty) {
    bl_memcpy(stamp, flash.held + STAMP_MAGIC_OFFSET, sizeof stamp);
  } else {
    hal_flash_read(STM32DFU_APP_BASE + STAMP_MAGIC_OFFSET, stamp, sizeof stamp);
  }
  const uint32_t length = bl_get_u32le(stamp + 4);
  if (bl_get_u32le(stamp) != STAMP_MAGIC || length > STM32DFU_APP_SIZE) return 0u;
  return length;
}

uint32_t flash_stamp_check_us(void) {
  const uint32_t length = stamped_length();
  uint32_t us = length == 0u ? 0u : flash_crc_us(length);
  if (flash.profile->signing_required) {
    /* The check runs at SYSCLK in DFU mode (bootloader.h, docs/signature-cost.md). */
    us += bl_signature_check_us(length, STM32DFU_SYSCLK_HZ / 1000000u);
  }
  return us;
}

/* [address, address + length) is one or more whole sectors of the application region. */
static bool whole_app_sectors(uint32_t address, uint32_t length) {
  if (length == 0u || !range_inside(address, length, STM32DFU_APP_BASE, FLASH_END)) return false;
  const int32_t first = sector_index_at(address);
  const int32_t last = sector_index_at(address + length - 1u);
  return first >= 0 && last >= 0 && flash_sectors[first].start == address &&
         flash_sectors[last].start + flash_sectors[last].size == address + length;
}

uint8_t flash_plan_crc(uint32_t address, uint32_t length, uint32_t *work_us) {
  if ((address & 3u) != 0u || (length & 3u) != 0u ||
      (length > 0u && !range_inside(address, length, STM32DFU_FLASH_BASE, FLASH_END))) {
    return errADDRESS;
  }
  if (flash.profile->lock_upload && !whole_app_sectors(address, length)) {
    /* CRCs of arbitrary ranges would give the flash away word by word. */
    return errTARGET;
  }
  *work_us = flash_crc_us(length);
  return OK;
}

bool flash_clip_readable(uint32_t address, uint32_t *length) {
  if (address < STM32DFU_FLASH_BASE || address >= FLASH_END) return false;
  if (*length > FLASH_END - address) *length = FLASH_END - address;
  return true;
}

/* ---- The write queue ---- */

static bool slot_queued(uint8_t slot) {
  for (uint32_t k = 0; k < flash.queued; k++) {
    if (flash.order[k] == slot) return true;
  }
  return false;
}

uint8_t *flash_rx_buffer(void) {
  for (uint8_t slot = 0; slot < BL_WRITE_QUEUE_BLOCKS; slot++) {
    if (!slot_queued(slot)) {
      flash.rx = slot;
      return flash.slots[slot];
    }
  }
  flash.rx = NO_SLOT;
  return NULL;
}

bool flash_queue_empty(void) { return flash.queued == 0u; }
uint32_t flash_queue_count(void) { return flash.queued; }

uint32_t flash_queue_head_us(void) {
  return flash.queued == 0u ? 0u : program_us(flash.entry[flash.order[0]].remaining);
}

uint32_t flash_queue_us(void) {
  uint32_t total = 0;
  for (uint32_t k = 0; k < flash.queued; k++) total += program_us(flash.entry[flash.order[k]].remaining);
  return total;
}

void flash_queue_drop(void) { flash.queued = 0; }

/* The bytes queued blocks will put into [address, address + length) must be erased ones,
 * or the later block would fail its blank check after it was accepted. */
static bool queue_blank(uint32_t address, uint32_t length, uint32_t *bad) {
  for (uint32_t k = 0; k < flash.queued; k++) {
    const flash_entry_t *e = &flash.entry[flash.order[k]];
    const uint32_t start = address > e->address ? address : e->address;
    const uint32_t end = address + length < e->address + e->remaining ? address + length : e->address + e->remaining;
    for (uint32_t a = start; a < end; a++) {
      if (flash.slots[flash.order[k]][e->offset + (a - e->address)] != 0xFFu) {
        *bad = a & ~3u;
        return false;
      }
    }
  }
  return true;
}

/* The held block is a write not yet made: bytes it already holds are not erased. */
static bool held_blank(uint32_t offset, uint32_t length, uint32_t *bad) {
  if (flash.magic_pending && offset < STAMP_MAGIC_OFFSET + 4u && STAMP_MAGIC_OFFSET < offset + length) {
    *bad = STM32DFU_APP_BASE + STAMP_MAGIC_OFFSET; /* written, as far as the host is concerned */
    return false;
  }
  for (uint32_t i = offset; i < offset + length; i++) {
    if (flash.held[i] != 0xFFu) {
      *bad = (STM32DFU_APP_BASE + i) & ~3u;
      return false;
    }
  }
  return true;
}

uint8_t flash_accept_write(uint32_t address, uint32_t length) {
  if ((address & 3u) != 0u || !range_inside(address, length, writable_base(), FLASH_END)) return errADDRESS;
  if (flash.rx == NO_SLOT) return errUNKNOWN; /* no data stage was armed */
  const uint8_t *data = flash.slots[flash.rx];
  uint32_t held_offset = 0;
  uint32_t bad = 0;
  const uint32_t held_bytes = held_overlap(address, length, &held_offset);
  /* Only our profile holds bytes back, and its writable region starts with the held block:
   * a block holds held bytes first, then flash bytes. */
  const uint32_t flash_address = address + held_bytes;
  const uint32_t flash_length = length - held_bytes;
  /* The flash under the held block must be writable at manifestation, and the held block
   * itself erased there, as the blank check treats queued blocks. */
  if (held_bytes > 0u && (!is_blank(STM32DFU_APP_BASE + held_offset, held_bytes, &bad) ||
                          !held_blank(held_offset, held_bytes, &bad))) {
    return fail(errCHECK_ERASED, bad);
  }
  if (flash_length > 0u &&
      (!is_blank(flash_address, flash_length, &bad) || !queue_blank(flash_address, flash_length, &bad))) {
    return fail(errCHECK_ERASED, bad);
  }
  if (flash_length > 0u) {
    const uint8_t revoked = flash_revoke_installed();
    if (revoked != OK) return revoked;
  }
  if (held_bytes > 0u) {
    bl_memcpy(flash.held + held_offset, data, held_bytes);
    flash.held_dirty = true;
  }
  if (flash_length > 0u) {
    flash.entry[flash.rx] = (flash_entry_t){flash_address, flash_length, held_bytes};
    flash.order[flash.queued++] = flash.rx;
  }
  flash.rx = NO_SLOT;
  return OK;
}

static uint8_t program_verified(uint32_t address, const uint8_t *data, uint32_t length) {
  uint32_t bad = address;
  if (length == 0u) return OK;
  if (!is_blank(address, length, &bad)) return fail(errCHECK_ERASED, bad);
  uint8_t status = program_status(hal_flash_program(address, data, length));
  /* Name the word that did not take its value (the first one when none reads wrong). */
  if (matches(address, data, length, &bad)) {
    if (status == OK) return OK;
    bad = address;
  } else if (status == OK) {
    status = errVERIFY;
  }
  return fail(status, bad);
}

uint8_t flash_queue_slice(void) {
  if (flash.queued == 0u) return OK;
  const uint8_t slot = flash.order[0];
  flash_entry_t *e = &flash.entry[slot];
  const uint32_t n = e->remaining < BL_PROGRAM_SLICE ? e->remaining : BL_PROGRAM_SLICE;
  const uint8_t status = program_verified(e->address, flash.slots[slot] + e->offset, n);
  if (status != OK) {
    flash_queue_drop(); /* the host hears of it at its next GETSTATUS and starts over */
    return status;
  }
  e->address += n;
  e->offset += n;
  e->remaining -= n;
  if (e->remaining == 0u) {
    flash.queued--;
    for (uint32_t k = 0; k < flash.queued; k++) flash.order[k] = flash.order[k + 1u];
  }
  return OK;
}

/* ---- Operations ---- */

static uint8_t erase_index(uint32_t index) {
  const flash_sector_t *sector = &flash_sectors[index];
  uint32_t bad = sector->start;
  if (hal_flash_erase_sector(index) != HAL_OK) return fail(errERASE, sector->start);
  if (!is_blank(sector->start, sector->size, &bad)) return fail(errCHECK_ERASED, bad);
  /* The held block behaves like the flash it stands for. */
  if (flash.profile->hold_first_block && sector->start <= STM32DFU_APP_BASE &&
      STM32DFU_APP_BASE - sector->start < sector->size) {
    held_reset();
    flash.magic_pending = false;
  }
  return OK;
}

uint8_t flash_erase(uint32_t address) {
  uint32_t unused = 0;
  uint8_t status = flash_plan_erase(address, &unused);
  if (status == OK) status = flash_revoke_installed();
  if (status != OK) return status;
  return erase_index((uint32_t)sector_index_at(address));
}

uint8_t flash_mass_erase_slice(uint32_t *done, bool *finished) {
  const uint32_t index = first_writable_sector() + *done;
  *finished = true;
  if (index >= STM32DFU_SECTOR_COUNT) return OK;
  uint8_t status = flash_revoke_installed();
  if (status != OK) return status;
  status = erase_index(index);
  (*done)++;
  *finished = index + 1u >= STM32DFU_SECTOR_COUNT;
  return status;
}

static bool held_word_erased(uint32_t offset) { return bl_get_u32le(flash.held + offset) == 0xFFFFFFFFu; }

uint32_t flash_manifest_us(void) {
  if (!flash.held_dirty) return 0u;
  const uint32_t left = BL_HELD_BLOCK_SIZE - (flash.manifest_offset < BL_HELD_BLOCK_SIZE ? flash.manifest_offset : BL_HELD_BLOCK_SIZE - 4u);
  /* Each programmed run is blank-checked before and read back after: two more passes over
   * the bytes, counted at the port's conservative rate for reading flash word by word. */
  return program_us(left) + 2u * flash_crc_us(left);
}

bool flash_held_pending(void) { return flash.held_dirty; }

bool flash_held_overlaps(uint32_t address, uint32_t length) {
  uint32_t unused = 0;
  if (!flash.held_dirty || length == 0u) return false;
  /* held_overlap takes lengths that do not wrap; clip at the end of the address space. */
  if (length > 0xFFFFFFFFu - address) length = 0xFFFFFFFFu - address;
  return held_overlap(address, length, &unused) > 0u;
}

uint8_t flash_commit_held(void) {
  bool finished = false;
  uint8_t status = OK;
  /* At most BL_HELD_BLOCK_SIZE / 4 + 1 slices: each one programs at least one word. */
  for (uint32_t i = 0; i <= BL_HELD_BLOCK_SIZE / 4u && !finished && status == OK; i++) {
    status = flash_manifest_slice(&finished);
  }
  return status;
}

/* Programs the held block a slice at a time: runs of words that are not erased, leaving out
 * the stamp's magic word, which goes last on its own. A power cut at any point leaves an
 * image whose stamp does not check (contract 6). Erased words are skipped, so bytes the
 * host never sent stay as the flash has them. */
uint8_t flash_manifest_slice(bool *finished) {
  *finished = false;
  if (!flash.held_dirty) {
    *finished = true;
    return OK;
  }
  uint32_t start = flash.manifest_offset;
  while (start < BL_HELD_BLOCK_SIZE && (start == STAMP_MAGIC_OFFSET || held_word_erased(start))) start += 4u;
  if (start < BL_HELD_BLOCK_SIZE) {
    uint32_t end = start;
    while (end < BL_HELD_BLOCK_SIZE && end - start < BL_PROGRAM_SLICE && end != STAMP_MAGIC_OFFSET &&
           !held_word_erased(end)) {
      end += 4u;
    }
    flash.manifest_offset = end;
    return program_verified(STM32DFU_APP_BASE + start, flash.held + start, end - start);
  }
  flash.manifest_offset = BL_HELD_BLOCK_SIZE;
  if (!held_word_erased(STAMP_MAGIC_OFFSET)) {
    if (flash.profile->signing_required) {
      /* Written only once the signature checks (flash_write_pending_magic). */
      bl_memcpy(flash.pending_magic, flash.held + STAMP_MAGIC_OFFSET, 4u);
      flash.magic_pending = true;
    } else {
      const uint8_t status =
          program_verified(STM32DFU_APP_BASE + STAMP_MAGIC_OFFSET, flash.held + STAMP_MAGIC_OFFSET, 4u);
      if (status != OK) return status;
    }
  }
  held_reset();
  *finished = true;
  return OK;
}

uint32_t flash_crc(uint32_t address, uint32_t length) {
  const uint32_t magic = STM32DFU_APP_BASE + STAMP_MAGIC_OFFSET;
  if (!flash.magic_pending || magic < address || magic - address > length - 4u || length < 4u) {
    return hal_crc_stm32(0xFFFFFFFFu, address, length);
  }
  /* The withheld magic word reads as the host sent it (both are word-aligned). */
  uint32_t crc = hal_crc_stm32(0xFFFFFFFFu, address, magic - address);
  crc = bl_crc_stm32(crc, flash.pending_magic, 4u);
  return hal_crc_stm32(crc, magic + 4u, address + length - magic - 4u);
}

void flash_read_installed(uint32_t address, uint8_t *out, uint32_t length) {
  hal_flash_read(address, out, length);
  if (!flash.magic_pending) return;
  for (uint32_t i = 0; i < 4u; i++) {
    const uint32_t a = STM32DFU_APP_BASE + STAMP_MAGIC_OFFSET + i;
    if (a >= address && a - address < length) out[a - address] = flash.pending_magic[i];
  }
}

bool flash_magic_pending(void) { return flash.magic_pending; }

uint8_t flash_write_pending_magic(void) {
  if (!flash.magic_pending) return OK;
  const uint8_t status = program_verified(STM32DFU_APP_BASE + STAMP_MAGIC_OFFSET, flash.pending_magic, 4u);
  if (status == OK) flash.magic_pending = false;
  return status;
}

uint8_t flash_revoke_installed(void) {
  if (!flash.profile->signing_required) return OK;
  uint8_t word[4];
  const uint32_t magic = STM32DFU_APP_BASE + STAMP_MAGIC_OFFSET;
  hal_flash_read(magic, word, 4u);
  if (bl_get_u32le(word) != STAMP_MAGIC) return OK;
  /* Programming only clears bits: zeros over the magic make the installed image unbootable
   * before any of its sectors changes. That the F4 takes a program over a written word (it
   * has no flash ECC) is for the HIL rig to confirm on a chip. */
  static const uint8_t zero[4] = {0, 0, 0, 0};
  (void)hal_flash_program(magic, zero, 4u);
  hal_flash_read(magic, word, 4u);
  return bl_get_u32le(word) == 0u ? OK : fail(errPROG, magic);
}
