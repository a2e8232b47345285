/*
 * dfu.c — the DFU 1.1 state machine (spec appendix A) with the DfuSe extensions (UM0424,
 * AN3156). State changes go through dfu_set_state only. Requests are answered at once;
 * the work they ask for (flash, CRC, manifestation) runs later in bl_poll, after the
 * GETSTATUS announcing dfuDNBUSY / dfuMANIFEST has completed, because on the chip a
 * flash operation stalls the bus.
 */
#include "bl_internal.h"

typedef enum {
  OP_NONE = 0,
  OP_SET_ADDRESS,
  OP_ERASE,
  OP_MASS_ERASE,
  OP_READ_UNPROTECT,
  OP_CRC,
  OP_WRITE,
  OP_MANIFEST,
} dfu_op_t;

static struct {
  const bl_profile_t *profile;
  uint8_t state, status;
  dfu_op_t op;          /* accepted, not yet run */
  uint8_t op_refusal;   /* bStatus the next GETSTATUS reports instead of running `op` */
  bool op_armed;        /* the GETSTATUS announcing the work is on the wire */
  bool work_ready;      /* ... and has completed: bl_poll runs `op` */
  uint32_t op_address, op_length, poll_ms;
  uint16_t block, length;
  uint32_t pointer;     /* DfuSe address pointer */
  bool crc_ready;
  uint32_t crc_address, crc_length, crc_value;
  bool image_ready;     /* manifestation done and the image boots: leave when the host is done */
  bool leave_pending, left;
  uint32_t last_activity_ms;
  uint8_t status_reply[6]; /* static: a port may send from it after we return */
  uint8_t buffer[BL_MAX_TRANSFER_SIZE];
} dfu;

_Static_assert(BL_MAX_TRANSFER_SIZE % 4u == 0u, "data blocks are padded to whole words");

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

static void get_status(void) {
  uint32_t poll_ms = 0;
  switch (dfu.state) {
    case dfuDNLOAD_SYNC:
      if (dfu.op_refusal != OK) {
        const uint8_t refusal = dfu.op_refusal;
        drop_work();
        dfu_set_state(dfuERROR, refusal);
      } else if (dfu.op != OP_NONE) {
        poll_ms = dfu.poll_ms;
        dfu.op_armed = true;
        dfu_set_state(dfuDNBUSY, OK);
      } else {
        dfu_set_state(dfuDNLOAD_IDLE, OK);
      }
      break;
    case dfuMANIFEST_SYNC:
      if (dfu.op == OP_MANIFEST) {
        poll_ms = flash_manifest_poll_ms();
        dfu.op_armed = true;
        dfu_set_state(dfuMANIFEST, OK);
      } else {
        dfu_set_state(dfuIDLE, OK); /* manifestation-tolerant, done (DFU 1.1 A.2.6) */
      }
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
  if (s->wLength == 0u || s->wLength > dfu.profile->transfer_size) {
    unexpected(errSTALLEDPKT);
    return;
  }
  uint32_t length = 0;
  dfu.block = s->wValue;
  if (s->wValue == 0u) {
    /* DfuSe Get Commands: command bytes this device serves. */
    dfu.buffer[length++] = DFUSE_CMD_GET_COMMANDS;
    dfu.buffer[length++] = DFUSE_CMD_SET_ADDRESS;
    dfu.buffer[length++] = DFUSE_CMD_ERASE;
    if (!dfu.profile->protect_bootloader) dfu.buffer[length++] = DFUSE_CMD_READ_UNPROTECT;
    if (dfu.profile->crc_command) dfu.buffer[length++] = DFUSE_CMD_CRC;
  } else if (s->wValue == DFUSE_CRC_RESULT_BLOCK) {
    if (!dfu.profile->crc_command || !dfu.crc_ready) {
      unexpected(errSTALLEDPKT);
      return;
    }
    bl_put_u32le(dfu.buffer, dfu.crc_address);
    bl_put_u32le(dfu.buffer + 4, dfu.crc_length);
    bl_put_u32le(dfu.buffer + 8, dfu.crc_value);
    length = 12;
  } else {
    uint32_t address = 0;
    length = s->wLength;
    if (!block_address(&address) || !flash_clip_readable(address, &length)) {
      unexpected(errADDRESS);
      return;
    }
    hal_flash_read(address, dfu.buffer, length);
  }
  if (length > s->wLength) length = s->wLength;
  usb_send(dfu.buffer, (uint16_t)length);
  /* A short frame ends the upload (DFU 1.1 §6.2). */
  dfu_set_state(length < s->wLength ? dfuIDLE : dfuUPLOAD_IDLE, OK);
}

void dfu_request(const usb_setup_t *s) {
  if (dfu.left) {
    hal_usb_ep0_stall();
    return;
  }
  const bool in = (s->bmRequestType & 0x80u) != 0u;
  const uint8_t state = dfu.state;
  /* dfuDNBUSY and dfuMANIFEST expect no request at all (DFU 1.1 A.2.5, A.2.8). */
  const bool busy = state == dfuDNBUSY || state == dfuMANIFEST;
  if (state == dfuMANIFEST_WAIT_RESET) {
    hal_usb_ep0_stall();
    return;
  }
  switch (s->bRequest) {
    case DFU_REQ_GETSTATUS:
      if (!in || busy) break;
      get_status();
      return;
    case DFU_REQ_GETSTATE:
      if (!in || busy) break;
      usb_send(&dfu.state, 1);
      return;
    case DFU_REQ_CLRSTATUS:
      if (in || state != dfuERROR) break;
      dfu_set_state(dfuIDLE, OK);
      hal_led(HAL_LED_IDLE);
      hal_usb_ep0_ack();
      return;
    case DFU_REQ_ABORT:
      if (in || (state != dfuIDLE && state != dfuDNLOAD_IDLE && state != dfuUPLOAD_IDLE)) break;
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
        /* Zero length ends the download; in dfuIDLE there is nothing to end. */
        if (state != dfuDNLOAD_IDLE) break;
        dfu.op = OP_MANIFEST;
        dfu_set_state(dfuMANIFEST_SYNC, OK);
        hal_usb_ep0_ack();
        return;
      }
      if (s->wLength > dfu.profile->transfer_size) break;
      dfu.block = s->wValue;
      dfu.length = s->wLength;
      hal_usb_ep0_receive(dfu.buffer, s->wLength);
      return;
    default: /* DETACH is for run-time mode only */
      break;
  }
  unexpected(errSTALLEDPKT);
}

/* Parses a DfuSe command (DNLOAD block 0); false when it is malformed or unknown. */
static bool accept_command(uint16_t length, uint32_t *poll_ms) {
  const uint8_t command = dfu.buffer[0];
  const uint32_t argument = length >= 5u ? bl_get_u32le(dfu.buffer + 1) : 0u;
  dfu.op_address = argument;
  if (command == DFUSE_CMD_SET_ADDRESS && length == 5u) {
    dfu.op = OP_SET_ADDRESS;
  } else if (command == DFUSE_CMD_ERASE && length == 1u) {
    dfu.op = OP_MASS_ERASE;
    dfu.op_refusal = flash_plan_mass_erase(poll_ms);
  } else if (command == DFUSE_CMD_ERASE && length == 5u) {
    dfu.op = OP_ERASE;
    dfu.op_refusal = flash_plan_erase(argument, poll_ms);
  } else if (command == DFUSE_CMD_READ_UNPROTECT && length == 1u && !dfu.profile->protect_bootloader) {
    dfu.op = OP_READ_UNPROTECT;
  } else if (command == DFUSE_CMD_CRC && length == 9u && dfu.profile->crc_command) {
    dfu.op = OP_CRC;
    dfu.op_length = bl_get_u32le(dfu.buffer + 5);
    dfu.op_refusal = flash_plan_crc(argument, dfu.op_length, poll_ms);
  } else {
    return false;
  }
  return true;
}

void dfu_out_complete(uint16_t length) {
  if (length != dfu.length || dfu.block == 1u) {
    unexpected(errSTALLEDPKT);
    return;
  }
  uint32_t poll_ms = 0;
  dfu.op_refusal = OK;
  if (dfu.block == 0u) {
    if (!accept_command(length, &poll_ms)) {
      unexpected(errSTALLEDPKT);
      return;
    }
  } else {
    uint32_t address = 0;
    /* Pad a ragged last block to whole words with the erased value. */
    uint32_t padded = length;
    while ((padded & 3u) != 0u) dfu.buffer[padded++] = 0xFFu;
    dfu.op = OP_WRITE;
    dfu.op_address = address;
    dfu.op_length = padded;
    dfu.op_refusal = block_address(&address) ? flash_plan_write(address, padded, &poll_ms) : errADDRESS;
    dfu.op_address = address;
  }
  if (dfu.op == OP_ERASE || dfu.op == OP_MASS_ERASE || dfu.op == OP_WRITE) dfu.image_ready = false;
  dfu.poll_ms = poll_ms;
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
  /* DFU 1.1 §8: after a tolerant manifestation a bus reset starts the new firmware. */
  if (dfu.image_ready) dfu.leave_pending = true;
  drop_work();
  dfu.pointer = default_pointer();
  dfu_set_state(dfuIDLE, OK);
}

static uint8_t run_op(void) {
  switch (dfu.op) {
    case OP_SET_ADDRESS:
      dfu.pointer = dfu.op_address;
      return OK;
    case OP_ERASE:
      return flash_erase(dfu.op_address);
    case OP_MASS_ERASE:
      return flash_mass_erase();
    case OP_CRC:
      dfu.crc_address = dfu.op_address;
      dfu.crc_length = dfu.op_length;
      dfu.crc_value = flash_crc(dfu.op_address, dfu.op_length);
      dfu.crc_ready = true;
      return OK;
    case OP_WRITE:
      return flash_write(dfu.op_address, dfu.buffer, dfu.op_length);
    case OP_MANIFEST: {
      const uint8_t status = flash_manifest();
      if (status != OK || !dfu.profile->protect_bootloader) return status;
      /* Ours reports an image it would not boot as errFIRMWARE and stays in DFU mode. */
      if (boot_check_application() != BOOT_JUMP) return errFIRMWARE;
      dfu.image_ready = true;
      return OK;
    }
    case OP_READ_UNPROTECT: /* the ROM model has no read protection to lift */
    default:
      return OK;
  }
}

void bl_poll(void) {
  if (dfu.left) return;
  if (dfu.work_ready) {
    dfu.work_ready = false;
    hal_led(HAL_LED_TRANSFER);
    const bool manifest = dfu.op == OP_MANIFEST;
    const uint8_t status = run_op();
    dfu.op = OP_NONE;
    dfu_note_activity();
    if (status != OK) {
      dfu_set_state(dfuERROR, status);
    } else {
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
  }
  /* A host that says nothing more after a good manifestation (dfu-util's ":leave") still
   * gets its application started. */
  if (dfu.leave_pending ||
      (dfu.image_ready && hal_millis() - dfu.last_activity_ms >= BL_LEAVE_IDLE_MS)) {
    leave();
  }
}

bool bl_work_pending(void) {
  return !dfu.left && (dfu.work_ready || dfu.leave_pending || dfu.image_ready);
}
