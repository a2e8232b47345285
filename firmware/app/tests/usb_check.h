/*
 * usb_check.h — helpers the application's USB tests share with the bootloader dump:
 * reading descriptors as a host does (walking bLength), and turning a GUID written as
 * text into its wire order, so capability UUIDs are checked against the specs' text
 * rather than against a copy of the firmware's bytes.
 */
#ifndef STM32DFU_APP_TESTS_USB_CHECK_H
#define STM32DFU_APP_TESTS_USB_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* The UUIDs as WebUSB §4.1 and the Microsoft OS 2.0 specification print them. */
#define WEBUSB_PLATFORM_UUID_TEXT "3408B638-09A9-47A0-8BFD-A0768815B665"
#define MS_OS_20_PLATFORM_UUID_TEXT "D8DD60DF-4589-4CC7-9CD2-659D9E648A9F"

/* The chip's unique id both programs give their HAL: digits above 9 show whether the
 * serial's hex is uppercase. */
#define TEST_UNIQUE_ID_BYTES {0x32, 0x00, 0x3F, 0x00, 0x0A, 0x51, 0x33, 0x30, 0x39, 0x36, 0x39, 0xBE}

static inline uint16_t get_u16le(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t get_u32le(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* A GUID's wire order (as in a USB platform capability): Data1 (u32), Data2 and Data3
 * (u16) little-endian, then Data4's eight bytes as written. False on malformed text. */
static inline bool guid_wire_bytes(const char *text, uint8_t out[16]) {
  uint8_t as_written[16];
  unsigned n = 0;
  for (const char *c = text; *c != '\0'; c++) {
    if (*c == '-') continue;
    int high = hex_value(c[0]);
    int low = c[1] == '\0' ? -1 : hex_value(c[1]);
    if (high < 0 || low < 0 || n == 16u) return false;
    as_written[n++] = (uint8_t)(high << 4 | low);
    c++;
  }
  if (n != 16u) return false;
  static const uint8_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  for (unsigned i = 0; i < 16u; i++) out[i] = as_written[order[i]];
  return true;
}

/* Offset of the platform capability (USB 3.2 §9.6.2.4: type 0x10, capability 0x05) with
 * this UUID inside a BOS of `length` bytes, walking the capabilities after the 5-byte
 * header by bLength; -1 if absent or the walk runs off the end. */
static inline int bos_find_platform_capability(const uint8_t *bos, uint16_t length,
                                               const char *uuid_text) {
  uint8_t uuid[16];
  if (!guid_wire_bytes(uuid_text, uuid) || length < 5u) return -1;
  for (uint16_t at = bos[0]; at + 2u <= length && bos[at] >= 2u; at = (uint16_t)(at + bos[at])) {
    if (at + bos[at] > length) return -1;
    if (bos[at + 1] == 0x10u && bos[at] >= 20u && bos[at + 2] == 0x05u &&
        memcmp(bos + at + 4, uuid, 16) == 0) {
      return at;
    }
  }
  return -1;
}

#endif /* STM32DFU_APP_TESTS_USB_CHECK_H */
