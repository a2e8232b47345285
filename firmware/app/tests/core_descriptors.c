/*
 * core_descriptors.c — prints what the bootloader core (src/core, on the simulated HAL)
 * answers to the requests a host makes while enumerating, one line per answer:
 * "<name> <hex bytes>" or "<name> stall". test_usb_runtime compares the application's
 * answers with these, so the two devices cannot drift apart unnoticed.
 */
#include <stdio.h>
#include <string.h>

#include "bootloader.h"
#include "sim.h"
#include "usb_check.h"

static uint8_t reply[4096];

static bool dump(const char *name, uint8_t request_type, uint8_t request, uint16_t value,
                 uint16_t index, uint16_t *length) {
  bool sent = sim_control_in(request_type, request, value, index, 0xFFFFu, reply, length);
  printf("%s", name);
  if (!sent) {
    printf(" stall\n");
    return false;
  }
  printf(" ");
  for (uint16_t i = 0; i < *length; i++) printf("%02x", reply[i]);
  printf("\n");
  return true;
}

int main(void) {
  static const uint8_t uid[12] = TEST_UNIQUE_ID_BYTES;
  uint16_t length = 0;
  sim_reset();
  memcpy(sim.uid, uid, sizeof uid);
  bl_init(&bl_profile_stm32dfu);

  dump("device", 0x80, 6, 0x0100, 0, &length);
  dump("configuration", 0x80, 6, 0x0200, 0, &length);
  dump("serial", 0x80, 6, 0x0303, 0x0409, &length);
  int vendor_code = -1;
  if (dump("bos", 0x80, 6, 0x0F00, 0, &length)) {
    /* bMS_VendorCode sits at +26 in the MS OS 2.0 platform capability (MS OS 2.0 §3). */
    int at = bos_find_platform_capability(reply, length, MS_OS_20_PLATFORM_UUID_TEXT);
    if (at >= 0) vendor_code = reply[at + 26];
  }
  if (vendor_code < 0) {
    fprintf(stderr, "core_descriptors: the bootloader's BOS has no MS OS 2.0 capability\n");
    return 1;
  }
  dump("msos20", 0xC0, (uint8_t)vendor_code, 0, 7, &length);
  if (sim_ep0_violations != 0u) {
    fprintf(stderr, "core_descriptors: %u EP0 protocol violations\n", (unsigned)sim_ep0_violations);
    return 1;
  }
  return 0;
}
