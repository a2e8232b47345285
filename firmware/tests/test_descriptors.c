/* Descriptor contents and standard requests (USB 2.0 ch. 9, DFU 1.1 §4.2, WebUSB, MS OS 2.0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dfu_host.h"

static uint8_t buf[512];
static uint16_t got;

static bool get_descriptor(uint8_t type, uint8_t index, uint16_t length) {
  memset(buf, 0xEE, sizeof buf);
  return sim_control_in(0x80, 6, (uint16_t)(type << 8 | index), index == 0 ? 0 : 0x0409, length, buf, &got);
}

static uint16_t u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t u32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* The string descriptor's text as ASCII (all our strings are ASCII). */
static const char *string_text(uint8_t index) {
  static char text[128];
  assert_true(get_descriptor(3, index, 255));
  assert_int_equal(buf[0], got);
  assert_int_equal(buf[1], 3);
  size_t n = 0;
  for (uint16_t i = 2; i + 1 < got; i += 2) {
    assert_int_equal(buf[i + 1], 0);
    text[n++] = (char)buf[i];
  }
  text[n] = '\0';
  return text;
}

static void test_device_descriptor(void **state) {
  (void)state;
  host_attach(&bl_profile_stm32dfu, 0);
  assert_true(get_descriptor(1, 0, 18));
  assert_int_equal(got, 18);
  assert_int_equal(buf[0], 18);
  assert_int_equal(buf[1], 1);
  assert_int_equal(u16(buf + 2), 0x0201);
  assert_int_equal(buf[7], 64);
  assert_int_equal(u16(buf + 8), STM32DFU_USB_VID);
  assert_int_equal(u16(buf + 10), STM32DFU_USB_PID);
  assert_int_equal(u16(buf + 12), STM32DFU_USB_BCD_DEVICE_BOOTLOADER);
  assert_int_equal(buf[17], 1);
  /* A host first asks for 8 bytes (max packet size): the answer is clipped. */
  assert_true(get_descriptor(1, 0, 8));
  assert_int_equal(got, 8);
  assert_int_equal(sim_ep0_violations, 0);
}

static void test_configuration_descriptor(void **state) {
  (void)state;
  host_attach(&bl_profile_stm32dfu, 0);
  assert_true(get_descriptor(2, 0, 9));
  assert_int_equal(got, 9);
  const uint16_t total = u16(buf + 2);
  assert_int_equal(total, 9 + 9 + 9);
  assert_true(get_descriptor(2, 0, 255));
  assert_int_equal(got, total);
  assert_int_equal(buf[4], 1); /* one interface */
  const uint8_t *intf = buf + 9;
  assert_int_equal(intf[0], 9);
  assert_int_equal(intf[1], 4);
  assert_int_equal(intf[3], 0);    /* alt 0 */
  assert_int_equal(intf[4], 0);    /* no endpoints */
  assert_int_equal(intf[5], 0xFE);
  assert_int_equal(intf[6], 0x01);
  assert_int_equal(intf[7], 0x02); /* DFU mode */
  const uint8_t *func = buf + 18;
  assert_int_equal(func[0], 9);
  assert_int_equal(func[1], 0x21);
  assert_int_equal(func[2], 0x0F); /* CanDnload | CanUpload | ManifestationTolerant | WillDetach */
  assert_int_equal(u16(func + 5), 2048);
  assert_int_equal(u16(func + 7), 0x011A);
  /* iInterface names the DfuSe layout string. */
  assert_string_equal(string_text(intf[8]), STM32DFU_DFUSE_LAYOUT);
}

static void test_strings(void **state) {
  (void)state;
  host_attach(&bl_profile_stm32dfu, 0);
  assert_true(get_descriptor(3, 0, 255));
  assert_int_equal(got, 4);
  assert_int_equal(u16(buf + 2), 0x0409);
  assert_true(get_descriptor(1, 0, 18));
  const uint8_t i_manufacturer = buf[14], i_product = buf[15], i_serial = buf[16];
  assert_string_equal(string_text(i_manufacturer), STM32DFU_USB_MANUFACTURER);
  assert_string_equal(string_text(i_product), STM32DFU_USB_PRODUCT_BOOTLOADER);
  /* Serial: the 96-bit UID in hex, byte by byte in address order. */
  static const uint8_t uid[12] = {0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0, 0x01, 0x02, 0x03, 0x04};
  memcpy(sim.uid, uid, sizeof uid);
  assert_string_equal(string_text(i_serial), "123456789ABCDEF001020304");
  /* No string 9: stall. */
  assert_false(get_descriptor(3, 9, 255));
}

static void test_bos_and_ms_os_20(void **state) {
  (void)state;
  host_attach(&bl_profile_stm32dfu, 0);
  assert_true(get_descriptor(15, 0, 5));
  assert_int_equal(buf[1], 15);
  const uint16_t total = u16(buf + 2);
  assert_int_equal(buf[4], 2);
  assert_true(get_descriptor(15, 0, 255));
  assert_int_equal(got, total);
  /* The capabilities' lengths add up to wTotalLength; find both platform UUIDs. */
  static const uint8_t webusb_uuid[16] = {0x38, 0xB6, 0x08, 0x34, 0xA9, 0x09, 0xA0, 0x47, 0x8B, 0xFD, 0xA0, 0x76, 0x88, 0x15, 0xB6, 0x65};
  static const uint8_t msos_uuid[16] = {0xDF, 0x60, 0xDD, 0xD8, 0x89, 0x45, 0xC7, 0x4C, 0x9C, 0xD2, 0x65, 0x9D, 0x9E, 0x64, 0x8A, 0x9F};
  uint16_t offset = 5;
  int found = 0;
  uint8_t ms_vendor_code = 0;
  uint16_t ms_set_length = 0;
  while (offset < total) {
    const uint8_t *cap = buf + offset;
    assert_int_equal(cap[1], 16);
    assert_int_equal(cap[2], 5); /* platform */
    if (memcmp(cap + 4, webusb_uuid, 16) == 0) {
      assert_int_equal(cap[0], 24);
      assert_int_equal(u16(cap + 20), 0x0100);
      found |= 1;
    } else if (memcmp(cap + 4, msos_uuid, 16) == 0) {
      assert_int_equal(cap[0], 28);
      assert_true(u32(cap + 20) >= 0x06030000u);
      ms_set_length = u16(cap + 24);
      ms_vendor_code = cap[26];
      found |= 2;
    }
    offset = (uint16_t)(offset + cap[0]);
  }
  assert_int_equal(offset, total);
  assert_int_equal(found, 3);
  /* The MS OS 2.0 descriptor set: vendor request with wIndex 7. */
  assert_true(sim_control_in(0xC0, ms_vendor_code, 0, 7, ms_set_length, buf, &got));
  assert_int_equal(got, ms_set_length);
  assert_int_equal(u16(buf + 8), ms_set_length);
  assert_memory_equal(buf + 14, "WINUSB\0\0", 8);
  /* After the CompatibleID: the registry property DeviceInterfaceGUIDs, REG_MULTI_SZ, one
   * braced GUID in UTF-16LE ending in two NULs, its lengths adding up to the set's. */
  const uint8_t *property = buf + 10 + 20;
  assert_int_equal(u16(property + 2), 4);      /* MS_OS_20_FEATURE_REG_PROPERTY */
  assert_int_equal(u16(property + 4), 7);      /* REG_MULTI_SZ */
  const uint16_t name_length = u16(property + 6);
  assert_int_equal(name_length, 2 * 21);
  static const char name[] = "DeviceInterfaceGUIDs";
  for (unsigned i = 0; i < sizeof name; i++) {
    assert_int_equal(u16(property + 8 + 2 * i), (uint8_t)name[i]);
  }
  const uint16_t data_length = u16(property + 8 + name_length);
  assert_int_equal(data_length, 2 * (38 + 2));
  assert_int_equal(u16(property), 10 + name_length + data_length);
  assert_int_equal(10 + 20 + u16(property), ms_set_length);
  const uint8_t *data = property + 10 + name_length;
  assert_int_equal(u16(data), '{');
  assert_int_equal(u16(data + 2 * 37), '}');
  assert_int_equal(u16(data + 2 * 38), 0);
  assert_int_equal(u16(data + 2 * 39), 0);
  /* wIndex other than 7 is not a descriptor set. */
  assert_false(sim_control_in(0xC0, ms_vendor_code, 0, 4, ms_set_length, buf, &got));
  assert_int_equal(sim_ep0_violations, 0);
}

static void test_rom_profile_descriptors(void **state) {
  (void)state;
  host_attach(&bl_profile_st_rom, 0);
  assert_true(get_descriptor(1, 0, 18));
  assert_int_equal(u16(buf + 2), 0x0200);
  assert_int_equal(u16(buf + 8), 0x0483);
  assert_int_equal(u16(buf + 10), 0xDF11);
  assert_true(get_descriptor(2, 0, 255));
  assert_int_equal(u16(buf + 2), 9 + 4 * 9 + 9);
  assert_int_equal(buf[9 + 4 * 9 + 2], 0x0B); /* not manifestation-tolerant */
  assert_string_equal(string_text(buf[9 + 8]), STM32DFU_DFUSE_LAYOUT_ROM);
  assert_false(get_descriptor(15, 0, 255)); /* no BOS */
}

static void test_standard_requests(void **state) {
  (void)state;
  host_attach(&bl_profile_stm32dfu, 0);
  assert_int_equal(sim.address, 9);
  assert_true(sim_control_in(0x80, 8, 0, 0, 1, buf, &got)); /* GET_CONFIGURATION */
  assert_int_equal(buf[0], 1);
  assert_true(sim_control_in(0x80, 0, 0, 0, 2, buf, &got)); /* GET_STATUS device */
  assert_int_equal(got, 2);
  assert_true(sim_control_in(0x81, 0, 0, 0, 2, buf, &got)); /* interface */
  assert_true(sim_control_in(0x82, 0, 0, 0x80, 2, buf, &got)); /* EP0 IN */
  assert_false(sim_control_in(0x82, 0, 0, 0x81, 2, buf, &got)); /* no EP1 */
  assert_true(sim_control_in(0x81, 10, 0, 0, 1, buf, &got)); /* GET_INTERFACE */
  assert_int_equal(buf[0], 0);
  assert_false(sim_control_out(0x01, 11, 1, 0, NULL, 0)); /* only alt 0 */
  assert_false(sim_control_out(0x00, 9, 2, 0, NULL, 0));  /* no configuration 2 */
  assert_false(get_descriptor(6, 0, 10));                  /* device qualifier: full speed only */
  assert_false(sim_control_in(0xC0, 0x55, 0, 0, 8, buf, &got)); /* unknown vendor request */
  /* The ROM model has four alternate settings; SET_INTERFACE selects among them. */
  host_attach(&bl_profile_st_rom, 3);
  assert_true(sim_control_in(0x81, 10, 0, 0, 1, buf, &got));
  assert_int_equal(buf[0], 3);
  assert_int_equal(sim_ep0_violations, 0);
}

static void test_dfu_needs_configuration(void **state) {
  (void)state;
  sim_reset();
  bl_init(&bl_profile_stm32dfu);
  assert_true(sim.connected);
  usbd_bus_reset();
  assert_false(host_getstatus(NULL)); /* interface requests need the configured state */
  sim_control_out(0x00, 9, 1, 0, NULL, 0);
  assert_true(host_getstatus(NULL));
}

/* bLength is one byte: a long name is cut to the longest even length that fits it
 * (USB 2.0 §9.6.7), never wrapped to a descriptor that claims 0 bytes. */
static void test_long_string_fits_its_length_byte(void **state) {
  (void)state;
  static char long_name[201];
  for (int i = 0; i < 200; i++) long_name[i] = (char)('A' + i % 26);
  static const char *names[1] = {long_name};
  bl_profile_t profile = bl_profile_stm32dfu;
  profile.alt_names = names;
  profile.alt_count = 1;
  host_attach(&profile, 0);
  assert_true(get_descriptor(3, 4, 255));
  assert_int_equal(buf[0], got);
  assert_int_equal(got % 2, 0);
  assert_int_equal(got, 254);
  assert_int_equal(buf[1], 3);
  for (uint16_t i = 2; i < got; i += 2) {
    assert_int_equal(buf[i], (uint8_t)long_name[(i - 2) / 2]);
    assert_int_equal(buf[i + 1], 0);
  }
  assert_int_equal(sim_ep0_violations, 0);
}

/* USB 2.0 §9.4.5: in the Address state GET_STATUS to an interface is a request error; an
 * endpoint other than EP0 (whatever the high byte of wIndex says) does not exist. */
static void test_get_status_names_only_what_exists(void **state) {
  (void)state;
  sim_reset();
  bl_init(&bl_profile_stm32dfu);
  usbd_bus_reset();
  sim_control_out(0x00, 5, 9, 0, NULL, 0); /* SET_ADDRESS: Address state */
  assert_true(sim_control_in(0x80, 0, 0, 0, 2, buf, &got));     /* device */
  assert_true(sim_control_in(0x82, 0, 0, 0x00, 2, buf, &got));  /* EP0 */
  assert_false(sim_control_in(0x81, 0, 0, 0, 2, buf, &got));    /* no interface yet */
  sim_control_out(0x00, 9, 1, 0, NULL, 0);                       /* Configured */
  assert_true(sim_control_in(0x81, 0, 0, 0, 2, buf, &got));
  assert_int_equal(got, 2);
  assert_int_equal(u16(buf), 0);
  assert_false(sim_control_in(0x82, 0, 0, 0x0100, 2, buf, &got)); /* not an endpoint address */
  assert_false(sim_control_out(0x02, 1, 0, 0x0180, NULL, 0));     /* CLEAR_FEATURE likewise */
  assert_true(sim_control_out(0x02, 1, 0, 0x0080, NULL, 0));      /* EP0 halt: a no-op */
  assert_int_equal(sim_ep0_violations, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_device_descriptor),  cmocka_unit_test(test_configuration_descriptor),
      cmocka_unit_test(test_strings),            cmocka_unit_test(test_bos_and_ms_os_20),
      cmocka_unit_test(test_rom_profile_descriptors), cmocka_unit_test(test_standard_requests),
      cmocka_unit_test(test_dfu_needs_configuration),
      cmocka_unit_test(test_long_string_fits_its_length_byte),
      cmocka_unit_test(test_get_status_names_only_what_exists),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
