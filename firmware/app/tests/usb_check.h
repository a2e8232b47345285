/*
 * usb_check.h — helpers the application's USB tests share with the bootloader dump:
 * reading descriptors as a host does (walking bLength), reading an MS OS 2.0 descriptor set
 * as Windows does (walking wLength), and turning a GUID written as text into its wire
 * order, so capability UUIDs are checked against the specs' text rather than against a copy
 * of the firmware's bytes.
 */
#ifndef STM32DFU_APP_TESTS_USB_CHECK_H
#define STM32DFU_APP_TESTS_USB_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The UUIDs as WebUSB §4.1 and the Microsoft OS 2.0 specification print them. */
#define WEBUSB_PLATFORM_UUID_TEXT "3408B638-09A9-47A0-8BFD-A0768815B665"
#define MS_OS_20_PLATFORM_UUID_TEXT "D8DD60DF-4589-4CC7-9CD2-659D9E648A9F"
/* Our device interface GUID as docs/decisions.md records it. Programs find the board by it,
 * so it must never change. */
#define STM32DFU_DEVICE_INTERFACE_GUID_TEXT "{11F45152-A452-48B0-8922-5A0BBE622A30}"

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

/* ---- An MS OS 2.0 descriptor set, read as Windows reads it (MS OS 2.0 §4) ---- */

/* What the walk found. Registry property names and string data are kept as ASCII when every
 * UTF-16LE code unit is below 0x80 ('?' otherwise); `strings` counts a REG_MULTI_SZ's entries
 * and `string[0]` is its first. */
typedef struct {
  uint16_t total_length;
  int subset_headers;
  int compatible_ids;
  char compatible_id[17]; /* CompatibleID and SubCompatibleID, NULs as '.' */
  int properties;
  uint16_t property_type;
  char property_name[64];
  int strings;
  char string[2][64];
  char error[200];
} msos20_set_t;

static inline bool msos20_fail(msos20_set_t *out, const char *message, int at) {
  snprintf(out->error, sizeof out->error, "%s (offset %d)", message, at);
  return false;
}

/* UTF-16LE code units [from, from + length) as ASCII into `text` (NUL-terminated, cut to size). */
static inline void msos20_ascii(const uint8_t *utf16, int units, char *text, size_t size) {
  size_t n = 0;
  for (int i = 0; i < units && n + 1u < size; i++) {
    uint16_t unit = get_u16le(utf16 + 2 * i);
    text[n++] = unit >= 0x20u && unit < 0x7Fu ? (char)unit : '?';
  }
  text[n] = '\0';
}

/* Walks `length` bytes received for the set: the 10-byte set header (type 0, wTotalLength
 * equal to what was received), then features by wLength and wDescriptorType until exactly
 * wTotalLength. A registry property must add up (wLength = 10 + wPropertyNameLength +
 * wPropertyDataLength), its name must be one NUL-terminated UTF-16LE string and, for
 * REG_MULTI_SZ (7), its data NUL-terminated strings followed by one more NUL. False, with
 * `error`, on the first thing a strict reader would refuse. */
static inline bool msos20_read_set(const uint8_t *set, int length, msos20_set_t *out) {
  memset(out, 0, sizeof *out);
  if (length < 10) return msos20_fail(out, "shorter than the 10-byte set header", 0);
  if (get_u16le(set) != 10u || get_u16le(set + 2) != 0x0000u) {
    return msos20_fail(out, "set header: wLength must be 10 and wDescriptorType MS_OS_20_SET_HEADER_DESCRIPTOR (0)", 0);
  }
  out->total_length = get_u16le(set + 8);
  if (out->total_length != length) return msos20_fail(out, "set header: wTotalLength differs from the bytes sent", 8);
  int at = 10;
  while (at < length) {
    if (at + 4 > length) return msos20_fail(out, "a descriptor header runs past wTotalLength", at);
    uint16_t w_length = get_u16le(set + at);
    uint16_t type = get_u16le(set + at + 2);
    if (w_length < 4u || at + w_length > length) {
      return msos20_fail(out, "a descriptor's wLength is below 4 or runs past wTotalLength", at);
    }
    const uint8_t *d = set + at;
    if (type == 0x0001u || type == 0x0002u) {
      out->subset_headers++;
    } else if (type == 0x0003u) {
      if (w_length != 20u) return msos20_fail(out, "CompatibleID: wLength must be 20", at);
      out->compatible_ids++;
      for (int i = 0; i < 16; i++) out->compatible_id[i] = d[4 + i] == 0 ? '.' : (char)d[4 + i];
      out->compatible_id[16] = '\0';
    } else if (type == 0x0004u) {
      if (w_length < 10u) return msos20_fail(out, "registry property: wLength below 10", at);
      out->properties++;
      out->property_type = get_u16le(d + 4);
      uint16_t name_length = get_u16le(d + 6);
      if (out->property_type < 1u || out->property_type > 7u) {
        return msos20_fail(out, "registry property: wPropertyDataType is not 1-7", at + 4);
      }
      if (name_length < 4u || name_length % 2u != 0u || 8 + name_length + 2 > w_length) {
        return msos20_fail(out, "registry property: wPropertyNameLength odd, empty or past wLength", at + 6);
      }
      uint16_t data_length = get_u16le(d + 8 + name_length);
      if (10u + name_length + data_length != w_length) {
        return msos20_fail(out, "registry property: wLength is not 10 + wPropertyNameLength + wPropertyDataLength",
                           at);
      }
      const uint8_t *name = d + 8;
      int name_units = name_length / 2;
      if (get_u16le(name + name_length - 2) != 0u) return msos20_fail(out, "registry property: name not NUL-terminated", at + 8);
      for (int i = 0; i < name_units - 1; i++) {
        if (get_u16le(name + 2 * i) == 0u) return msos20_fail(out, "registry property: NUL inside the name", at + 8);
      }
      msos20_ascii(name, name_units - 1, out->property_name, sizeof out->property_name);
      const uint8_t *data = d + 10 + name_length;
      if (out->property_type == 7u) {
        int units = data_length / 2;
        if (data_length % 2u != 0u || units < 2 || get_u16le(data + 2 * (units - 1)) != 0u ||
            get_u16le(data + 2 * (units - 2)) != 0u) {
          return msos20_fail(out, "REG_MULTI_SZ: data must be UTF-16LE strings, each NUL-terminated, then one more NUL",
                             at + 10 + name_length);
        }
        /* Strings up to the list's final NUL; an empty string would end the list early. */
        for (int start = 0, i = 0; i < units - 1; i++) {
          if (get_u16le(data + 2 * i) != 0u) continue;
          if (i == start) return msos20_fail(out, "REG_MULTI_SZ: an empty string ends the list early", at + 10 + 2 * i);
          if (out->strings < 2) msos20_ascii(data + 2 * start, i - start, out->string[out->strings], sizeof out->string[0]);
          out->strings++;
          start = i + 1;
        }
      }
    } else if (type == 0x0000u || type > 0x0008u) {
      return msos20_fail(out, "unknown wDescriptorType", at + 2);
    }
    at += w_length;
  }
  return true;
}

/* True for "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" with hex digits x: the registry form
 * SetupAPI and WinUSB read from DeviceInterfaceGUIDs. */
static inline bool is_braced_guid(const char *text) {
  static const char shape[] = "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}";
  if (strlen(text) != sizeof shape - 1u) return false;
  for (size_t i = 0; shape[i] != '\0'; i++) {
    if (shape[i] == 'x' ? hex_value(text[i]) < 0 : text[i] != shape[i]) return false;
  }
  return true;
}

#endif /* STM32DFU_APP_TESTS_USB_CHECK_H */
