/*
 * usb_bos.h — the BOS descriptor and Microsoft OS 2.0 descriptor set that make a device
 * open driverless from Chromium's WebUSB and from libusb on Windows (WinUSB bound without
 * an INF). Header-only byte initializers, the one definition that the bootloader core
 * (usb_device.c) and the example application (app/usb_runtime.c) both serve:
 *
 *   static const uint8_t bos[] = USB_BOS_DESCRIPTOR_BYTES;
 *   static const uint8_t ms_os_20_set[] = USB_MSOS20_SET_BYTES;
 *
 * Served as: GET_DESCRIPTOR(BOS) → bos (device must announce bcdUSB >= 0x0201); vendor
 * request bmRequestType 0xC0, bRequest USB_BOS_MSOS20_VENDOR_CODE, wIndex
 * USB_MSOS20_DESCRIPTOR_INDEX → ms_os_20_set. No WebUSB landing page is announced, so
 * WebUSB GET_URL (bRequest USB_BOS_WEBUSB_VENDOR_CODE) stalls.
 *
 * Sources: USB 3.2 §9.6.2 (BOS, device capability, platform capability type 0x05), WebUSB
 * §4.1 (platform capability), Microsoft OS 2.0 Descriptors Specification §3 (platform
 * capability) and §4 (descriptor set, CompatibleID, registry property). Multi-byte fields
 * are little-endian; the capability UUIDs are GUIDs in their wire order (first three fields
 * byte-swapped); registry property names and data are UTF-16LE.
 */
#ifndef STM32DFU_USB_BOS_H
#define STM32DFU_USB_BOS_H

#include <stdint.h>

#define USB_BOS_LE16(v) (uint8_t)((v) & 0xFFu), (uint8_t)(((v) >> 8) & 0xFFu)
#define USB_BOS_LE32(v) USB_BOS_LE16((v) & 0xFFFFu), USB_BOS_LE16(((v) >> 16) & 0xFFFFu)

#define USB_DESC_TYPE_BOS 0x0Fu
#define USB_DESC_TYPE_DEVICE_CAPABILITY 0x10u
#define USB_CAPABILITY_TYPE_PLATFORM 0x05u

/* bcdUSB 2.01 is what tells Windows and Chromium to ask for the BOS. */
#define USB_BOS_BCD_USB 0x0201u

/* Vendor request codes; any value works as long as the BOS and the device agree. */
#define USB_BOS_WEBUSB_VENDOR_CODE 0x01u
#define USB_BOS_MSOS20_VENDOR_CODE 0x02u
/* MS OS 2.0 §4: the descriptor set is fetched with wIndex 7 (MS_OS_20_DESCRIPTOR_INDEX). */
#define USB_MSOS20_DESCRIPTOR_INDEX 0x07u
/* NTDDI_WINBLUE: Windows 8.1, the first release that reads MS OS 2.0 descriptors. */
#define USB_MSOS20_WINDOWS_VERSION 0x06030000u

#define USB_BOS_HEADER_LENGTH 5u
#define USB_BOS_WEBUSB_CAPABILITY_LENGTH 24u
#define USB_BOS_MSOS20_CAPABILITY_LENGTH 28u
#define USB_BOS_TOTAL_LENGTH \
  (USB_BOS_HEADER_LENGTH + USB_BOS_WEBUSB_CAPABILITY_LENGTH + USB_BOS_MSOS20_CAPABILITY_LENGTH)

/* MS OS 2.0 §4: set header (10 bytes) + CompatibleID feature (20 bytes) + registry property
 * feature (10 bytes of fields + name + data). */
#define USB_MSOS20_SET_HEADER_LENGTH 10u
#define USB_MSOS20_COMPATIBLE_ID_LENGTH 20u
#define USB_MSOS20_SET_HEADER_DESCRIPTOR 0x0000u
#define USB_MSOS20_FEATURE_COMPATIBLE_ID 0x0003u
#define USB_MSOS20_FEATURE_REG_PROPERTY 0x0004u
/* MS OS 2.0 §4, wPropertyDataType: several NUL-terminated strings, the list ended by one more
 * NUL. */
#define USB_MSOS20_PROPERTY_REG_MULTI_SZ 0x0007u

/* One UTF-16LE code unit of an ASCII character. */
#define USB_MSOS20_U16(c) (uint8_t)(c), 0u

/* "DeviceInterfaceGUIDs" and its NUL: 21 code units. */
#define USB_MSOS20_INTERFACE_GUIDS_NAME                                                       \
  USB_MSOS20_U16('D'), USB_MSOS20_U16('e'), USB_MSOS20_U16('v'), USB_MSOS20_U16('i'),         \
  USB_MSOS20_U16('c'), USB_MSOS20_U16('e'), USB_MSOS20_U16('I'), USB_MSOS20_U16('n'),         \
  USB_MSOS20_U16('t'), USB_MSOS20_U16('e'), USB_MSOS20_U16('r'), USB_MSOS20_U16('f'),         \
  USB_MSOS20_U16('a'), USB_MSOS20_U16('c'), USB_MSOS20_U16('e'), USB_MSOS20_U16('G'),         \
  USB_MSOS20_U16('U'), USB_MSOS20_U16('I'), USB_MSOS20_U16('D'), USB_MSOS20_U16('s'),         \
  USB_MSOS20_U16('\0')
#define USB_MSOS20_INTERFACE_GUIDS_NAME_LENGTH 42u

/* The device interface GUID {11F45152-A452-48B0-8922-5A0BBE622A30}, ours for the bootloader
 * and the example application alike (docs/decisions.md, "A fixed DeviceInterfaceGUID"), as a
 * REG_MULTI_SZ of one string: 38 characters, its NUL, the list's NUL. */
#define USB_MSOS20_INTERFACE_GUIDS_DATA                                                       \
  USB_MSOS20_U16('{'), USB_MSOS20_U16('1'), USB_MSOS20_U16('1'), USB_MSOS20_U16('F'),         \
  USB_MSOS20_U16('4'), USB_MSOS20_U16('5'), USB_MSOS20_U16('1'), USB_MSOS20_U16('5'),         \
  USB_MSOS20_U16('2'), USB_MSOS20_U16('-'), USB_MSOS20_U16('A'), USB_MSOS20_U16('4'),         \
  USB_MSOS20_U16('5'), USB_MSOS20_U16('2'), USB_MSOS20_U16('-'), USB_MSOS20_U16('4'),         \
  USB_MSOS20_U16('8'), USB_MSOS20_U16('B'), USB_MSOS20_U16('0'), USB_MSOS20_U16('-'),         \
  USB_MSOS20_U16('8'), USB_MSOS20_U16('9'), USB_MSOS20_U16('2'), USB_MSOS20_U16('2'),         \
  USB_MSOS20_U16('-'), USB_MSOS20_U16('5'), USB_MSOS20_U16('A'), USB_MSOS20_U16('0'),         \
  USB_MSOS20_U16('B'), USB_MSOS20_U16('B'), USB_MSOS20_U16('E'), USB_MSOS20_U16('6'),         \
  USB_MSOS20_U16('2'), USB_MSOS20_U16('2'), USB_MSOS20_U16('A'), USB_MSOS20_U16('3'),         \
  USB_MSOS20_U16('0'), USB_MSOS20_U16('}'), USB_MSOS20_U16('\0'), USB_MSOS20_U16('\0')
#define USB_MSOS20_INTERFACE_GUIDS_DATA_LENGTH 80u

/* wLength, wDescriptorType, wPropertyDataType, wPropertyNameLength, name, wPropertyDataLength,
 * data. */
#define USB_MSOS20_REG_PROPERTY_LENGTH \
  (10u + USB_MSOS20_INTERFACE_GUIDS_NAME_LENGTH + USB_MSOS20_INTERFACE_GUIDS_DATA_LENGTH)
#define USB_MSOS20_SET_LENGTH \
  (USB_MSOS20_SET_HEADER_LENGTH + USB_MSOS20_COMPATIBLE_ID_LENGTH + USB_MSOS20_REG_PROPERTY_LENGTH)

/* WebUSB platform capability UUID {3408B638-09A9-47A0-8BFD-A0768815B665}, wire order. */
#define USB_BOS_WEBUSB_UUID_BYTES \
  0x38, 0xB6, 0x08, 0x34, 0xA9, 0x09, 0xA0, 0x47, 0x8B, 0xFD, 0xA0, 0x76, 0x88, 0x15, 0xB6, 0x65
/* MS OS 2.0 platform capability UUID {D8DD60DF-4589-4CC7-9CD2-659D9E648A9F}, wire order. */
#define USB_BOS_MSOS20_UUID_BYTES \
  0xDF, 0x60, 0xDD, 0xD8, 0x89, 0x45, 0xC7, 0x4C, 0x9C, 0xD2, 0x65, 0x9D, 0x9E, 0x64, 0x8A, 0x9F

#define USB_BOS_DESCRIPTOR_BYTES                                                              \
  {                                                                                           \
    /* BOS header: bLength, bDescriptorType, wTotalLength, bNumDeviceCaps */                  \
    USB_BOS_HEADER_LENGTH, USB_DESC_TYPE_BOS, USB_BOS_LE16(USB_BOS_TOTAL_LENGTH), 2,          \
    /* WebUSB: bReserved, UUID, bcdVersion 1.00, bVendorCode, iLandingPage (none) */          \
    USB_BOS_WEBUSB_CAPABILITY_LENGTH, USB_DESC_TYPE_DEVICE_CAPABILITY,                        \
    USB_CAPABILITY_TYPE_PLATFORM, 0, USB_BOS_WEBUSB_UUID_BYTES, USB_BOS_LE16(0x0100u),        \
    USB_BOS_WEBUSB_VENDOR_CODE, 0,                                                            \
    /* MS OS 2.0: bReserved, UUID, dwWindowsVersion, wMSOSDescriptorSetTotalLength,           \
     * bMS_VendorCode, bAltEnumCode (no alternate enumeration) */                             \
    USB_BOS_MSOS20_CAPABILITY_LENGTH, USB_DESC_TYPE_DEVICE_CAPABILITY,                        \
    USB_CAPABILITY_TYPE_PLATFORM, 0, USB_BOS_MSOS20_UUID_BYTES,                               \
    USB_BOS_LE32(USB_MSOS20_WINDOWS_VERSION), USB_BOS_LE16(USB_MSOS20_SET_LENGTH),            \
    USB_BOS_MSOS20_VENDOR_CODE, 0                                                             \
  }

/* CompatibleID: wLength, wDescriptorType, CompatibleID[8], SubCompatibleID[8] */
#define USB_MSOS20_COMPATIBLE_ID_FEATURE                                                      \
  USB_BOS_LE16(USB_MSOS20_COMPATIBLE_ID_LENGTH), USB_BOS_LE16(USB_MSOS20_FEATURE_COMPATIBLE_ID), \
  'W', 'I', 'N', 'U', 'S', 'B', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0

/* Registry property: wLength, wDescriptorType, wPropertyDataType, wPropertyNameLength,
 * PropertyName, wPropertyDataLength, PropertyData */
#define USB_MSOS20_REG_PROPERTY_FEATURE                                                       \
  USB_BOS_LE16(USB_MSOS20_REG_PROPERTY_LENGTH), USB_BOS_LE16(USB_MSOS20_FEATURE_REG_PROPERTY), \
  USB_BOS_LE16(USB_MSOS20_PROPERTY_REG_MULTI_SZ),                                             \
  USB_BOS_LE16(USB_MSOS20_INTERFACE_GUIDS_NAME_LENGTH), USB_MSOS20_INTERFACE_GUIDS_NAME,      \
  USB_BOS_LE16(USB_MSOS20_INTERFACE_GUIDS_DATA_LENGTH), USB_MSOS20_INTERFACE_GUIDS_DATA

/* The set for a non-composite device: features at device scope, with no configuration or
 * function subset (MS OS 2.0 §4: subsets are for composite devices). The CompatibleID makes
 * Windows bind WinUSB to the whole device; WebUSB and libusb then reach it through the
 * generic USB device interface. The registry property writes DeviceInterfaceGUIDs to the
 * device's hardware key, from which WinUSB registers a device interface of that GUID: what
 * SetupAPI programs (SetupDiGetClassDevs with the GUID, as Microsoft's WinUSB samples do) and
 * libusbK's tools look for. */
#define USB_MSOS20_SET_BYTES                                                                  \
  {                                                                                           \
    /* set header: wLength, wDescriptorType, dwWindowsVersion, wTotalLength */                \
    USB_BOS_LE16(USB_MSOS20_SET_HEADER_LENGTH), USB_BOS_LE16(USB_MSOS20_SET_HEADER_DESCRIPTOR), \
    USB_BOS_LE32(USB_MSOS20_WINDOWS_VERSION), USB_BOS_LE16(USB_MSOS20_SET_LENGTH),            \
    USB_MSOS20_COMPATIBLE_ID_FEATURE, USB_MSOS20_REG_PROPERTY_FEATURE                         \
  }

/* Every length field against the bytes it counts: the property's name and data, each
 * feature's wLength, the set (whose length the set header's wTotalLength and the BOS
 * capability's wMSOSDescriptorSetTotalLength both announce), the BOS. */
_Static_assert(sizeof((const uint8_t[]){USB_MSOS20_INTERFACE_GUIDS_NAME}) ==
                   USB_MSOS20_INTERFACE_GUIDS_NAME_LENGTH,
               "wPropertyNameLength: \"DeviceInterfaceGUIDs\" and its NUL in UTF-16LE");
_Static_assert(sizeof((const uint8_t[]){USB_MSOS20_INTERFACE_GUIDS_DATA}) ==
                   USB_MSOS20_INTERFACE_GUIDS_DATA_LENGTH,
               "wPropertyDataLength: one 38-character GUID string, its NUL and the list's NUL");
_Static_assert(sizeof((const uint8_t[]){USB_MSOS20_COMPATIBLE_ID_FEATURE}) == USB_MSOS20_COMPATIBLE_ID_LENGTH,
               "CompatibleID wLength");
_Static_assert(sizeof((const uint8_t[]){USB_MSOS20_REG_PROPERTY_FEATURE}) == USB_MSOS20_REG_PROPERTY_LENGTH,
               "registry property wLength");
_Static_assert(sizeof((const uint8_t[])USB_MSOS20_SET_BYTES) == USB_MSOS20_SET_LENGTH,
               "MS OS 2.0 set wTotalLength and wMSOSDescriptorSetTotalLength");
_Static_assert(sizeof((const uint8_t[])USB_BOS_DESCRIPTOR_BYTES) == USB_BOS_TOTAL_LENGTH,
               "BOS wTotalLength");

#endif /* STM32DFU_USB_BOS_H */
