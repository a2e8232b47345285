/* dfu_host.c — host-side helpers for the core's tests (see dfu_host.h). */
#include "dfu_host.h"

#include <string.h>

#define REQ_OUT 0x21u
#define REQ_IN 0xA1u

void host_attach(const bl_profile_t *profile, uint8_t alt) {
  sim_reset();
  bl_init(profile);
  usbd_bus_reset();
  sim_control_out(0x00, 5, 9, 0, NULL, 0);  /* SET_ADDRESS 9 */
  sim_control_out(0x00, 9, 1, 0, NULL, 0);  /* SET_CONFIGURATION 1 */
  sim_control_out(0x01, 11, alt, 0, NULL, 0); /* SET_INTERFACE */
}

bool host_getstatus(dfu_status_t *out) {
  uint8_t reply[6] = {0};
  uint16_t got = 0;
  const bool ok = sim_control_in(REQ_IN, GETSTATUS, 0, 0, 6, reply, &got);
  if (ok && got == 6 && out != NULL) {
    out->status = reply[0];
    out->poll_ms = (uint32_t)reply[1] | ((uint32_t)reply[2] << 8) | ((uint32_t)reply[3] << 16);
    out->state = reply[4];
  }
  return ok && got == 6;
}

bool host_dnload(uint16_t block, const uint8_t *data, uint16_t length) {
  return sim_control_out(REQ_OUT, DNLOAD, block, 0, data, length);
}

bool host_upload(uint16_t block, uint16_t length, uint8_t *out, uint16_t *got) {
  return sim_control_in(REQ_IN, UPLOAD, block, 0, length, out, got);
}

bool host_request_out(uint8_t request, uint16_t value) {
  return sim_control_out(REQ_OUT, request, value, 0, NULL, 0);
}

static dfu_status_t stalled(void) {
  dfu_status_t s = {0xFF, 0, 0xFF};
  return s;
}

static dfu_status_t finish(dfu_status_t *first) {
  dfu_status_t s = stalled();
  if (!host_getstatus(&s)) return stalled();
  if (first != NULL) *first = s;
  while (s.state == S_dfuDNBUSY || s.state == S_dfuMANIFEST) {
    sim_sleep(s.poll_ms); /* the host sleeps bwPollTimeout while the device works */
    if (!host_getstatus(&s)) return stalled();
  }
  return s;
}

dfu_status_t host_command(const uint8_t *command, uint16_t length, dfu_status_t *first) {
  if (!host_dnload(0, command, length)) return stalled();
  return finish(first);
}

dfu_status_t host_set_address(uint32_t address) {
  const uint8_t c[5] = {0x21, (uint8_t)address, (uint8_t)(address >> 8), (uint8_t)(address >> 16),
                        (uint8_t)(address >> 24)};
  return host_command(c, 5, NULL);
}

dfu_status_t host_erase(uint32_t address) {
  const uint8_t c[5] = {0x41, (uint8_t)address, (uint8_t)(address >> 8), (uint8_t)(address >> 16),
                        (uint8_t)(address >> 24)};
  return host_command(c, 5, NULL);
}

dfu_status_t host_mass_erase(void) {
  const uint8_t c[1] = {0x41};
  return host_command(c, 1, NULL);
}

dfu_status_t host_write(uint16_t block, const uint8_t *data, uint16_t length, dfu_status_t *first) {
  if (!host_dnload(block, data, length)) return stalled();
  return finish(first);
}

dfu_status_t host_manifest(void) {
  if (!host_dnload(0, NULL, 0)) return stalled();
  return finish(NULL);
}

dfu_status_t host_download(uint32_t address, const uint8_t *image, uint32_t length) {
  static const uint32_t sectors[][4] = STM32DFU_SECTOR_TABLE;
  dfu_status_t s = stalled();
  for (uint32_t i = 0; i < STM32DFU_SECTOR_COUNT; i++) {
    if (sectors[i][0] < address + length && sectors[i][0] + sectors[i][1] > address) {
      s = host_erase(sectors[i][0]);
      if (s.status != ST_OK) return s;
    }
  }
  s = host_set_address(address);
  if (s.status != ST_OK) return s;
  for (uint32_t offset = 0, block = 2; offset < length; offset += 2048u, block++) {
    const uint32_t n = length - offset < 2048u ? length - offset : 2048u;
    s = host_write((uint16_t)block, image + offset, (uint16_t)n, NULL);
    if (s.status != ST_OK) return s;
  }
  return host_manifest();
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

bool host_report(dfu_report_t *out) {
  uint8_t reply[64];
  uint16_t got = 0;
  if (!host_upload(1, sizeof reply, reply, &got) || got != 20u) return false;
  out->crc_address = get32(reply);
  out->crc_length = get32(reply + 4);
  out->crc = get32(reply + 8);
  out->failure_address = get32(reply + 12);
  out->failure_status = reply[16];
  return true;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

void make_app_image(uint8_t *image, uint32_t length, uint32_t version) {
  for (uint32_t i = 0; i < length; i++) image[i] = (uint8_t)(i * 7u + 3u);
  put32(image + 0, STM32DFU_SRAM_BASE + STM32DFU_SRAM_SIZE); /* initial SP: top of SRAM */
  put32(image + 4, STM32DFU_APP_BASE + 0x201u);              /* reset handler, Thumb */
  put32(image + 0x1C, 0x504D5453u);
  put32(image + 0x20, length);
  put32(image + 0x24, 0);
  put32(image + 0x28, version);
  uint32_t crc = bl_crc_stm32(0xFFFFFFFFu, image, 0x24);
  crc = bl_crc_stm32(crc, image + 0x28, length - 0x28);
  put32(image + 0x24, crc);
}
