/*
 * dfu.c — the DFU 1.1 state machine (spec appendix A) with the DfuSe extensions (UM0424,
 * AN3156). State changes go through dfu_set_state only. Requests are answered at once;
 * the work they ask for (flash, CRC, manifestation) runs later in bl_poll, one slice of
 * flash work per call. Commands start only after the GETSTATUS announcing dfuDNBUSY /
 * dfuMANIFEST has completed, because an erase stalls the bus. With a pipelined profile,
 * data blocks are queued as they arrive and programmed while the host sends the next ones
 * (docs/bootloader-core.md, "Pipelined data blocks").
 */
#include "bl_internal.h"

#ifdef STM32DFU_SIGNING
#include "sha256.h"
#include "signature.h"
#endif

typedef enum {
  OP_NONE = 0,
  OP_SET_ADDRESS,
  OP_ERASE,
  OP_MASS_ERASE,
  OP_READ_UNPROTECT,
  OP_CRC,
  OP_WRITE,     /* strict profile: the block just queued, announced by dfuDNBUSY */
  OP_WAIT_SLOT, /* pipelined: every buffer is queued; dfuDNBUSY until one is written */
  OP_MANIFEST,
} dfu_op_t;

static struct {
  const bl_profile_t *profile;
  uint8_t state, status;
  dfu_op_t op;             /* accepted, not yet done */
  uint8_t op_refusal;      /* bStatus the next GETSTATUS reports instead of running `op` */
  bool op_armed;           /* the GETSTATUS announcing the work is on the wire */
  bool work_ready;         /* ... and has completed: bl_poll runs `op` */
  uint32_t op_address, op_length;
  uint32_t op_us;          /* typical time of `op` itself */
  uint32_t op_done;        /* mass erase: sectors erased so far */
  uint8_t queue_failure;   /* a queued block failed: the next GETSTATUS reports it */
  uint16_t block, length;
  uint32_t pointer;        /* DfuSe address pointer */
  bool crc_ready;
  uint32_t crc_address, crc_length, crc_value;
  bool image_ready;        /* manifestation done and the image boots: leave when the host is done */
  bool leave_pending, left;
  uint32_t last_activity_ms;
  uint8_t *rx;             /* where the current OUT data stage lands (a free queue slot) */
  uint8_t status_reply[6]; /* static: a port may send from it after we return */
  uint8_t signature_verdict; /* the last manifestation's signature check + 1; 0: none */
} dfu;

_Static_assert(BL_MAX_TRANSFER_SIZE % 4u == 0u, "data blocks are padded to whole words");
_Static_assert(DFUSE_REPORT_LENGTH <= BL_MAX_TRANSFER_SIZE, "the report fits a slot");

static void dfu_set_state(uint8_t state, uint8_t status) {
  dfu.state = state;
  dfu.status = status;
  if (state == dfuERROR) hal_led(HAL_LED_ERROR);
}

uint8_t dfu_state(void) { return dfu.state; }
uint8_t dfu_status(void) { return dfu.status; }

static uint32_t default_pointer(void) {
  return dfu.profile->protect_bootloader ? STM32DFU_APP_BASE : STM32DFU_FLASH_BASE;
}

static void drop_work(void) {
  dfu.op = OP_NONE;
  dfu.op_refusal = OK;
  dfu.op_armed = false;
  dfu.work_ready = false;
  /* The strict profile queues a block only for the request being dropped. A pipelined
   * queue holds blocks the host saw accepted: they stay. */
  if (!dfu.profile->pipelined) flash_queue_drop();
}

void dfu_init(const bl_profile_t *profile) {
  bl_memset(&dfu, 0, sizeof dfu);
  dfu.profile = profile;
  dfu.pointer = default_pointer();
  dfu.last_activity_ms = hal_millis();
  dfu_set_state(dfuIDLE, OK);
}

void dfu_note_activity(void) { dfu.last_activity_ms = hal_millis(); }

/* A request the current state does not expect: stall, and enter dfuERROR (DFU 1.1 A.1).
 * In dfuERROR the original bStatus is kept, it is the more useful one. */
static void unexpected(uint8_t status) {
  hal_usb_ep0_stall();
  if (dfu.state == dfuMANIFEST_WAIT_RESET || dfu.state == dfuERROR) return;
  /* A queued block that failed before this request is the first cause. */
  if (dfu.queue_failure != OK) status = dfu.queue_failure;
  dfu.queue_failure = OK;
  drop_work();
  dfu_set_state(dfuERROR, status);
}

/* Block numbers of DfuSe data: address = pointer + (wBlockNum - 2) * wTransferSize. */
static bool block_address(uint32_t *address) {
  const uint32_t offset = (uint32_t)(dfu.block - 2u) * dfu.profile->transfer_size;
  if (dfu.pointer > 0xFFFFFFFFu - offset) return false;
  *address = dfu.pointer + offset;
  return true;
}

/* Program what is still queued, here and now, for requests after which the host may
 * assume its accepted blocks are in flash (ABORT, CLRSTATUS). At most
 * BL_WRITE_QUEUE_BLOCKS blocks (~25 ms typ), during which the port NAKs. False when a
 * block failed now or earlier: the device is then in dfuERROR with that bStatus. */
static bool finish_queue(void) {
  while (!flash_queue_empty() && dfu.queue_failure == OK) dfu.queue_failure = flash_queue_slice();
  if (dfu.queue_failure == OK) return true;
  const uint8_t failure = dfu.queue_failure;
  dfu.queue_failure = OK;
  drop_work();
  dfu_set_state(dfuERROR, failure);
  return false;
}

/* The host is done with the download without a zero-length DNLOAD (ABORT): write the
 * held first block now, after every queued block, so what it sent is in flash and reads
 * back. The stamp's CRC still keeps an incomplete image from booting. False when writing
 * failed: the device is then in dfuERROR with that bStatus. */
static bool commit_held(void) {
  const uint8_t status = flash_commit_held();
  if (status == OK) return true;
  drop_work();
  dfu_set_state(dfuERROR, status);
  return false;
}

static void leave(void) {
  dfu.left = true;
  dfu.leave_pending = false;
  hal_usb_connect(false);
  /* ST's ROM trusts the host and jumps to the address pointer (AN3156 "Leave DFU mode");
   * ours starts only an image that passed the boot checks, otherwise resets into DFU. */
  if (!dfu.profile->protect_bootloader) {
    hal_jump_to_application(dfu.pointer);
  } else if (dfu.image_ready) {
    hal_jump_to_application(STM32DFU_APP_BASE);
  } else {
    hal_system_reset();
  }
}

/* Typical time until the work the host waits for is done. */
static uint32_t busy_us(void) {
  switch (dfu.op) {
    case OP_WAIT_SLOT: return flash_queue_head_us();
    case OP_MANIFEST: /* ours ends it with the boot check (stamp CRC) */
      return flash_queue_us() + flash_manifest_us() +
             (dfu.profile->protect_bootloader ? flash_stamp_check_us() : 0u);
    case OP_MASS_ERASE: return flash_queue_us() + flash_mass_erase_us(dfu.op_done);
    default: return flash_queue_us() + dfu.op_us;
  }
}

static uint32_t ceil_ms(uint32_t us) { return (us + 999u) / 1000u; }

static void get_status(void) {
  uint32_t poll_ms = 0;
  if (dfu.queue_failure != OK && dfu.state != dfuERROR) {
    const uint8_t failure = dfu.queue_failure;
    dfu.queue_failure = OK;
    drop_work();
    dfu_set_state(dfuERROR, failure);
  }
  switch (dfu.state) {
    case dfuDNLOAD_SYNC:
      if (dfu.op_refusal != OK) {
        const uint8_t refusal = dfu.op_refusal;
        drop_work();
        dfu_set_state(dfuERROR, refusal);
        break;
      }
      if (dfu.op == OP_WAIT_SLOT && flash_queue_count() < BL_WRITE_QUEUE_BLOCKS) dfu.op = OP_NONE;
      if (dfu.op != OP_NONE) {
        poll_ms = ceil_ms(busy_us());
        dfu.op_armed = true;
        dfu_set_state(dfuDNBUSY, OK);
      } else {
        dfu_set_state(dfuDNLOAD_IDLE, OK);
      }
      break;
    case dfuMANIFEST_SYNC:
      if (dfu.op == OP_MANIFEST) {
        poll_ms = ceil_ms(busy_us());
        dfu.op_armed = true;
        dfu_set_state(dfuMANIFEST, OK);
      } else {
        dfu_set_state(dfuIDLE, OK); /* manifestation-tolerant, done (DFU 1.1 A.2.6) */
      }
      break;
    case dfuDNBUSY:
    case dfuMANIFEST:
      /* Pipelined only: USB stays alive during sliced work, so a host that polls before
       * the typical time is up hears how much is left instead of a stall. */
      poll_ms = ceil_ms(busy_us());
      if (poll_ms == 0u) poll_ms = 1u;
      break;
    default:
      break;
  }
  uint8_t *reply = dfu.status_reply;
  reply[0] = dfu.status;
  reply[1] = (uint8_t)poll_ms; /* bwPollTimeout, 24-bit little-endian */
  reply[2] = (uint8_t)(poll_ms >> 8);
  reply[3] = (uint8_t)(poll_ms >> 16);
  reply[4] = dfu.state;
  reply[5] = 0;
  usb_send(reply, sizeof dfu.status_reply);
}

static void upload(const usb_setup_t *s) {
  uint8_t *out = flash_rx_buffer(); /* the queue is empty in dfuIDLE and dfuUPLOAD-IDLE */
  if (s->wLength == 0u || s->wLength > dfu.profile->transfer_size || out == NULL) {
    unexpected(errSTALLEDPKT);
    return;
  }
  uint32_t length = 0;
  dfu.block = s->wValue;
  if (s->wValue == 0u) {
    /* DfuSe Get Commands: command bytes this device serves. */
    out[length++] = DFUSE_CMD_GET_COMMANDS;
    out[length++] = DFUSE_CMD_SET_ADDRESS;
    out[length++] = DFUSE_CMD_ERASE;
    if (!dfu.profile->protect_bootloader) out[length++] = DFUSE_CMD_READ_UNPROTECT;
    if (dfu.profile->crc_command) out[length++] = DFUSE_CMD_CRC;
  } else if (s->wValue == DFUSE_CRC_RESULT_BLOCK) {
    uint32_t failure_address = 0;
    const uint8_t failure = flash_failure(&failure_address);
    if (!dfu.profile->crc_command || (!dfu.crc_ready && failure == OK && dfu.signature_verdict == 0u)) {
      unexpected(errSTALLEDPKT);
      return;
    }
    bl_memset(out, 0, DFUSE_REPORT_LENGTH);
    bl_put_u32le(out, dfu.crc_address);
    bl_put_u32le(out + 4, dfu.crc_length);
    bl_put_u32le(out + 8, dfu.crc_ready ? dfu.crc_value : 0xFFFFFFFFu);
    bl_put_u32le(out + 12, failure_address);
    out[16] = failure;
    out[17] = dfu.signature_verdict;
    length = DFUSE_REPORT_LENGTH;
  } else {
    uint32_t address = 0;
    length = s->wLength;
    if (dfu.profile->lock_upload) {
      /* A locked board keeps its firmware: no reading it out (bitCanUpload is clear). */
      unexpected(errSTALLEDPKT);
      return;
    }
    if (!block_address(&address) || !flash_clip_readable(address, &length)) {
      unexpected(errADDRESS);
      return;
    }
    /* The host reads what it sent: the held block goes to flash first. */
    if (flash_held_overlaps(address, length)) {
      const uint8_t status = flash_commit_held();
      if (status != OK) {
        unexpected(status);
        return;
      }
    }
    flash_read_installed(address, out, length);
  }
  if (length > s->wLength) length = s->wLength;
  usb_send(out, (uint16_t)length);
  /* A short frame ends the upload (DFU 1.1 §6.2). */
  dfu_set_state(length < s->wLength ? dfuIDLE : dfuUPLOAD_IDLE, OK);
}

static void finish_manifestation(void);

void dfu_request(const usb_setup_t *s) {
  if (dfu.left) {
    hal_usb_ep0_stall();
    return;
  }
  const bool in = (s->bmRequestType & 0x80u) != 0u;
  /* The host has ended the download: never drop the manifestation (the held block and its
   * stamp would never be written). Any request but the polls that follow it — a DETACH
   * from dfu-util -R, a GETSTATE from a host that ignores bwPollTimeout — is answered
   * after it is finished, from the state it ends in. */
  if (dfu.op == OP_MANIFEST && dfu.profile->manifestation_tolerant && s->bRequest != DFU_REQ_GETSTATUS &&
      (dfu.state == dfuMANIFEST || (dfu.state == dfuMANIFEST_SYNC && s->bRequest != DFU_REQ_GETSTATE))) {
    finish_manifestation();
  }
  const uint8_t state = dfu.state;
  /* dfuDNBUSY and dfuMANIFEST expect no request at all (DFU 1.1 A.2.5, A.2.8). */
  const bool busy = state == dfuDNBUSY || state == dfuMANIFEST;
  if (state == dfuMANIFEST_WAIT_RESET) {
    hal_usb_ep0_stall();
    return;
  }
  switch (s->bRequest) {
    case DFU_REQ_GETSTATUS:
      if (!in || (busy && !dfu.profile->pipelined)) break;
      get_status();
      return;
    case DFU_REQ_GETSTATE:
      if (!in || busy) break;
      usb_send(&dfu.state, 1);
      return;
    case DFU_REQ_CLRSTATUS:
      if (in || state != dfuERROR) break;
      /* DFU 1.1 A.2.10: CLRSTATUS in dfuERROR always returns to dfuIDLE. Blocks the host
       * saw accepted are written first; one that fails stays in the report (UPLOAD
       * block 1), as the host cleared the status it would have carried. */
      while (!flash_queue_empty() && flash_queue_slice() == OK) {
      }
      dfu.queue_failure = OK;
      drop_work();
      dfu_set_state(dfuIDLE, OK);
      hal_led(HAL_LED_IDLE);
      hal_usb_ep0_ack();
      return;
    case DFU_REQ_ABORT:
      if (in || (state != dfuIDLE && state != dfuDNLOAD_IDLE && state != dfuUPLOAD_IDLE)) break;
      /* The host saw the queued blocks accepted and is done (dfu-util ends a download
       * without ":leave" this way): write them, then the held block, before dfuIDLE. */
      if (!finish_queue() || !commit_held()) {
        hal_usb_ep0_stall();
        return;
      }
      dfu_set_state(dfuIDLE, OK);
      hal_usb_ep0_ack();
      return;
    case DFU_REQ_UPLOAD:
      if (!in || (state != dfuIDLE && state != dfuUPLOAD_IDLE)) break;
      if (usb_alt_setting() != 0u) {
        unexpected(errTARGET);
        return;
      }
      upload(s);
      return;
    case DFU_REQ_DNLOAD:
      if (in || (state != dfuIDLE && state != dfuDNLOAD_IDLE)) break;
      if (usb_alt_setting() != 0u) {
        unexpected(errTARGET);
        return;
      }
      if (s->wLength == 0u) {
        /* Zero length ends the download and starts manifestation (DFU 1.1 §7). From dfuIDLE
         * too, as ST's device library takes it: dfu-util's ":leave" without an address
         * sends it right after its ABORT to dfuIDLE. */
        dfu.op = OP_MANIFEST;
        dfu_set_state(dfuMANIFEST_SYNC, OK);
        hal_usb_ep0_ack();
        return;
      }
      if (s->wLength > dfu.profile->transfer_size) break;
      /* dfuDNLOAD-IDLE is only reported while a slot is free, so there is one. */
      dfu.rx = flash_rx_buffer();
      if (dfu.rx == NULL) break;
      dfu.block = s->wValue;
      dfu.length = s->wLength;
      hal_usb_ep0_receive(dfu.rx, s->wLength);
      return;
    default: /* DETACH is for run-time mode only */
      break;
  }
  unexpected(errSTALLEDPKT);
}

/* Parses a DfuSe command (DNLOAD block 0); false when it is malformed or unknown. */
static bool accept_command(uint16_t length, uint32_t *work_us) {
  const uint8_t *command = dfu.rx;
  const uint32_t argument = length >= 5u ? bl_get_u32le(command + 1) : 0u;
  dfu.op_address = argument;
  if (command[0] == DFUSE_CMD_SET_ADDRESS && length == 5u) {
    dfu.op = OP_SET_ADDRESS;
  } else if (command[0] == DFUSE_CMD_ERASE && length == 1u) {
    dfu.op = OP_MASS_ERASE;
  } else if (command[0] == DFUSE_CMD_ERASE && length == 5u) {
    dfu.op = OP_ERASE;
    dfu.op_refusal = flash_plan_erase(argument, work_us);
  } else if (command[0] == DFUSE_CMD_READ_UNPROTECT && length == 1u) {
    dfu.op = OP_READ_UNPROTECT;
    /* Lifting read protection mass-erases the whole chip, this bootloader included, and
     * ours never sets it: refused on its face (errTARGET at the first GETSTATUS, nothing
     * done), which dfu-util's ":unprotect:force" reports as the device's answer. It is not
     * in Get Commands, so ST's tools do not offer it. */
    if (dfu.profile->protect_bootloader) dfu.op_refusal = errTARGET;
  } else if (command[0] == DFUSE_CMD_CRC && length == 9u && dfu.profile->crc_command) {
    dfu.op = OP_CRC;
    dfu.op_length = bl_get_u32le(command + 5);
    dfu.op_refusal = flash_plan_crc(argument, dfu.op_length, work_us);
  } else {
    return false;
  }
  return true;
}

static void accept_block(uint16_t length) {
  /* Pad a ragged last block to whole words with the erased value. */
  uint32_t padded = length;
  while ((padded & 3u) != 0u) dfu.rx[padded++] = 0xFFu;
  dfu.image_ready = false;
  /* After a queued block failed nothing more is queued: the next GETSTATUS reports it. */
  if (dfu.queue_failure != OK) return;
  uint32_t address = 0;
  const uint8_t status = block_address(&address) ? flash_accept_write(address, padded) : errADDRESS;
  if (status != OK) {
    dfu.op = OP_WRITE;
    dfu.op_refusal = status;
  } else if (!dfu.profile->pipelined) {
    dfu.op = OP_WRITE;
  } else if (flash_queue_count() >= BL_WRITE_QUEUE_BLOCKS) {
    dfu.op = OP_WAIT_SLOT;
  }
}

void dfu_out_complete(uint16_t length) {
  if (length != dfu.length || dfu.block == 1u) {
    unexpected(errSTALLEDPKT);
    return;
  }
  uint32_t work_us = 0;
  dfu.op = OP_NONE;
  dfu.op_refusal = OK;
  dfu.op_done = 0;
  if (dfu.block == 0u) {
    if (!accept_command(length, &work_us)) {
      unexpected(errSTALLEDPKT);
      return;
    }
    if (dfu.op == OP_ERASE || dfu.op == OP_MASS_ERASE) dfu.image_ready = false;
  } else {
    accept_block(length);
  }
  dfu.op_us = work_us;
  dfu_set_state(dfuDNLOAD_SYNC, OK);
  hal_usb_ep0_ack();
}

void dfu_transfer_complete(void) {
  if (dfu.op_armed) {
    dfu.op_armed = false;
    dfu.work_ready = true;
  }
}

void dfu_bus_reset(void) {
  if (dfu.left) return;
  if (dfu.op == OP_MANIFEST && dfu.profile->manifestation_tolerant) {
    /* The host ended the download: finish it; a good image then starts (below). */
    finish_manifestation();
  } else {
    /* Accepted blocks are written first, then the held block, as for ABORT; a failure is
     * kept for UPLOAD block 1. */
    while (!flash_queue_empty() && flash_queue_slice() == OK) {
    }
    if (flash_queue_empty()) (void)flash_commit_held();
  }
  dfu.queue_failure = OK;
  /* DFU 1.1 §8: after a tolerant manifestation a bus reset starts the new firmware. */
  if (dfu.image_ready) dfu.leave_pending = true;
  drop_work();
  dfu.pointer = default_pointer();
  dfu_set_state(dfuIDLE, OK);
}

/* The image as it will be installed, against the profile's keys and the board's
 * anti-rollback counter: a sig_verdict_t (0 valid); *image_counter gets its counter. */
static uint8_t check_signature(uint32_t *image_counter) {
#ifdef STM32DFU_SIGNING
  const sig_verdict_t verdict =
      sig_check_image(STM32DFU_APP_BASE, STM32DFU_APP_SIZE, dfu.profile->signing_keys,
                      dfu.profile->signing_key_count, sig_board_word(STM32DFU_BOARD_ID), image_counter,
                      flash_read_installed);
  if (verdict != SIG_VALID || counter_capacity() == 0u) return (uint8_t)verdict;
  if (*image_counter < counter_read()) return SIG_ROLLED_BACK;
  if (*image_counter > counter_capacity()) return SIG_COUNTER_TOO_HIGH;
  return SIG_VALID;
#else
  (void)image_counter;
  return 0xFFu; /* built without signature support: nothing verifies, so nothing installs */
#endif
}

void dfu_security_record(uint8_t out[SECURITY_RECORD_LENGTH]) {
  const bl_profile_t *p = dfu.profile;
  bl_memset(out, 0, SECURITY_RECORD_LENGTH);
  out[0] = SECURITY_RECORD_FORMAT;
  out[1] = (uint8_t)((p->signing_required ? SECURITY_FLAG_REQUIRED : 0u) |
                     (p->signing_verify_at_boot ? SECURITY_FLAG_VERIFY_AT_BOOT : 0u) |
                     (p->lock_upload ? SECURITY_FLAG_LOCK_UPLOAD : 0u) |
                     (p->protect_flash ? SECURITY_FLAG_PROTECT_FLASH : 0u));
  out[3] = dfu.signature_verdict;
  bl_put_u32le(out + 8, counter_read());
  /* Only a board that requires signatures keeps (and ever advances) a counter. */
  bl_put_u32le(out + 12, p->signing_required ? counter_capacity() : 0u);
#ifdef STM32DFU_SIGNING
  out[1] |= SECURITY_FLAG_CHECK_BUILT;
  out[2] = p->signing_key_count;
  bl_put_u32le(out + 4, sig_board_word(STM32DFU_BOARD_ID));
  for (uint32_t i = 0; i < p->signing_key_count && i < 4u; i++) {
    sha256_t h;
    uint8_t digest[32];
    sha256_init(&h);
    sha256_update(&h, p->signing_keys[i], 32u);
    sha256_final(&h, digest);
    bl_memcpy(out + 16u + 4u * i, digest, 4u);
  }
#endif
}

/* One slice of a command's or manifestation's work; *finished once it is all done. */
static uint8_t run_op_slice(bool *finished) {
  *finished = true;
  switch (dfu.op) {
    case OP_SET_ADDRESS:
      dfu.pointer = dfu.op_address;
      return OK;
    case OP_ERASE:
      return flash_erase(dfu.op_address);
    case OP_MASS_ERASE:
      return flash_mass_erase_slice(&dfu.op_done, finished);
    case OP_CRC:
      /* A CRC over bytes the host sent covers them: the held block goes to flash first. */
      if (flash_held_overlaps(dfu.op_address, dfu.op_length)) {
        const uint8_t status = flash_commit_held();
        if (status != OK) return status;
      }
      dfu.crc_address = dfu.op_address;
      dfu.crc_length = dfu.op_length;
      dfu.crc_value = flash_crc(dfu.op_address, dfu.op_length);
      dfu.crc_ready = true;
      return OK;
    case OP_MANIFEST: {
      const uint8_t status = flash_manifest_slice(finished);
      if (status != OK || !*finished || !dfu.profile->protect_bootloader) return status;
      if (flash_magic_pending()) {
        /* A board that requires signatures writes the magic word only for a signed image. */
        uint32_t image_counter = 0;
        const uint8_t verdict = check_signature(&image_counter);
        dfu.signature_verdict = (uint8_t)(verdict + 1u);
        if (verdict != 0u) return errFIRMWARE;
        /* The counter first: a power cut before the magic word leaves a board that takes
         * this image again, never one that boots it with the old counter. */
        const uint8_t advanced = counter_advance(image_counter);
        if (advanced != OK) return advanced;
        const uint8_t written = flash_write_pending_magic();
        if (written != OK) return written;
      }
      /* Ours reports an image it would not boot as errFIRMWARE and stays in DFU mode. */
      if (boot_check_application(false) != BOOT_JUMP) return errFIRMWARE;
      dfu.image_ready = true;
      return OK;
    }
    case OP_READ_UNPROTECT: /* the ROM model has no read protection to lift */
    default:
      return OK;
  }
}

static void finish_op(uint8_t status) {
  const bool manifest = dfu.op == OP_MANIFEST;
  dfu.op = OP_NONE;
  dfu.work_ready = false;
  dfu_note_activity();
  if (status != OK) {
    dfu_set_state(dfuERROR, status);
    return;
  }
  hal_led(HAL_LED_IDLE);
  if (!manifest) {
    dfu_set_state(dfuDNLOAD_SYNC, OK);
  } else if (dfu.profile->manifestation_tolerant) {
    dfu_set_state(dfuMANIFEST_SYNC, OK);
  } else {
    dfu_set_state(dfuMANIFEST_WAIT_RESET, OK);
    dfu.leave_pending = true;
  }
}

/* The announced work, once its GETSTATUS has completed. `sliced`: this bl_poll call has
 * already done its slice of flash work. */
static void step_op(bool sliced) {
  bool finished = true;
  uint8_t status = OK;
  switch (dfu.op) {
    case OP_WAIT_SLOT:
      finished = flash_queue_count() < BL_WRITE_QUEUE_BLOCKS;
      break;
    case OP_WRITE:
      finished = flash_queue_empty();
      break;
    default:
      /* Commands and manifestation never overlap queued programming (an erase under a
       * queued block, a CRC of flash about to change, a stamp checked half-written). */
      if (sliced || !flash_queue_empty()) return;
      status = run_op_slice(&finished);
      break;
  }
  if (finished || status != OK) finish_op(status);
}

/* The whole manifestation, here and now (the port NAKs meanwhile): queued blocks, the held
 * block, the boot check. Bounded: at most BL_WRITE_QUEUE_BLOCKS blocks and one held block of
 * slices. Ends as step_op would: dfuMANIFEST-SYNC, or dfuERROR with the failure. */
static void finish_manifestation(void) {
  uint8_t status = OK;
  while (!flash_queue_empty() && status == OK) status = flash_queue_slice();
  if (status == OK) status = dfu.queue_failure;
  dfu.queue_failure = OK;
  bool finished = false;
  for (uint32_t i = 0; status == OK && !finished && i <= BL_HELD_BLOCK_SIZE / 4u + 1u; i++) {
    status = run_op_slice(&finished);
  }
  dfu.op = OP_MANIFEST; /* finish_op reads it */
  finish_op(status);
  dfu.op_armed = false;
}

/* A queued block failed; flash.c has dropped the rest of the queue. */
static void queue_failed(uint8_t status) {
  if (dfu.op != OP_NONE) drop_work(); /* what waited for the queue will not run */
  if (dfu.state == dfuDNBUSY || dfu.state == dfuMANIFEST) {
    dfu_set_state(dfuERROR, status); /* the host is polling for exactly this */
  } else {
    dfu.queue_failure = status;
  }
}

void bl_poll(void) {
  if (dfu.left) return;
  bool sliced = false;
  /* The strict profile programs its one block only once dfuDNBUSY has been announced. */
  if (!flash_queue_empty() && (dfu.profile->pipelined || dfu.work_ready)) {
    hal_led(HAL_LED_TRANSFER);
    const uint8_t status = flash_queue_slice();
    sliced = true;
    dfu_note_activity();
    if (status != OK) {
      queue_failed(status);
    } else if (flash_queue_empty() && dfu.state != dfuERROR) {
      hal_led(HAL_LED_IDLE);
    }
  }
  if (dfu.work_ready) {
    if (!sliced) hal_led(HAL_LED_TRANSFER);
    step_op(sliced);
  }
  /* A host that says nothing more after a good manifestation (dfu-util's ":leave") still
   * gets its application started. */
  if (dfu.leave_pending ||
      (dfu.image_ready && hal_millis() - dfu.last_activity_ms >= BL_LEAVE_IDLE_MS)) {
    leave();
  }
}

bool bl_work_pending(void) {
  const bool queue_runs = !flash_queue_empty() && (dfu.profile->pipelined || dfu.work_ready);
  return !dfu.left && (queue_runs || dfu.work_ready || dfu.leave_pending || dfu.image_ready);
}
