/*
 * test_usb_runtime.c — the example application's USB device (app/usb_runtime.c, built for
 * the host as it is) asked what Windows, Chromium and dfu-util ask: device descriptor,
 * configuration with the DFU runtime interface, BOS with the WebUSB and MS OS 2.0 platform
 * capabilities, the MS OS 2.0 descriptor set, the serial, and DETACH. Prints one
 * "PASS name" / "FAIL name" line per test and "N passed, N failed".
 *
 *   test_usb_runtime <core-descriptors.txt>   (what core_descriptors printed)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "bootloader.h"
#include "hal.h"
#include "recording_hal.h"
#include "stm32dfu_layout.h"
#include "usb_check.h"

/* ---- Control transfers as a host does them ---- */

static unsigned protocol_violations;

static void setup(uint8_t request_type, uint8_t request, uint16_t value, uint16_t index, uint16_t length) {
  const uint8_t packet[8] = {request_type,         request,      (uint8_t)value,
                             (uint8_t)(value >> 8), (uint8_t)index, (uint8_t)(index >> 8),
                             (uint8_t)length,       (uint8_t)(length >> 8)};
  memset(&ep0, 0, sizeof ep0);
  usbd_setup(packet);
  if (ep0.answers != 1u) protocol_violations++;
}

/* IN transfer: the bytes sent, or -1 on a stall. A device that sends more than wLength
 * breaks the transfer (USB 2.0 §9.3.5), so that counts as a violation too. */
static int control_in(uint8_t request_type, uint8_t request, uint16_t value, uint16_t index,
                      uint16_t length, uint8_t *out) {
  setup(request_type, request, value, index, length);
  if (ep0.answer != ANSWER_SEND) return -1;
  if (ep0.sent_length > length) protocol_violations++;
  memcpy(out, ep0.sent, ep0.sent_length);
  usbd_ep0_transfer_complete();
  return ep0.sent_length;
}

/* No-data OUT transfer: true when acked (status stage then completes). */
static bool control_out(uint8_t request_type, uint8_t request, uint16_t value, uint16_t index) {
  setup(request_type, request, value, index, 0);
  if (ep0.answer != ANSWER_ACK) return false;
  usbd_ep0_transfer_complete();
  return true;
}

static int get_descriptor(uint8_t type, uint8_t index, uint16_t language, uint16_t length, uint8_t *out) {
  return control_in(0x80, 6, (uint16_t)(type << 8 | index), language, length, out);
}

/* ---- Reporting ---- */

static unsigned passed, failed;
static char problems[2048];
static size_t problems_length;

static void problem(const char *format, ...) {
  va_list args;
  va_start(args, format);
  if (problems_length < sizeof problems - 1u) {
    problems_length += (size_t)vsnprintf(problems + problems_length, sizeof problems - problems_length, format, args);
    if (problems_length < sizeof problems - 1u) problems[problems_length++] = '\n';
    problems[problems_length] = '\0';
  }
  va_end(args);
}

#define EXPECT(condition, ...)      \
  do {                              \
    if (!(condition)) problem(__VA_ARGS__); \
  } while (0)

static void run(const char *name, void (*test)(void)) {
  problems_length = 0;
  problems[0] = '\0';
  protocol_violations = 0;
  app_usb_init();
  usbd_bus_reset();
  test();
  EXPECT(protocol_violations == 0u, "%u SETUPs not answered by exactly one send/ack/stall/receive, or sent more than wLength",
         protocol_violations);
  if (problems_length == 0u) {
    printf("PASS %s\n", name);
    passed++;
  } else {
    printf("FAIL %s\n", name);
    for (char *line = strtok(problems, "\n"); line != NULL; line = strtok(NULL, "\n")) printf("  %s\n", line);
    failed++;
  }
}

static void hex(char *out, size_t size, const uint8_t *data, int length) {
  size_t n = 0;
  for (int i = 0; i < length && n + 3u <= size; i++) n += (size_t)snprintf(out + n, size - n, "%02x", data[i]);
  if (n < size) out[n] = '\0';
}

/* ---- The bootloader's answers, as core_descriptors printed them ---- */

#define CORE_ITEMS 8
static struct {
  char name[32];
  uint8_t bytes[512];
  int length; /* -1: stalled */
} core[CORE_ITEMS];
static const char *core_file;

static bool load_core(const char *path) {
  FILE *file = fopen(path, "r");
  if (file == NULL) return false;
  char line[2048];
  for (unsigned n = 0; n < CORE_ITEMS && fgets(line, sizeof line, file) != NULL; n++) {
    char *space = strchr(line, ' ');
    if (space == NULL || (size_t)(space - line) >= sizeof core[n].name) break;
    memcpy(core[n].name, line, (size_t)(space - line));
    core[n].length = 0;
    if (strncmp(space + 1, "stall", 5) == 0) {
      core[n].length = -1;
      continue;
    }
    for (const char *c = space + 1; hex_value(c[0]) >= 0 && hex_value(c[1]) >= 0; c += 2) {
      if (core[n].length == (int)sizeof core[n].bytes) break;
      core[n].bytes[core[n].length++] = (uint8_t)(hex_value(c[0]) << 4 | hex_value(c[1]));
    }
  }
  fclose(file);
  return true;
}

/* The bootloader's answer to `name`; NULL (and a problem) when it has none. */
static const uint8_t *core_answer(const char *name, int *length) {
  for (unsigned n = 0; n < CORE_ITEMS; n++) {
    if (strcmp(core[n].name, name) == 0 && core[n].length >= 0) {
      *length = core[n].length;
      return core[n].bytes;
    }
  }
  problem("%s has no bootloader answer for \"%s\": run core_descriptors first (app/tests/run.sh does)", core_file, name);
  return NULL;
}

/* ---- Tests ---- */

static uint8_t buffer[1024];

static void device_descriptor_announces_usb_2_01_and_the_boards_identity(void) {
  int n = get_descriptor(1, 0, 0, 0xFFFF, buffer);
  EXPECT(n == 18, "GET_DESCRIPTOR(DEVICE) returned %d bytes, expected 18", n);
  if (n != 18) return;
  EXPECT(buffer[0] == 18 && buffer[1] == 1, "bLength/bDescriptorType %u/%u, expected 18/1", buffer[0], buffer[1]);
  EXPECT(get_u16le(buffer + 2) == 0x0201u, "bcdUSB 0x%04x: Windows and Chromium read the BOS only from 0x0201",
         get_u16le(buffer + 2));
  EXPECT(buffer[4] == 0 && buffer[5] == 0 && buffer[6] == 0, "device class %02x/%02x/%02x, expected per interface",
         buffer[4], buffer[5], buffer[6]);
  EXPECT(buffer[7] == 64, "bMaxPacketSize0 %u, expected 64", buffer[7]);
  EXPECT(get_u16le(buffer + 8) == STM32DFU_USB_VID && get_u16le(buffer + 10) == STM32DFU_USB_PID,
         "VID:PID %04x:%04x, expected the layout's %04x:%04x", get_u16le(buffer + 8), get_u16le(buffer + 10),
         STM32DFU_USB_VID, STM32DFU_USB_PID);
  EXPECT(get_u16le(buffer + 12) == STM32DFU_USB_BCD_DEVICE_APP, "bcdDevice 0x%04x, expected the application's 0x%04x",
         get_u16le(buffer + 12), STM32DFU_USB_BCD_DEVICE_APP);
  EXPECT(buffer[14] == 1 && buffer[15] == 2 && buffer[16] == 3 && buffer[17] == 1,
         "iManufacturer/iProduct/iSerialNumber/bNumConfigurations %u/%u/%u/%u, expected 1/2/3/1", buffer[14],
         buffer[15], buffer[16], buffer[17]);
  n = get_descriptor(1, 0, 0, 8, buffer);
  EXPECT(n == 8, "GET_DESCRIPTOR(DEVICE, wLength 8) returned %d bytes, expected 8", n);
}

static void device_descriptor_matches_the_bootloaders_but_for_bcd_device(void) {
  int core_length = 0;
  const uint8_t *bootloader = core_answer("device", &core_length);
  int n = get_descriptor(1, 0, 0, 0xFFFF, buffer);
  if (bootloader == NULL || n != 18 || core_length != 18) {
    EXPECT(bootloader == NULL, "device descriptors of %d (app) and %d (bootloader) bytes", n, core_length);
    return;
  }
  for (int i = 0; i < 18; i++) {
    if (i == 12 || i == 13) continue; /* bcdDevice tells the application from the bootloader */
    EXPECT(buffer[i] == bootloader[i], "device descriptor byte %d: application 0x%02x, bootloader 0x%02x", i,
           buffer[i], bootloader[i]);
  }
  EXPECT(get_u16le(bootloader + 12) == STM32DFU_USB_BCD_DEVICE_BOOTLOADER &&
             get_u16le(buffer + 12) != get_u16le(bootloader + 12),
         "bcdDevice application 0x%04x, bootloader 0x%04x: they must differ", get_u16le(buffer + 12),
         get_u16le(bootloader + 12));
}

static void configuration_has_the_dfu_runtime_interface_and_functional_descriptor(void) {
  int n = get_descriptor(2, 0, 0, 0xFFFF, buffer);
  EXPECT(n >= 9, "GET_DESCRIPTOR(CONFIGURATION) returned %d bytes", n);
  if (n < 9) return;
  EXPECT(get_u16le(buffer + 2) == n, "wTotalLength %u but %d bytes sent", get_u16le(buffer + 2), n);
  EXPECT(buffer[4] == 1, "bNumInterfaces %u, expected 1", buffer[4]);
  int interfaces = 0, functional = -1;
  for (int at = 0; at < n; at += buffer[at]) {
    if (buffer[at] < 2 || at + buffer[at] > n) {
      problem("descriptor at offset %d has bLength %u and runs past wTotalLength %d", at, buffer[at], n);
      return;
    }
    if (buffer[at + 1] == 4) {
      interfaces++;
      EXPECT(buffer[at + 4] == 0, "interface %u has %u endpoints; DFU uses EP0 only", buffer[at + 2], buffer[at + 4]);
      EXPECT(buffer[at + 5] == 0xFE && buffer[at + 6] == 0x01 && buffer[at + 7] == 0x01,
             "interface class %02x/%02x/%02x, expected FE/01/01 (DFU runtime, DFU 1.1 §4.1.2)", buffer[at + 5],
             buffer[at + 6], buffer[at + 7]);
    } else if (buffer[at + 1] == 0x21) {
      functional = at;
    }
  }
  EXPECT(interfaces == 1, "%d interface descriptors, expected 1", interfaces);
  EXPECT(functional >= 0, "no DFU functional descriptor (type 0x21)");
  if (functional < 0) return;
  const uint8_t *f = buffer + functional;
  EXPECT(f[0] == 9, "functional descriptor bLength %u, expected 9 (DFU 1.1 §4.1.3)", f[0]);
  EXPECT(f[2] == 0x0B, "bmAttributes 0x%02x, expected CanDnload|CanUpload|WillDetach (0x0B)", f[2]);
  EXPECT(get_u16le(f + 3) == 1000u, "wDetachTimeOut %u, expected 1000", get_u16le(f + 3));
  EXPECT(get_u16le(f + 7) == 0x0110u, "bcdDFUVersion 0x%04x, expected 0x0110 (the runtime speaks DFU 1.1)",
         get_u16le(f + 7));
  /* wTransferSize should be the one the bootloader will use, so a host sizing its buffers
   * from the runtime descriptor is not surprised after DETACH. */
  int core_length = 0;
  const uint8_t *bootloader = core_answer("configuration", &core_length);
  if (bootloader != NULL && core_length >= 9) {
    int at = core_length - 9;
    EXPECT(bootloader[at + 1] == 0x21 && get_u16le(f + 5) == get_u16le(bootloader + at + 5),
           "wTransferSize %u, the bootloader's %u", get_u16le(f + 5), get_u16le(bootloader + at + 5));
  }
}

static void bos_holds_the_webusb_and_ms_os_20_platform_capabilities(void) {
  int n = get_descriptor(15, 0, 0, 0xFFFF, buffer);
  EXPECT(n >= 5, "GET_DESCRIPTOR(BOS) returned %d bytes", n);
  if (n < 5) return;
  EXPECT(buffer[0] == 5 && buffer[1] == 15, "BOS header bLength/bDescriptorType %u/%u, expected 5/15", buffer[0],
         buffer[1]);
  EXPECT(get_u16le(buffer + 2) == 57u && n == 57, "BOS wTotalLength %u, %d bytes sent; expected 57 (5 + 24 + 28)",
         get_u16le(buffer + 2), n);
  EXPECT(buffer[4] == 2, "bNumDeviceCaps %u, expected 2", buffer[4]);
  int caps = 0, end = 5;
  for (; end + 2 <= n && buffer[end] >= 3; end += buffer[end]) {
    caps++;
    EXPECT(buffer[end + 1] == 0x10, "capability %d has bDescriptorType 0x%02x, expected 0x10", caps, buffer[end + 1]);
  }
  EXPECT(caps == buffer[4] && end == n, "walking the BOS found %d capabilities ending at %d of %d bytes", caps, end, n);

  int webusb = bos_find_platform_capability(buffer, (uint16_t)n, WEBUSB_PLATFORM_UUID_TEXT);
  EXPECT(webusb >= 0, "no WebUSB platform capability {" WEBUSB_PLATFORM_UUID_TEXT "}");
  if (webusb >= 0) {
    const uint8_t *c = buffer + webusb;
    EXPECT(c[0] == 24, "WebUSB capability bLength %u, expected 24 (WebUSB §4.1)", c[0]);
    EXPECT(get_u16le(c + 20) == 0x0100u, "WebUSB bcdVersion 0x%04x, expected 0x0100", get_u16le(c + 20));
    EXPECT(c[23] == 0, "iLandingPage %u, but GET_URL is not served", c[23]);
  }
  int ms = bos_find_platform_capability(buffer, (uint16_t)n, MS_OS_20_PLATFORM_UUID_TEXT);
  EXPECT(ms >= 0, "no MS OS 2.0 platform capability {" MS_OS_20_PLATFORM_UUID_TEXT "}");
  if (ms >= 0) {
    const uint8_t *c = buffer + ms;
    EXPECT(c[0] == 28, "MS OS 2.0 capability bLength %u, expected 28", c[0]);
    EXPECT(get_u32le(c + 20) >= 0x06030000u, "dwWindowsVersion 0x%08x, below Windows 8.1 (0x06030000)",
           get_u32le(c + 20));
    EXPECT(c[27] == 0, "bAltEnumCode %u, expected 0", c[27]);
    /* The set's length as announced here must be what the vendor request returns. */
    uint16_t announced = get_u16le(c + 24);
    uint8_t set[256];
    int got = control_in(0xC0, c[26], 0, 7, 0xFFFF, set);
    EXPECT(got == announced, "wMSOSDescriptorSetTotalLength %u, but the set request returned %d", announced, got);
  }
}

static void bos_with_a_short_wlength_sends_only_the_header(void) {
  /* Windows and libusb read the 5-byte header first, then wTotalLength. */
  int n = get_descriptor(15, 0, 0, 5, buffer);
  EXPECT(n == 5, "GET_DESCRIPTOR(BOS, wLength 5) returned %d bytes, expected 5", n);
  if (n == 5) EXPECT(buffer[1] == 15 && get_u16le(buffer + 2) == 57u, "header type %u wTotalLength %u", buffer[1],
                     get_u16le(buffer + 2));
  n = get_descriptor(15, 0, 0, 2, buffer);
  EXPECT(n == 2, "GET_DESCRIPTOR(BOS, wLength 2) returned %d bytes, expected 2", n);
  n = get_descriptor(15, 0, 0, 64, buffer);
  EXPECT(n == 57, "GET_DESCRIPTOR(BOS, wLength 64) returned %d bytes, expected all 57", n);
}

static int ms_os_20_vendor_code(void) {
  int n = get_descriptor(15, 0, 0, 0xFFFF, buffer);
  int ms = n > 0 ? bos_find_platform_capability(buffer, (uint16_t)n, MS_OS_20_PLATFORM_UUID_TEXT) : -1;
  EXPECT(ms >= 0, "the BOS announces no MS OS 2.0 capability");
  return ms >= 0 ? buffer[ms + 26] : -1;
}

static void ms_os_20_set_binds_winusb_to_the_device(void) {
  int code = ms_os_20_vendor_code();
  if (code < 0) return;
  int n = control_in(0xC0, (uint8_t)code, 0, 7, 0xFFFF, buffer);
  EXPECT(n >= 10, "MS OS 2.0 set request (bRequest 0x%02x, wIndex 7) returned %d bytes", code, n);
  if (n < 10) return;
  EXPECT(get_u16le(buffer) == 10 && get_u16le(buffer + 2) == 0x0000u,
         "set header wLength %u wDescriptorType %u, expected 10 and MS_OS_20_SET_HEADER_DESCRIPTOR (0)",
         get_u16le(buffer), get_u16le(buffer + 2));
  EXPECT(get_u32le(buffer + 4) >= 0x06030000u, "set dwWindowsVersion 0x%08x, below Windows 8.1",
         get_u32le(buffer + 4));
  EXPECT(get_u16le(buffer + 8) == n && n == 162, "set wTotalLength %u, %d bytes sent; expected 162 (10 + 20 + 132)",
         get_u16le(buffer + 8), n);
  int compatible_ids = 0, at = 10;
  for (; at + 4 <= n && get_u16le(buffer + at) >= 4u; at += get_u16le(buffer + at)) {
    uint16_t type = get_u16le(buffer + at + 2);
    EXPECT(type != 0x0001u && type != 0x0002u,
           "subset header (type %u) in the set: the device is not composite, the CompatibleID is device-wide", type);
    if (type == 0x0003u) {
      compatible_ids++;
      EXPECT(get_u16le(buffer + at) == 20, "CompatibleID wLength %u, expected 20", get_u16le(buffer + at));
      static const uint8_t winusb[16] = {'W', 'I', 'N', 'U', 'S', 'B'};
      char found[40];
      hex(found, sizeof found, buffer + at + 4, 16);
      EXPECT(memcmp(buffer + at + 4, winusb, 16) == 0,
             "CompatibleID + SubCompatibleID %s, expected \"WINUSB\" and zeros", found);
    }
  }
  EXPECT(at == n, "walking the set by wLength ended at %d of %d bytes", at, n);
  EXPECT(compatible_ids == 1, "%d CompatibleID features, expected 1", compatible_ids);

  n = control_in(0xC0, (uint8_t)code, 0, 7, 10, buffer);
  EXPECT(n == 10, "MS OS 2.0 set with wLength 10 returned %d bytes, expected the 10-byte header", n);
}

/* The set as Windows reads it: header, then features by wLength up to wTotalLength, the
 * registry property's lengths adding up, its name and its REG_MULTI_SZ data in UTF-16LE. */
static void expect_set_as_windows_reads_it(const char *who, const uint8_t *set, int n, uint16_t announced) {
  msos20_set_t found;
  if (!msos20_read_set(set, n, &found)) {
    problem("%s: the MS OS 2.0 set does not parse: %s", who, found.error);
    return;
  }
  EXPECT(found.total_length == announced,
         "%s: set wTotalLength %u, but the BOS announces wMSOSDescriptorSetTotalLength %u", who, found.total_length,
         announced);
  EXPECT(found.subset_headers == 0, "%s: %d subset headers; a non-composite device has none", who,
         found.subset_headers);
  EXPECT(found.compatible_ids == 1 && strcmp(found.compatible_id, "WINUSB..........") == 0,
         "%s: %d CompatibleID features, the first \"%s\"; expected one, WINUSB", who, found.compatible_ids,
         found.compatible_id);
  EXPECT(found.properties == 1, "%s: %d registry properties, expected 1 (DeviceInterfaceGUIDs)", who,
         found.properties);
  if (found.properties != 1) return;
  EXPECT(strcmp(found.property_name, "DeviceInterfaceGUIDs") == 0,
         "%s: property name \"%s\", expected \"DeviceInterfaceGUIDs\" (WinUSB reads this name, plural)", who,
         found.property_name);
  EXPECT(found.property_type == 7u, "%s: wPropertyDataType %u, expected REG_MULTI_SZ (7)", who, found.property_type);
  EXPECT(found.strings == 1, "%s: %d strings in the REG_MULTI_SZ, expected one GUID", who, found.strings);
  EXPECT(is_braced_guid(found.string[0]), "%s: GUID \"%s\" is not {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}", who,
         found.string[0]);
  EXPECT(strcmp(found.string[0], STM32DFU_DEVICE_INTERFACE_GUID_TEXT) == 0,
         "%s: GUID %s, expected " STM32DFU_DEVICE_INTERFACE_GUID_TEXT " (docs/decisions.md)", who, found.string[0]);
}

static void ms_os_20_set_read_as_windows_reads_it_gives_device_interface_guids(void) {
  int n = get_descriptor(15, 0, 0, 0xFFFF, buffer);
  int ms = n > 0 ? bos_find_platform_capability(buffer, (uint16_t)n, MS_OS_20_PLATFORM_UUID_TEXT) : -1;
  EXPECT(ms >= 0, "the BOS announces no MS OS 2.0 capability");
  if (ms < 0) return;
  uint16_t announced = get_u16le(buffer + ms + 24);
  uint8_t code = buffer[ms + 26];
  uint8_t set[512];
  n = control_in(0xC0, code, 0, 7, 0xFFFF, set);
  expect_set_as_windows_reads_it("application", set, n, announced);
  int core_length = 0;
  const uint8_t *bootloader = core_answer("msos20", &core_length);
  if (bootloader != NULL) expect_set_as_windows_reads_it("bootloader", bootloader, core_length, announced);
  /* Windows reads the set with wLength = wMSOSDescriptorSetTotalLength: all of it, no more. */
  n = control_in(0xC0, code, 0, 7, announced, set);
  EXPECT(n == announced, "MS OS 2.0 set with wLength %u returned %d bytes", announced, n);
}

static void other_vendor_requests_stall(void) {
  int code = ms_os_20_vendor_code();
  if (code < 0) return;
  EXPECT(control_in(0xC0, (uint8_t)code, 0, 6, 64, buffer) < 0, "MS OS 2.0 vendor code with wIndex 6 did not stall");
  EXPECT(control_in(0xC1, (uint8_t)code, 0, 7, 64, buffer) < 0, "MS OS 2.0 request to an interface did not stall");
  int n = get_descriptor(15, 0, 0, 0xFFFF, buffer);
  int webusb = n > 0 ? bos_find_platform_capability(buffer, (uint16_t)n, WEBUSB_PLATFORM_UUID_TEXT) : -1;
  if (webusb >= 0) {
    /* WebUSB §6.2 GET_URL (wIndex 2): no landing page, so a request error. */
    EXPECT(control_in(0xC0, buffer[webusb + 22], 1, 2, 255, buffer) < 0, "WebUSB GET_URL did not stall");
  }
  EXPECT(control_out(0x40, 0x55, 0, 0) == false, "a vendor OUT request was acked");
}

/* Both serve the initializers of src/core/usb_bos.h; this checks that both also serve them
 * whole and to the same requests (a device that clipped, reordered or gated them differs). */
static void app_and_bootloader_answer_the_same_bos_and_ms_os_20_set(void) {
  int bos_length = 0, set_length = 0;
  const uint8_t *bos = core_answer("bos", &bos_length);
  const uint8_t *set = core_answer("msos20", &set_length);
  if (bos == NULL || set == NULL) return;
  char app_hex[1024], core_hex[1024];
  int n = get_descriptor(15, 0, 0, 0xFFFF, buffer);
  hex(app_hex, sizeof app_hex, buffer, n);
  hex(core_hex, sizeof core_hex, bos, bos_length);
  EXPECT(n == bos_length && memcmp(buffer, bos, (size_t)n) == 0, "BOS differs:\n  app        %s\n  bootloader %s",
         app_hex, core_hex);
  int code = ms_os_20_vendor_code();
  n = code < 0 ? -1 : control_in(0xC0, (uint8_t)code, 0, 7, 0xFFFF, buffer);
  hex(app_hex, sizeof app_hex, buffer, n);
  hex(core_hex, sizeof core_hex, set, set_length);
  EXPECT(n == set_length && memcmp(buffer, set, (size_t)n) == 0,
         "MS OS 2.0 set differs:\n  app        %s\n  bootloader %s", app_hex, core_hex);
}

static void serial_is_the_uid_in_uppercase_hex_as_the_bootloader_says_it(void) {
  int n = get_descriptor(3, 3, 0x0409, 0xFFFF, buffer);
  EXPECT(n == 2 + 2 * 24, "serial string descriptor of %d bytes, expected 50 (24 UTF-16 characters)", n);
  if (n != 50) return;
  static const uint8_t uid[12] = TEST_UNIQUE_ID_BYTES;
  char expected[25], found[25];
  for (int i = 0; i < 12; i++) snprintf(expected + 2 * i, 3, "%02X", uid[i]);
  for (int i = 0; i < 24; i++) found[i] = buffer[2 + 2 * i + 1] == 0 ? (char)buffer[2 + 2 * i] : '?';
  found[24] = '\0';
  EXPECT(strcmp(found, expected) == 0, "serial \"%s\", expected \"%s\" (UID bytes in address order)", found, expected);
  int core_length = 0;
  const uint8_t *bootloader = core_answer("serial", &core_length);
  if (bootloader != NULL) {
    EXPECT(core_length == n && memcmp(bootloader, buffer, (size_t)n) == 0,
           "the bootloader's serial descriptor differs: WebUSB permissions would not carry over after DETACH");
  }
}

static void detach_waits_for_its_status_stage_then_asks_for_the_bootloader(void) {
  EXPECT(control_out(0x00, 9, 1, 0), "SET_CONFIGURATION 1 was not acked");
  int n = control_in(0xA1, 3, 0, 0, 6, buffer);
  EXPECT(n == 6 && buffer[0] == 0 && buffer[4] == 0, "GETSTATUS before DETACH: %d bytes, bStatus %u bState %u; expected appIDLE",
         n, n > 0 ? buffer[0] : 0, n > 4 ? buffer[4] : 0);
  setup(0x21, 0, 1000, 0, 0);
  EXPECT(ep0.answer == ANSWER_ACK, "DFU_DETACH was not acked");
  EXPECT(!app_usb_detach_requested(), "detach requested before DETACH's status stage completed");
  usbd_ep0_transfer_complete();
  EXPECT(app_usb_detach_requested(), "no detach after DETACH's status stage (WillDetach)");
  n = control_in(0xA1, 5, 0, 0, 1, buffer);
  EXPECT(n == 1 && buffer[0] == 1, "GETSTATE after DETACH: %d bytes, state %u; expected appDETACH (1)", n,
         n > 0 ? buffer[0] : 0);
  EXPECT(control_in(0xA1, 3, 0, 1, 6, buffer) < 0, "GETSTATUS to interface 1 did not stall");
  EXPECT(control_in(0x80, 6, 0x0600, 0, 10, buffer) < 0, "DEVICE_QUALIFIER did not stall (full-speed only)");
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_usb_runtime <core-descriptors.txt>\n");
    return 2;
  }
  core_file = argv[1];
  if (!load_core(core_file)) {
    printf("FAIL application USB tests: cannot read %s (the bootloader's answers from core_descriptors)\n", core_file);
    printf("0 passed, 1 failed\n");
    return 1;
  }
  run("app USB: device descriptor announces bcdUSB 0x0201, the layout's VID:PID and the app's bcdDevice",
      device_descriptor_announces_usb_2_01_and_the_boards_identity);
  run("app USB: device descriptor equals the bootloader's except bcdDevice",
      device_descriptor_matches_the_bootloaders_but_for_bcd_device);
  run("app USB: configuration holds the DFU runtime interface and its functional descriptor",
      configuration_has_the_dfu_runtime_interface_and_functional_descriptor);
  run("app USB: BOS holds the WebUSB and MS OS 2.0 platform capabilities (57 bytes)",
      bos_holds_the_webusb_and_ms_os_20_platform_capabilities);
  run("app USB: GET_DESCRIPTOR(BOS) with a short wLength sends only what was asked",
      bos_with_a_short_wlength_sends_only_the_header);
  run("app USB: MS OS 2.0 descriptor set gives the device CompatibleID WINUSB (162 bytes)",
      ms_os_20_set_binds_winusb_to_the_device);
  run("app USB: MS OS 2.0 set, read as Windows reads it, gives DeviceInterfaceGUIDs our GUID (app and bootloader)",
      ms_os_20_set_read_as_windows_reads_it_gives_device_interface_guids);
  run("app USB: other vendor requests (GET_URL, wrong wIndex, OUT) stall", other_vendor_requests_stall);
  run("app USB: app and bootloader answer the same BOS and MS OS 2.0 set (both serve src/core/usb_bos.h)",
      app_and_bootloader_answer_the_same_bos_and_ms_os_20_set);
  run("app USB: serial number is the UID in uppercase hex, the same as the bootloader's",
      serial_is_the_uid_in_uppercase_hex_as_the_bootloader_says_it);
  run("app USB: DFU_DETACH asks for the bootloader only after its status stage",
      detach_waits_for_its_status_stage_then_asks_for_the_bootloader);
  printf("%u passed, %u failed\n", passed, failed);
  return failed == 0u ? 0 : 1;
}
