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
 * capability) and §4 (descriptor set, CompatibleID). Multi-byte fields are little-endian;
 * the capability UUIDs are GUIDs in their wire order (first three fields byte-swapped).
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

/* MS OS 2.0 §4: set header (10 bytes) + CompatibleID feature (20 bytes). */
#define USB_MSOS20_SET_HEADER_LENGTH 10u
#define USB_MSOS20_COMPATIBLE_ID_LENGTH 20u
#define USB_MSOS20_SET_LENGTH (USB_MSOS20_SET_HEADER_LENGTH + USB_MSOS20_COMPATIBLE_ID_LENGTH)
#define USB_MSOS20_SET_HEADER_DESCRIPTOR 0x0000u
#define USB_MSOS20_FEATURE_COMPATIBLE_ID 0x0003u

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

/* The set for a non-composite device: a CompatibleID at device scope, with no configuration
 * or function subset (MS OS 2.0 §4: subsets are for composite devices). Windows then binds
 * WinUSB to the whole device, and WebUSB and libusb reach it through the generic USB device
 * interface, so no DeviceInterfaceGUID is needed. */
#define USB_MSOS20_SET_BYTES                                                                  \
  {                                                                                           \
    /* set header: wLength, wDescriptorType, dwWindowsVersion, wTotalLength */                \
    USB_BOS_LE16(USB_MSOS20_SET_HEADER_LENGTH), USB_BOS_LE16(USB_MSOS20_SET_HEADER_DESCRIPTOR), \
    USB_BOS_LE32(USB_MSOS20_WINDOWS_VERSION), USB_BOS_LE16(USB_MSOS20_SET_LENGTH),            \
    /* CompatibleID: wLength, wDescriptorType, CompatibleID[8], SubCompatibleID[8] */         \
    USB_BOS_LE16(USB_MSOS20_COMPATIBLE_ID_LENGTH), USB_BOS_LE16(USB_MSOS20_FEATURE_COMPATIBLE_ID), \
    'W', 'I', 'N', 'U', 'S', 'B', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0                                \
  }

#endif /* STM32DFU_USB_BOS_H */
