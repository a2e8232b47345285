/*
 * usb_device.c — the EP0 control layer: standard requests, descriptors built from the
 * profile (USB 2.0 ch. 9, DFU 1.1 §4.2, WebUSB §4, Microsoft OS 2.0 descriptors), and
 * dispatch of class requests to the DFU state machine.
 */
#include "bl_internal.h"
#include "usb_bos.h"

enum {
  USB_REQ_GET_STATUS = 0,
  USB_REQ_CLEAR_FEATURE = 1,
  USB_REQ_SET_FEATURE = 3,
  USB_REQ_SET_ADDRESS = 5,
  USB_REQ_GET_DESCRIPTOR = 6,
  USB_REQ_GET_CONFIGURATION = 8,
  USB_REQ_SET_CONFIGURATION = 9,
  USB_REQ_GET_INTERFACE = 10,
  USB_REQ_SET_INTERFACE = 11,
};
enum {
  USB_DESC_DEVICE = 1,
  USB_DESC_CONFIGURATION = 2,
  USB_DESC_STRING = 3,
  USB_DESC_INTERFACE = 4,
  DFU_DESC_FUNCTIONAL = 0x21,
};
enum { STR_LANGID = 0, STR_MANUFACTURER = 1, STR_PRODUCT = 2, STR_SERIAL = 3, STR_FIRST_ALT = 4 };

#define EP0_MAX_PACKET 64u
#define REPLY_SIZE 256u
/* bLength is one byte and UTF-16 text is whole code units: 254 bytes at most. */
#define STRING_DESCRIPTOR_MAX 254u

static struct {
  const bl_profile_t *profile;
  usb_setup_t setup;
  bool out_for_dfu;      /* the armed OUT data stage belongs to a DFU request */
  uint8_t configuration; /* 0 = address state, 1 = configured */
  uint8_t alt;
  uint8_t reply[REPLY_SIZE];
} usb;

/* One definition for the bootloader and the example application (usb_bos.h). */
static const uint8_t bos_descriptor[] = USB_BOS_DESCRIPTOR_BYTES;
_Static_assert(sizeof bos_descriptor == USB_BOS_TOTAL_LENGTH, "BOS wTotalLength");
static const uint8_t ms_os_20_set[] = USB_MSOS20_SET_BYTES;
_Static_assert(sizeof ms_os_20_set == USB_MSOS20_SET_LENGTH, "MS OS 2.0 set wTotalLength");

void usb_send(const uint8_t *data, uint16_t length) {
  hal_usb_ep0_send(data, length < usb.setup.wLength ? length : usb.setup.wLength);
}

uint8_t usb_alt_setting(void) { return usb.alt; }

static uint16_t build_device_descriptor(uint8_t *d) {
  const bl_profile_t *p = usb.profile;
  d[0] = 18;
  d[1] = USB_DESC_DEVICE;
  bl_put_u16le(d + 2, p->webusb ? USB_BOS_BCD_USB : 0x0200u); /* 2.01 announces the BOS */
  d[4] = 0; /* class per interface */
  d[5] = 0;
  d[6] = 0;
  d[7] = EP0_MAX_PACKET;
  bl_put_u16le(d + 8, p->vendor_id);
  bl_put_u16le(d + 10, p->product_id);
  bl_put_u16le(d + 12, p->bcd_device);
  d[14] = STR_MANUFACTURER;
  d[15] = STR_PRODUCT;
  d[16] = STR_SERIAL;
  d[17] = 1;
  return 18;
}

static uint16_t build_configuration_descriptor(uint8_t *d) {
  const bl_profile_t *p = usb.profile;
  uint16_t n = 9;
  for (uint8_t alt = 0; alt < p->alt_count; alt++, n += 9) {
    uint8_t *i = d + n;
    i[0] = 9;
    i[1] = USB_DESC_INTERFACE;
    i[2] = 0;
    i[3] = alt;
    i[4] = 0; /* DFU uses EP0 only */
    i[5] = 0xFE;
    i[6] = 0x01;
    i[7] = 0x02; /* DFU mode protocol (DFU 1.1 §4.2.3) */
    i[8] = (uint8_t)(STR_FIRST_ALT + alt);
  }
  /* DFU functional descriptor (DFU 1.1 §4.1.3); 0x011A marks DfuSe. */
  uint8_t *f = d + n;
  f[0] = 9;
  f[1] = DFU_DESC_FUNCTIONAL;
  /* bitCanDnload, bitCanUpload unless locked, bitManifestationTolerant, bitWillDetach. */
  f[2] = (uint8_t)(0x01u | (p->lock_upload ? 0u : 0x02u) | 0x08u | (p->manifestation_tolerant ? 0x04u : 0u));
  bl_put_u16le(f + 3, 255); /* wDetachTimeOut, ms */
  bl_put_u16le(f + 5, p->transfer_size);
  bl_put_u16le(f + 7, 0x011A);
  n += 9;
  d[0] = 9;
  d[1] = USB_DESC_CONFIGURATION;
  bl_put_u16le(d + 2, n);
  d[4] = 1; /* interfaces */
  d[5] = 1; /* bConfigurationValue */
  d[6] = 0;
  d[7] = 0x80; /* bus powered */
  d[8] = 50;   /* 100 mA */
  return n;
}

/* ASCII to a UTF-16LE string descriptor; 0 when the index names no string. */
static uint16_t build_string_descriptor(uint8_t index, uint8_t *d) {
  static const char hex_digits[] = "0123456789ABCDEF";
  const bl_profile_t *p = usb.profile;
  uint16_t n = 2;
  if (index == STR_LANGID) {
    bl_put_u16le(d + 2, 0x0409); /* English (US) */
    n = 4;
  } else if (index == STR_SERIAL) {
    /* The 96-bit unique id in address order, two uppercase hex digits per byte. */
    uint8_t uid[12];
    hal_unique_id(uid);
    for (uint8_t i = 0; i < 12u; i++, n += 4) {
      bl_put_u16le(d + n, (uint8_t)hex_digits[uid[i] >> 4]);
      bl_put_u16le(d + n + 2, (uint8_t)hex_digits[uid[i] & 0x0Fu]);
    }
  } else {
    const char *text = NULL;
    if (index == STR_MANUFACTURER) text = p->manufacturer;
    else if (index == STR_PRODUCT) text = p->product;
    else if (index - STR_FIRST_ALT < p->alt_count) text = p->alt_names[index - STR_FIRST_ALT];
    if (text == NULL) return 0;
    for (; *text != '\0' && n + 2u <= STRING_DESCRIPTOR_MAX; text++, n += 2) bl_put_u16le(d + n, (uint8_t)*text);
  }
  d[0] = (uint8_t)n;
  d[1] = USB_DESC_STRING;
  return n;
}

static void get_descriptor(void) {
  const uint8_t type = (uint8_t)(usb.setup.wValue >> 8);
  const uint8_t index = (uint8_t)usb.setup.wValue;
  uint16_t length = 0;
  if (type == USB_DESC_DEVICE) {
    length = build_device_descriptor(usb.reply);
  } else if (type == USB_DESC_CONFIGURATION && index == 0u) {
    length = build_configuration_descriptor(usb.reply);
  } else if (type == USB_DESC_STRING) {
    length = build_string_descriptor(index, usb.reply);
  } else if (type == USB_DESC_TYPE_BOS && usb.profile->webusb) {
    usb_send(bos_descriptor, sizeof bos_descriptor);
    return;
  }
  /* DEVICE_QUALIFIER and others: a full-speed-only device answers with a request error
   * (USB 2.0 §9.6.2). */
  if (length == 0u) {
    hal_usb_ep0_stall();
    return;
  }
  usb_send(usb.reply, length);
}

static void standard_request(void) {
  const usb_setup_t *s = &usb.setup;
  const uint8_t recipient = s->bmRequestType & 0x1Fu;
  const bool device_in = s->bmRequestType == 0x80u;
  const bool device_out = s->bmRequestType == 0x00u;
  /* EP0 is the only endpoint: its address is 0x00 or 0x80, and wIndex's high byte is 0. */
  const bool ep0 = (s->wIndex & ~0x80u) == 0u;
  usb.reply[0] = 0;
  usb.reply[1] = 0;
  switch (s->bRequest) {
    case USB_REQ_GET_DESCRIPTOR:
      if (device_in) {
        get_descriptor();
        return;
      }
      break;
    case USB_REQ_SET_ADDRESS:
      if (device_out && s->wValue <= 127u && s->wIndex == 0u && s->wLength == 0u) {
        hal_usb_set_address((uint8_t)s->wValue);
        hal_usb_ep0_ack();
        return;
      }
      break;
    case USB_REQ_GET_CONFIGURATION:
      if (device_in) {
        usb.reply[0] = usb.configuration;
        usb_send(usb.reply, 1);
        return;
      }
      break;
    case USB_REQ_SET_CONFIGURATION:
      if (device_out && s->wValue <= 1u) {
        usb.configuration = (uint8_t)s->wValue;
        usb.alt = 0;
        hal_usb_ep0_ack();
        return;
      }
      break;
    case USB_REQ_GET_STATUS:
      /* Device: bus powered, no remote wakeup; interface 0 and EP0: all zero. The interface
       * exists only once configured (USB 2.0 §9.4.5, Address state). */
      if ((s->bmRequestType & 0x80u) != 0u &&
          (recipient == 0u || (recipient == 1u && s->wIndex == 0u && usb.configuration != 0u) ||
           (recipient == 2u && ep0))) {
        usb_send(usb.reply, 2);
        return;
      }
      break;
    case USB_REQ_CLEAR_FEATURE:
    case USB_REQ_SET_FEATURE:
      /* ENDPOINT_HALT on EP0 is accepted as a no-op; nothing else is supported. */
      if (s->bmRequestType == 0x02u && s->wValue == 0u && ep0) {
        hal_usb_ep0_ack();
        return;
      }
      break;
    case USB_REQ_GET_INTERFACE:
      if (s->bmRequestType == 0x81u && s->wIndex == 0u && usb.configuration != 0u) {
        usb.reply[0] = usb.alt;
        usb_send(usb.reply, 1);
        return;
      }
      break;
    case USB_REQ_SET_INTERFACE:
      if (s->bmRequestType == 0x01u && s->wIndex == 0u && s->wValue < usb.profile->alt_count &&
          usb.configuration != 0u) {
        usb.alt = (uint8_t)s->wValue;
        hal_usb_ep0_ack();
        return;
      }
      break;
    default:
      break;
  }
  hal_usb_ep0_stall();
}

static void vendor_request(void) {
  const usb_setup_t *s = &usb.setup;
  if (usb.profile->webusb && s->bmRequestType == 0xC0u && s->bRequest == USB_BOS_MSOS20_VENDOR_CODE &&
      s->wIndex == USB_MSOS20_DESCRIPTOR_INDEX) {
    usb_send(ms_os_20_set, sizeof ms_os_20_set);
    return;
  }
  if (usb.profile->protect_bootloader && s->bmRequestType == 0xC1u && s->bRequest == USB_REQ_GET_SECURITY &&
      s->wValue == 0u && s->wIndex == 0u && s->wLength >= SECURITY_RECORD_LENGTH) {
    static uint8_t record[SECURITY_RECORD_LENGTH]; /* static: the port sends after we return */
    dfu_security_record(record);
    usb_send(record, sizeof record);
    return;
  }
  /* WebUSB GET_URL is not served: the BOS announces no landing page. */
  hal_usb_ep0_stall();
}

void bl_init(const bl_profile_t *profile) {
  bl_memset(&usb, 0, sizeof usb);
  usb.profile = profile;
  flash_init(profile);
  dfu_init(profile);
  hal_led(HAL_LED_IDLE);
  hal_usb_connect(true);
}

void usbd_bus_reset(void) {
  usb.configuration = 0;
  usb.alt = 0;
  usb.out_for_dfu = false;
  hal_usb_set_address(0);
  dfu_bus_reset();
}

void usbd_setup(const uint8_t setup[8]) {
  usb_setup_t *s = &usb.setup;
  s->bmRequestType = setup[0];
  s->bRequest = setup[1];
  s->wValue = (uint16_t)(setup[2] | (setup[3] << 8));
  s->wIndex = (uint16_t)(setup[4] | (setup[5] << 8));
  s->wLength = (uint16_t)(setup[6] | (setup[7] << 8));
  usb.out_for_dfu = false;
  dfu_note_activity();

  switch ((s->bmRequestType >> 5) & 3u) {
    case 0:
      standard_request();
      break;
    case 1:
      /* Class requests to interface 0 only; DFU needs the device configured. */
      if ((s->bmRequestType & 0x1Fu) == 1u && s->wIndex == 0u && usb.configuration != 0u) {
        usb.out_for_dfu = (s->bmRequestType & 0x80u) == 0u && s->wLength > 0u;
        dfu_request(s);
      } else {
        hal_usb_ep0_stall();
      }
      break;
    case 2:
      vendor_request();
      break;
    default:
      hal_usb_ep0_stall();
      break;
  }
}

void usbd_ep0_out_complete(uint16_t length) {
  if (!usb.out_for_dfu) {
    hal_usb_ep0_stall();
    return;
  }
  usb.out_for_dfu = false;
  dfu_out_complete(length);
}

void usbd_ep0_transfer_complete(void) { dfu_transfer_complete(); }
