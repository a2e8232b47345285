/* sim_hal.c — hal.h on the host, for the core's unit tests (see sim.h). */
#include "sim.h"

#include <string.h>

#include "bootloader.h"
#include "crc_unit.h"

sim_t sim;
uint32_t sim_ep0_violations;

typedef struct {
  uint32_t start, size, erase_ms_typ, erase_ms_max;
} sim_sector_t;
static const sim_sector_t sim_sectors[STM32DFU_SECTOR_COUNT] = STM32DFU_SECTOR_TABLE;

void sim_reset(void) {
  memset(&sim, 0, sizeof sim);
  memset(sim.flash, 0xFF, sizeof sim.flash);
  memset(sim.otp, 0xFF, sizeof sim.otp);
  sim.powered = true;
  for (int i = 0; i < 12; i++) sim.uid[i] = (uint8_t)(0xA0 + i * 0x11);
  sim.crc_words_per_ms = 8000u;
  (void)crc_unit_select(NULL);
  sim_ep0_violations = 0;
}

uint8_t *sim_flash_at(uint32_t address) { return &sim.flash[address - STM32DFU_FLASH_BASE]; }

void sim_flash_load(uint32_t address, const uint8_t *data, uint32_t length) {
  memcpy(sim_flash_at(address), data, length);
}

void sim_set_millis(uint32_t ms) { sim.micros = (uint64_t)ms * 1000u; }

static bool in_flash(uint32_t address, uint32_t length) {
  return address >= STM32DFU_FLASH_BASE && address - STM32DFU_FLASH_BASE <= STM32DFU_FLASH_SIZE &&
         length <= STM32DFU_FLASH_SIZE - (address - STM32DFU_FLASH_BASE);
}

/* Counts one flash operation; true when power dies during it. */
static bool power_dies(void) {
  sim.flash_ops++;
  return sim.power_cut_at != 0u && sim.flash_ops == sim.power_cut_at;
}

static void cut_power(void) {
  sim.powered = false;
  if (sim.power_cut_jump != NULL) longjmp(*sim.power_cut_jump, 1);
}

/* One flash call (a slice of the core's work) has completed. */
static void call_done(void) {
  sim.flash_calls++;
  if (sim.power_cut_after_call != 0u && sim.flash_calls == sim.power_cut_after_call) cut_power();
}

/* ---- hal.h ---- */

hal_status_t hal_flash_erase_sector(uint32_t sector_index) {
  if (sector_index >= STM32DFU_SECTOR_COUNT) return HAL_ERR_SEQUENCE;
  if (sim.write_protected[sector_index]) return HAL_ERR_PROTECTED;
  const sim_sector_t *s = &sim_sectors[sector_index];
  if (power_dies()) {
    /* A torn erase: the first half already reads erased, the rest keeps old data. */
    memset(sim_flash_at(s->start), 0xFF, s->size / 2u);
    cut_power();
    return HAL_ERR_SEQUENCE;
  }
  memset(sim_flash_at(s->start), 0xFF, s->size);
  sim.erases++;
  sim.micros += (uint64_t)s->erase_ms_typ * 1000u;
  call_done();
  return HAL_OK;
}

hal_status_t hal_flash_program(uint32_t address, const uint8_t *data, uint32_t length) {
  if ((address % STM32DFU_FLASH_PROGRAM_UNIT) != 0u || (length % STM32DFU_FLASH_PROGRAM_UNIT) != 0u) {
    return HAL_ERR_ALIGNMENT;
  }
  if (!in_flash(address, length)) return HAL_ERR_SEQUENCE;
  hal_status_t status = HAL_OK;
  for (uint32_t i = 0; i < length; i += 4u) {
    for (uint32_t s = 0; s < STM32DFU_SECTOR_COUNT; s++) {
      if (sim.write_protected[s] && address + i >= sim_sectors[s].start &&
          address + i - sim_sectors[s].start < sim_sectors[s].size) {
        return HAL_ERR_PROTECTED;
      }
    }
    if (power_dies()) cut_power(); /* this word is not written */
    uint8_t *cell = sim_flash_at(address + i);
    for (uint32_t b = 0; b < 4u; b++) {
      /* NOR: programming only clears bits; a word that was not erased reads back wrong. */
      if ((cell[b] & data[i + b]) != data[i + b]) status = HAL_ERR_VERIFY;
      cell[b] &= data[i + b];
    }
    if (sim.stuck_word_address != 0u && address + i == sim.stuck_word_address) cell[0] |= 0x01u;
    sim.last_program_address = address + i;
    sim.programmed_words++;
    sim.micros += STM32DFU_PROGRAM_US_TYP;
  }
  call_done();
  return status;
}

void hal_otp_read(uint32_t offset, uint8_t *out, uint32_t length) {
  for (uint32_t i = 0; i < length; i++) out[i] = offset + i < sizeof sim.otp ? sim.otp[offset + i] : 0xFFu;
}

hal_status_t hal_otp_program(uint32_t offset, uint8_t value) {
  if (offset >= sizeof sim.otp) return HAL_ERR_SEQUENCE;
  if (power_dies()) cut_power(); /* this byte is not written */
  sim.otp[offset] &= value;
  sim.otp_programs++;
  sim.micros += STM32DFU_PROGRAM_US_TYP;
  call_done();
  return HAL_OK;
}

void hal_flash_read(uint32_t address, uint8_t *out, uint32_t length) {
  if (in_flash(address, length)) {
    memcpy(out, sim_flash_at(address), length);
  } else {
    memset(out, 0, length); /* not flash: the sim maps nothing else */
  }
}

static void answer(sim_ep0_answer_t kind) {
  sim.answer = kind;
  sim.answers++;
}

void hal_usb_ep0_send(const uint8_t *data, uint16_t length) {
  if (length > sizeof sim.sent) {
    sim_ep0_violations++;
    length = sizeof sim.sent;
  }
  memcpy(sim.sent, data, length);
  sim.sent_length = length;
  answer(SIM_EP0_SEND);
}

void hal_usb_ep0_receive(uint8_t *buffer, uint16_t length) {
  sim.receive_buffer = buffer;
  sim.receive_length = length;
  answer(SIM_EP0_RECEIVE);
}

void hal_usb_ep0_ack(void) { answer(SIM_EP0_ACK); }
void hal_usb_ep0_stall(void) { answer(SIM_EP0_STALL); }
void hal_usb_set_address(uint8_t address) { sim.address = address; }

void hal_usb_connect(bool connected) {
  sim.connected = connected;
  if (connected) {
    sim.connect_calls++;
  } else {
    sim.disconnect_calls++;
  }
}

uint32_t hal_crc_stm32(uint32_t crc, uint32_t address, uint32_t length) {
  sim.crc_calls++;
  return crc_unit_compute(crc, address, length);
}
uint32_t hal_crc_words_per_ms(void) { return sim.crc_words_per_ms; }

uint32_t hal_millis(void) { return (uint32_t)(sim.micros / 1000u); }
void hal_unique_id(uint8_t out[12]) { memcpy(out, sim.uid, 12); }
bool hal_button_pressed(void) { return sim.button; }
void hal_led(hal_led_pattern_t pattern) { sim.led = pattern; }

void hal_boot_request_read(uint32_t *magic, uint32_t *check) {
  *magic = sim.request_magic;
  *check = sim.request_check;
}

void hal_boot_request_write(uint32_t magic, uint32_t check) {
  sim.request_magic = magic;
  sim.request_check = check;
}

void hal_system_reset(void) { sim.resets++; }

void hal_jump_to_application(uint32_t vector_table) {
  sim.jumps++;
  sim.jump_address = vector_table;
}

/* ---- Host side of EP0 ---- */

static void send_setup(uint8_t bmRequestType, uint8_t bRequest, uint16_t wValue, uint16_t wIndex,
                       uint16_t wLength) {
  const uint8_t setup[8] = {bmRequestType, bRequest, (uint8_t)wValue, (uint8_t)(wValue >> 8),
                            (uint8_t)wIndex, (uint8_t)(wIndex >> 8), (uint8_t)wLength,
                            (uint8_t)(wLength >> 8)};
  sim.answer = SIM_EP0_NONE;
  sim.answers = 0;
  usbd_setup(setup);
}

bool sim_control_in(uint8_t bmRequestType, uint8_t bRequest, uint16_t wValue, uint16_t wIndex,
                    uint16_t wLength, uint8_t *data, uint16_t *length) {
  send_setup(bmRequestType, bRequest, wValue, wIndex, wLength);
  if (sim.answers != 1u || (sim.answer != SIM_EP0_SEND && sim.answer != SIM_EP0_STALL)) {
    sim_ep0_violations++;
  }
  if (length != NULL) *length = 0;
  if (sim.answer != SIM_EP0_SEND) return false;
  if (sim.sent_length > wLength) sim_ep0_violations++;
  if (data != NULL) memcpy(data, sim.sent, sim.sent_length);
  if (length != NULL) *length = sim.sent_length;
  usbd_ep0_transfer_complete();
  return true;
}

bool sim_control_out(uint8_t bmRequestType, uint8_t bRequest, uint16_t wValue, uint16_t wIndex,
                     const uint8_t *data, uint16_t wLength) {
  send_setup(bmRequestType, bRequest, wValue, wIndex, wLength);
  if (sim.answers != 1u) sim_ep0_violations++;
  if (wLength > 0u && sim.answer == SIM_EP0_RECEIVE) {
    if (sim.receive_length != wLength) sim_ep0_violations++;
    memcpy(sim.receive_buffer, data, wLength);
    sim.answer = SIM_EP0_NONE;
    sim.answers = 0;
    usbd_ep0_out_complete(wLength);
    if (sim.answers != 1u) sim_ep0_violations++;
  }
  if (sim.answer == SIM_EP0_ACK) {
    usbd_ep0_transfer_complete();
    return true;
  }
  if (sim.answer != SIM_EP0_STALL) sim_ep0_violations++;
  return false;
}

/* One bl_poll; false when it changed nothing observable (only time can move it on). */
static bool poll_progressed(void) {
  const uint64_t micros = sim.micros;
  const uint32_t calls = sim.flash_calls;
  const uint8_t state = dfu_state();
  const uint8_t status = dfu_status();
  const uint32_t leaving = sim.jumps + sim.resets;
  bl_poll();
  return sim.micros != micros || sim.flash_calls != calls || dfu_state() != state || dfu_status() != status ||
         sim.jumps + sim.resets != leaving;
}

void sim_run(void) {
  for (int i = 0; i < 100000 && bl_work_pending(); i++) {
    if (!poll_progressed() && !poll_progressed()) return;
  }
}

void sim_sleep(uint32_t ms) {
  const uint64_t until = sim.micros + (uint64_t)ms * 1000u;
  bool sliced = false;
  for (int i = 0; i < 100000 && bl_work_pending(); i++) {
    /* Once the time is up the host's request is served: after the slice under way, and
     * after any work that takes no time (the port's main loop alternates the two). */
    if (sim.micros >= until && sliced) break;
    const uint32_t calls = sim.flash_calls;
    if (!poll_progressed() && !poll_progressed()) break;
    sliced = sim.flash_calls != calls;
  }
  if (sim.micros < until) sim.micros = until;
}
