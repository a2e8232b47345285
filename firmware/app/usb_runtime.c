/*
 * usb_runtime.c — the example application's USB device: one configuration with the DFU
 * runtime interface (class 0xFE, subclass 0x01, protocol 0x01; DFU 1.1 §4.1) and its
 * functional descriptor with WillDetach, so DFU_DETACH alone sends the board to the
 * bootloader. Like the bootloader it announces bcdUSB 2.01 with a BOS (WebUSB and
 * Microsoft OS 2.0 platform capabilities) and serves the MS OS 2.0 descriptor set, both
 * from the bootloader core's own definition (src/core/usb_bos.h),
 * so Windows binds WinUSB without an INF and Chromium or dfu-util can send DETACH.
 * It implements the usbd_* events the port's OTG_FS driver reports (the same ones the
 * bootloader core implements) on top of hal_usb_*; it reaches hardware only through hal.h,
 * so the host tests in tests/ build it as it is.
 */
#include <stddef.h>

#include "app.h"
#include "bootloader.h"
#include "hal.h"
#include "stm32dfu_layout.h"
#include "usb_bos.h"

/* USB 2.0 §9.4 standard requests and DFU 1.1 §3 class requests used here. */
#define REQ_GET_STATUS 0x00u
#define REQ_SET_ADDRESS 0x05u
#define REQ_GET_DESCRIPTOR 0x06u
#define REQ_GET_CONFIGURATION 0x08u
#define REQ_SET_CONFIGURATION 0x09u
#define REQ_GET_INTERFACE 0x0Au
#define REQ_SET_INTERFACE 0x0Bu
#define DFU_DETACH 0x00u
#define DFU_GETSTATUS 0x03u
#define DFU_GETSTATE 0x05u
#define DFU_STATE_APP_IDLE 0u
#define DFU_STATE_APP_DETACH 1u

#define DESC_DEVICE 1u
#define DESC_CONFIGURATION 2u
#define DESC_STRING 3u
#define DESC_BOS USB_DESC_TYPE_BOS
#define STRING_INTERFACE 4u

#define LE16(v) (uint8_t)((v) & 0xFFu), (uint8_t)(((v) >> 8) & 0xFFu)

/* DFU 1.1 §4.1.3 functional descriptor attributes: CanDnload | CanUpload | WillDetach
 * (the virtual board's application model announces the same). */
#define DFU_ATTRIBUTES 0x0Bu
#define DFU_DETACH_TIMEOUT_MS 1000u
#define DFU_TRANSFER_SIZE 2048u

static const uint8_t device_descriptor[18] = {
    18, DESC_DEVICE, LE16(USB_BOS_BCD_USB), 0x00, 0x00, 0x00, 64,
    LE16(STM32DFU_USB_VID), LE16(STM32DFU_USB_PID), LE16(STM32DFU_USB_BCD_DEVICE_APP),
    1, 2, 3, 1,
};

static const uint8_t configuration_descriptor[27] = {
    /* configuration: 1 interface, bus powered, 100 mA */
    9, DESC_CONFIGURATION, LE16(27u), 1, 1, 0, 0x80, 50,
    /* interface 0: DFU runtime */
    9, 4, 0, 0, 0, 0xFE, 0x01, 0x01, STRING_INTERFACE,
    /* DFU functional descriptor (type 0x21), DFU 1.1 */
    9, 0x21, DFU_ATTRIBUTES, LE16(DFU_DETACH_TIMEOUT_MS), LE16(DFU_TRANSFER_SIZE), LE16(0x0110u),
};

static const uint8_t bos_descriptor[] = USB_BOS_DESCRIPTOR_BYTES;
_Static_assert(sizeof bos_descriptor == USB_BOS_TOTAL_LENGTH, "BOS wTotalLength");

/* The CompatibleID covers the whole device, not a function subset for interface 0: with a
 * single interface the device is not composite (no USBCCGP), and subsets are only meant for
 * composite devices (MS OS 2.0 §4). An application that adds a second interface (a CDC
 * console, say) becomes composite and must then wrap the CompatibleID in a configuration
 * subset and a function subset whose bFirstInterface is the DFU runtime interface. */
static const uint8_t ms_os_20_set[] = USB_MSOS20_SET_BYTES;
_Static_assert(sizeof ms_os_20_set == USB_MSOS20_SET_LENGTH, "MS OS 2.0 set wTotalLength");

static struct {
  uint8_t reply[2u + 2u * 32u]; /* the longest string descriptor, UTF-16LE */
  uint8_t configuration;
  bool detach_pending;
} usb;

static uint16_t string_descriptor(uint8_t index) {
  char serial[25];
  const char *text = NULL;
  if (index == 0u) {
    usb.reply[0] = 4u;
    usb.reply[1] = DESC_STRING;
    usb.reply[2] = 0x09u; /* LANGID 0x0409, English (US) */
    usb.reply[3] = 0x04u;
    return 4u;
  }
  if (index == 1u) {
    text = STM32DFU_USB_MANUFACTURER;
  } else if (index == 2u) {
    text = STM32DFU_USB_PRODUCT_APP;
  } else if (index == 3u) {
    /* The same serial as the bootloader (UID bytes in address order, uppercase hex), so
     * a host that was granted this board finds it again in DFU mode. */
    uint8_t uid[12];
    hal_unique_id(uid);
    for (uint32_t i = 0; i < 12u; i++) {
      serial[2u * i] = "0123456789ABCDEF"[uid[i] >> 4];
      serial[2u * i + 1u] = "0123456789ABCDEF"[uid[i] & 0xFu];
    }
    serial[24] = '\0';
    text = serial;
  } else if (index == STRING_INTERFACE) {
    text = "stm32dfu runtime DFU";
  } else {
    return 0u;
  }
  uint16_t length = 2u;
  for (; *text != '\0' && length + 2u <= sizeof usb.reply; text++) {
    usb.reply[length++] = (uint8_t)*text;
    usb.reply[length++] = 0u;
  }
  usb.reply[0] = (uint8_t)length;
  usb.reply[1] = DESC_STRING;
  return length;
}

static void send_clipped(const uint8_t *data, uint16_t length, uint16_t requested) {
  hal_usb_ep0_send(data, length < requested ? length : requested);
}

static void standard_request(const uint8_t setup[8], uint16_t value, uint16_t length) {
  uint8_t request = setup[1];
  if (request == REQ_GET_DESCRIPTOR && setup[0] == 0x80u) {
    uint8_t type = (uint8_t)(value >> 8);
    if (type == DESC_DEVICE) {
      send_clipped(device_descriptor, sizeof device_descriptor, length);
    } else if (type == DESC_CONFIGURATION) {
      send_clipped(configuration_descriptor, sizeof configuration_descriptor, length);
    } else if (type == DESC_STRING && string_descriptor((uint8_t)value) != 0u) {
      send_clipped(usb.reply, usb.reply[0], length);
    } else if (type == DESC_BOS) {
      send_clipped(bos_descriptor, sizeof bos_descriptor, length);
    } else {
      hal_usb_ep0_stall(); /* device qualifier and others: full-speed only (USB 2.0 §9.6.2) */
    }
  } else if (request == REQ_SET_ADDRESS && setup[0] == 0x00u) {
    hal_usb_set_address((uint8_t)(value & 0x7Fu));
    hal_usb_ep0_ack();
  } else if (request == REQ_SET_CONFIGURATION && setup[0] == 0x00u && value <= 1u) {
    usb.configuration = (uint8_t)value;
    hal_usb_ep0_ack();
  } else if (request == REQ_GET_CONFIGURATION && setup[0] == 0x80u) {
    usb.reply[0] = usb.configuration;
    send_clipped(usb.reply, 1u, length);
  } else if (request == REQ_GET_STATUS && (setup[0] & 0x80u) != 0u) {
    usb.reply[0] = 0u;
    usb.reply[1] = 0u;
    send_clipped(usb.reply, 2u, length);
  } else if (request == REQ_SET_INTERFACE && setup[0] == 0x01u && value == 0u && setup[4] == 0u) {
    hal_usb_ep0_ack();
  } else if (request == REQ_GET_INTERFACE && setup[0] == 0x81u && setup[4] == 0u) {
    usb.reply[0] = 0u;
    send_clipped(usb.reply, 1u, length);
  } else {
    hal_usb_ep0_stall();
  }
}

static void dfu_request(const uint8_t setup[8], uint16_t length) {
  uint8_t state = usb.detach_pending ? DFU_STATE_APP_DETACH : DFU_STATE_APP_IDLE;
  if (setup[4] != 0u) {
    hal_usb_ep0_stall();
  } else if (setup[0] == 0x21u && setup[1] == DFU_DETACH) {
    /* DFU 1.1 §5.1: ack now, detach once the status stage is over (WillDetach). */
    usb.detach_pending = true;
    hal_usb_ep0_ack();
  } else if (setup[0] == 0xA1u && setup[1] == DFU_GETSTATUS) {
    /* bStatus OK, bwPollTimeout 0, bState, iString 0 (DFU 1.1 §6.1.2). */
    for (uint32_t i = 0; i < 6u; i++) {
      usb.reply[i] = 0u;
    }
    usb.reply[4] = state;
    send_clipped(usb.reply, 6u, length);
  } else if (setup[0] == 0xA1u && setup[1] == DFU_GETSTATE) {
    usb.reply[0] = state;
    send_clipped(usb.reply, 1u, length);
  } else {
    hal_usb_ep0_stall();
  }
}

/* Vendor requests: only the MS OS 2.0 descriptor set. WebUSB GET_URL stalls, as the BOS
 * names no landing page. */
static void vendor_request(const uint8_t setup[8], uint16_t length) {
  uint16_t index = (uint16_t)(setup[4] | (setup[5] << 8));
  if (setup[0] == 0xC0u && setup[1] == USB_BOS_MSOS20_VENDOR_CODE && index == USB_MSOS20_DESCRIPTOR_INDEX) {
    send_clipped(ms_os_20_set, sizeof ms_os_20_set, length);
  } else {
    hal_usb_ep0_stall();
  }
}

void usbd_bus_reset(void) {
  usb.configuration = 0u;
}

void usbd_setup(const uint8_t setup[8]) {
  uint16_t value = (uint16_t)(setup[2] | (setup[3] << 8));
  uint16_t length = (uint16_t)(setup[6] | (setup[7] << 8));
  uint8_t type = (setup[0] >> 5) & 0x3u;
  if (type == 0u) {
    standard_request(setup, value, length);
  } else if (type == 1u && (setup[0] & 0x1Fu) == 1u) {
    dfu_request(setup, length);
  } else if (type == 2u) {
    vendor_request(setup, length);
  } else {
    hal_usb_ep0_stall();
  }
}

void usbd_ep0_out_complete(uint16_t length) {
  (void)length; /* no request here has an OUT data stage */
  hal_usb_ep0_stall();
}

static volatile bool detach_now;

void usbd_ep0_transfer_complete(void) {
  if (usb.detach_pending) {
    detach_now = true;
  }
}

void app_usb_init(void) {
  usb.configuration = 0u;
  usb.detach_pending = false;
  detach_now = false;
}

bool app_usb_detach_requested(void) {
  return detach_now;
}
