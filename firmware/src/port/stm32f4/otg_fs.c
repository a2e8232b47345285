/*
 * otg_fs.c — USB OTG_FS in device mode, control endpoint 0 only, polled from the main loop
 * (RM0383 §22, "OTG_FS programming model" §22.17; RM0090 §34 for the F405).
 *
 * The core above deals in whole control transfers (hal.h); this file splits IN data into
 * 64-byte packets, gathers OUT data packets into the caller's buffer, runs the status
 * stages, and reports bus reset, SETUP, OUT completion and transfer completion through the
 * usbd_* entry points of bootloader.h.
 */
#include "bootloader.h"
#include "port.h"
#include "stm32f4_regs.h"

#define EP0_PACKET 64u
/* FIFO RAM is 1.25 kB = 320 words (RM0383 §22.11). RX: 10 words for SETUPs and status
 * (5 × control endpoints + 8), 17 for one 64-byte packet plus status, with room for a few
 * back-to-back packets: 128 words. TX0: two 64-byte packets, 32 words. 160 words in all. */
#define FIFO_RX_WORDS 128u
#define FIFO_TX0_WORDS 32u
_Static_assert(FIFO_RX_WORDS + FIFO_TX0_WORDS <= 320u, "OTG_FS FIFO RAM is 1.25 kB");
_Static_assert(FIFO_TX0_WORDS >= 16u, "TX FIFO 0 holds at least one 64-byte packet");

/* Bounds for the core's own handshakes; each poll is a register read on the AHB. */
#define OTG_WAIT_POLLS 200000u
/* A change of GUSBCFG.FDMOD takes effect after 25 ms (RM0383 §22.16.4). */
#define OTG_FORCE_MODE_MS 25u
/* RX FIFO entries handled per poll before giving other work a turn. */
#define OTG_RX_ENTRIES_PER_POLL 16u

typedef enum {
  EP0_IDLE,       /* waiting for a SETUP, or for the core to answer one */
  EP0_DATA_IN,    /* sending hal_usb_ep0_send data */
  EP0_DATA_OUT,   /* receiving hal_usb_ep0_receive data */
  EP0_STATUS_IN,  /* zero-length IN from hal_usb_ep0_ack in flight */
  EP0_STATUS_OUT, /* waiting for the host's zero-length OUT after IN data */
} ep0_stage_t;

static struct {
  uint8_t setup[8];
  uint16_t setup_length; /* wLength of the current SETUP */
  ep0_stage_t stage;
  const uint8_t *in_data;
  uint16_t in_remaining;
  bool in_zero_length_packet;
  uint8_t *out_buffer;
  uint16_t out_length;
  uint16_t out_received;
  uint16_t out_last_packet;
  bool out_complete_pending;
  bool ready;
} otg;

static hal_status_t otg_wait(volatile uint32_t *reg, uint32_t mask, uint32_t expected) {
  for (uint32_t polls = 0; polls < OTG_WAIT_POLLS; polls++) {
    if ((*reg & mask) == expected) {
      return HAL_OK;
    }
  }
  return HAL_ERR_TIMEOUT;
}

static void otg_pin_af10(uint32_t pin) {
  gpio_regs_t *gpio = GPIO_PORT(0);
  gpio->MODER = (gpio->MODER & ~(3u << (2u * pin))) | (2u << (2u * pin));
  gpio->OSPEEDR |= 3u << (2u * pin);
  gpio->AFR[pin / 8u] = (gpio->AFR[pin / 8u] & ~(0xFu << (4u * (pin % 8u)))) | (10u << (4u * (pin % 8u)));
}

static hal_status_t otg_flush_fifos(void) {
  /* RM0383 §22.16.4 GRSTCTL: flush all TX FIFOs, then the RX FIFO, each self-clearing. */
  OTG_GLOBAL->GRSTCTL = OTG_GRSTCTL_TXFFLSH | OTG_GRSTCTL_TXFNUM_ALL;
  hal_status_t status = otg_wait(&OTG_GLOBAL->GRSTCTL, OTG_GRSTCTL_TXFFLSH, 0u);
  OTG_GLOBAL->GRSTCTL = OTG_GRSTCTL_RXFFLSH;
  if (otg_wait(&OTG_GLOBAL->GRSTCTL, OTG_GRSTCTL_RXFFLSH, 0u) != HAL_OK) {
    status = HAL_ERR_TIMEOUT;
  }
  return status;
}

hal_status_t otg_fs_init(void) {
  otg.ready = false;
  RCC->AHB1ENR |= RCC_AHB1ENR_GPIOAEN;
  RCC->AHB2ENR |= RCC_AHB2_OTGFS;
  (void)RCC->AHB2ENR;
  otg_pin_af10(11u); /* DM */
  otg_pin_af10(12u); /* DP */

  /* Core soft reset (RM0383 §22.16.4 GRSTCTL): wait for AHB idle, CSRST, wait for clear. */
  if (otg_wait(&OTG_GLOBAL->GRSTCTL, OTG_GRSTCTL_AHBIDL, OTG_GRSTCTL_AHBIDL) != HAL_OK) {
    return HAL_ERR_TIMEOUT;
  }
  OTG_GLOBAL->GRSTCTL = OTG_GRSTCTL_CSRST;
  if (otg_wait(&OTG_GLOBAL->GRSTCTL, OTG_GRSTCTL_CSRST, 0u) != HAL_OK ||
      otg_wait(&OTG_GLOBAL->GRSTCTL, OTG_GRSTCTL_AHBIDL, OTG_GRSTCTL_AHBIDL) != HAL_OK) {
    return HAL_ERR_TIMEOUT;
  }

  /* Core initialisation (§22.17.1): polled, so the global interrupt stays masked; device
   * mode forced; TRDT = 6 for an AHB clock of 32 MHz or more (Table 130). */
  OTG_GLOBAL->GAHBCFG = 0u;
  OTG_GLOBAL->GUSBCFG = OTG_GUSBCFG_FDMOD | OTG_GUSBCFG_TRDT(6u) | OTG_GUSBCFG_PHYSEL;
  OTG_PCGCCTL = 0u;
  uint32_t start = hal_millis();
  for (uint32_t polls = 0; hal_millis() - start < OTG_FORCE_MODE_MS && polls < 40u * OTG_WAIT_POLLS; polls++) {
  }

  /* Device initialisation (§22.17.3): full speed, disconnected until hal_usb_connect. */
  OTG_DEVICE->DCFG = OTG_DCFG_DSPD_FULL;
  OTG_DEVICE->DCTL = OTG_DCTL_SDIS;

  /* Transceiver on only now, so the pull-up cannot appear before SDIS holds it off. Without
   * a VBUS sense line (the Black Pill has none) the B-session is forced valid with
   * NOVBUSSENS (RM0383 §22.16.4 GCCFG). */
#if STM32DFU_USB_VBUS_SENSE
  OTG_GLOBAL->GCCFG = OTG_GCCFG_PWRDWN | OTG_GCCFG_VBUSBSEN;
#else
  OTG_GLOBAL->GCCFG = OTG_GCCFG_PWRDWN | OTG_GCCFG_NOVBUSSENS;
#endif

  OTG_GLOBAL->GRXFSIZ = FIFO_RX_WORDS;
  OTG_GLOBAL->DIEPTXF0 = (FIFO_TX0_WORDS << 16) | FIFO_RX_WORDS;
  hal_status_t status = otg_flush_fifos();

  OTG_DEVICE->DIEPMSK = OTG_EPINT_XFRC;
  OTG_DEVICE->DOEPMSK = OTG_EPINT_XFRC | OTG_EPINT_STUP;
  OTG_DEVICE->DAINTMSK = (1u << 16) | 1u; /* OUT0, IN0 */
  OTG_GLOBAL->GINTMSK = OTG_GINT_USBRST | OTG_GINT_ENUMDNE | OTG_GINT_RXFLVL | OTG_GINT_IEPINT |
                        OTG_GINT_OEPINT | OTG_GINT_USBSUSP | OTG_GINT_WKUINT;
  OTG_GLOBAL->GINTSTS = 0xFFFFFFFFu;
  otg.stage = EP0_IDLE;
  otg.ready = status == HAL_OK;
  return status;
}

void otg_fs_deinit(void) {
  if ((RCC->AHB2ENR & RCC_AHB2_OTGFS) != 0u) {
    OTG_DEVICE->DCTL |= OTG_DCTL_SDIS;
  }
  /* Peripheral reset and clock gate: the application finds OTG_FS as after a reset. */
  RCC->AHB2RSTR |= RCC_AHB2_OTGFS;
  RCC->AHB2RSTR &= ~RCC_AHB2_OTGFS;
  RCC->AHB2ENR &= ~RCC_AHB2_OTGFS;
  otg.ready = false;
}

void hal_usb_connect(bool connected) {
  if (!otg.ready) {
    return;
  }
  if (connected) {
    OTG_DEVICE->DCTL &= ~OTG_DCTL_SDIS;
  } else {
    OTG_DEVICE->DCTL |= OTG_DCTL_SDIS;
  }
}

void hal_usb_set_address(uint8_t address) {
  /* OTG_FS answers the SET_ADDRESS status stage from DAD already, so it is set now,
   * before hal_usb_ep0_ack (RM0383 §22.16.5 DCFG). */
  OTG_DEVICE->DCFG = (OTG_DEVICE->DCFG & ~OTG_DCFG_DAD_MASK) | (((uint32_t)address << OTG_DCFG_DAD_SHIFT) & OTG_DCFG_DAD_MASK);
}

/* OUT endpoint 0 ready for one packet; STUPCNT 3 keeps SETUPs welcome (§22.16.6 DOEPTSIZ0). */
static void ep0_arm_out(void) {
  OTG_OUT_EP(0)->TSIZ = OTG_DOEPTSIZ0_STUPCNT3 | OTG_EP0TSIZ_PKTCNT1 | EP0_PACKET;
  OTG_OUT_EP(0)->CTL |= OTG_EPCTL_EPENA | OTG_EPCTL_CNAK;
}

static void ep0_in_packet(const uint8_t *data, uint16_t length) {
  uint32_t words = (length + 3u) / 4u;
  /* §22.17.6 "IN data transfers": size and packet count, enable, then push the packet. */
  OTG_IN_EP(0)->TSIZ = OTG_EP0TSIZ_PKTCNT1 | length;
  OTG_IN_EP(0)->CTL |= OTG_EPCTL_EPENA | OTG_EPCTL_CNAK;
  if (words == 0u) {
    return;
  }
  /* DTXFSTS0 counts free words; TX FIFO 0 is empty here, but the wait is bounded anyway. */
  uint32_t polls = 0u;
  while ((OTG_IN_EP(0)->TXFSTS & 0xFFFFu) < words) {
    if (++polls == OTG_WAIT_POLLS) {
      return; /* no room: the host times out and retries the request */
    }
  }
  for (uint32_t word = 0; word < words; word++) {
    uint32_t value = 0u;
    for (uint32_t byte = 0; byte < 4u && word * 4u + byte < length; byte++) {
      value |= (uint32_t)data[word * 4u + byte] << (8u * byte);
    }
    OTG_FIFO(0) = value;
  }
}

static void ep0_in_next(void) {
  uint16_t length = otg.in_remaining < EP0_PACKET ? otg.in_remaining : EP0_PACKET;
  const uint8_t *data = otg.in_data;
  otg.in_data += length;
  otg.in_remaining -= length;
  ep0_in_packet(data, length);
}

void hal_usb_ep0_send(const uint8_t *data, uint16_t length) {
  otg.stage = EP0_DATA_IN;
  otg.in_data = data;
  otg.in_remaining = length;
  /* USB 2.0 §5.5.3: a data stage shorter than wLength ends with a short packet; when its
   * length is a multiple of the packet size that short packet has zero length. */
  otg.in_zero_length_packet = length < otg.setup_length && (length % EP0_PACKET) == 0u;
  if (length == 0u) {
    otg.in_zero_length_packet = false;
  }
  ep0_in_next();
}

void hal_usb_ep0_receive(uint8_t *buffer, uint16_t length) {
  otg.stage = EP0_DATA_OUT;
  otg.out_buffer = buffer;
  otg.out_length = length;
  otg.out_received = 0u;
  otg.out_last_packet = 0u;
  if (length == 0u) {
    otg.out_complete_pending = true; /* delivered from otg_fs_poll, not re-entrantly */
    return;
  }
  ep0_arm_out();
}

void hal_usb_ep0_ack(void) {
  otg.stage = EP0_STATUS_IN;
  ep0_in_packet(NULL, 0u);
}

void hal_usb_ep0_stall(void) {
  /* For EP0 the core clears STALL itself when the next SETUP arrives (§22.16.6 DIEPCTL0). */
  otg.stage = EP0_IDLE;
  OTG_IN_EP(0)->CTL |= OTG_EPCTL_STALL;
  OTG_OUT_EP(0)->CTL |= OTG_EPCTL_STALL;
}

/* §22.17.5 "Endpoint initialization on USB reset". */
static void otg_on_bus_reset(void) {
  OTG_OUT_EP(0)->CTL |= OTG_EPCTL_SNAK;
  OTG_DEVICE->DCFG &= ~OTG_DCFG_DAD_MASK;
  OTG_GLOBAL->GRXFSIZ = FIFO_RX_WORDS;
  OTG_GLOBAL->DIEPTXF0 = (FIFO_TX0_WORDS << 16) | FIFO_RX_WORDS;
  (void)otg_flush_fifos();
  OTG_IN_EP(0)->INT = 0xFFFFFFFFu;
  OTG_OUT_EP(0)->INT = 0xFFFFFFFFu;
  OTG_OUT_EP(0)->TSIZ = OTG_DOEPTSIZ0_STUPCNT3 | OTG_EP0TSIZ_PKTCNT1 | EP0_PACKET;
  otg.stage = EP0_IDLE;
  otg.out_complete_pending = false;
  usbd_bus_reset();
}

/* §22.17.5 "Endpoint initialization on enumeration completion": EP0 max packet 64. */
static void otg_on_enumeration_done(void) {
  OTG_IN_EP(0)->CTL = (OTG_IN_EP(0)->CTL & ~3u) | OTG_EP0CTL_MPSIZ_64;
  OTG_DEVICE->DCTL |= OTG_DCTL_CGINAK;
}

static void otg_read_fifo(uint8_t *out, uint16_t keep, uint16_t count) {
  for (uint32_t offset = 0; offset < count; offset += 4u) {
    uint32_t value = OTG_FIFO(0);
    for (uint32_t byte = 0; byte < 4u; byte++) {
      if (out != NULL && offset + byte < keep) {
        out[offset + byte] = (uint8_t)(value >> (8u * byte));
      }
    }
  }
}

static void otg_on_rx_entry(void) {
  uint32_t status = OTG_GLOBAL->GRXSTSP;
  uint16_t count = (uint16_t)OTG_GRXSTS_BCNT(status);
  uint32_t kind = OTG_GRXSTS_PKTSTS(status);
  if (OTG_GRXSTS_EPNUM(status) != 0u) {
    otg_read_fifo(NULL, 0u, count);
    return;
  }
  if (kind == OTG_PKTSTS_SETUP_DATA) {
    otg_read_fifo(otg.setup, count < 8u ? count : 8u, count);
  } else if (kind == OTG_PKTSTS_OUT_DATA) {
    if (otg.stage == EP0_DATA_OUT) {
      uint16_t room = otg.out_length - otg.out_received;
      uint16_t keep = count < room ? count : room;
      otg_read_fifo(otg.out_buffer + otg.out_received, keep, count);
      otg.out_received += keep;
      otg.out_last_packet = count;
    } else {
      otg_read_fifo(NULL, 0u, count); /* status-stage zero-length packet, or stray data */
    }
  }
}

static void otg_on_out_complete(void) {
  if (otg.stage == EP0_DATA_OUT) {
    if (otg.out_received < otg.out_length && otg.out_last_packet == EP0_PACKET) {
      ep0_arm_out(); /* more packets of this data stage */
      return;
    }
    otg.stage = EP0_IDLE;
    usbd_ep0_out_complete(otg.out_received);
  } else if (otg.stage == EP0_STATUS_OUT) {
    otg.stage = EP0_IDLE;
    usbd_ep0_transfer_complete();
  }
}

static void otg_on_in_complete(void) {
  if (otg.stage == EP0_DATA_IN) {
    if (otg.in_remaining > 0u) {
      ep0_in_next();
    } else if (otg.in_zero_length_packet) {
      otg.in_zero_length_packet = false;
      ep0_in_packet(NULL, 0u);
    } else {
      otg.stage = EP0_STATUS_OUT;
      ep0_arm_out(); /* the host's zero-length status packet */
    }
  } else if (otg.stage == EP0_STATUS_IN) {
    otg.stage = EP0_IDLE;
    usbd_ep0_transfer_complete();
  }
}

static void otg_on_setup(void) {
  /* A SETUP ends whatever transfer was in progress (USB 2.0 §8.5.3). */
  otg.stage = EP0_IDLE;
  otg.out_complete_pending = false;
  otg.setup_length = (uint16_t)(otg.setup[6] | (otg.setup[7] << 8));
  OTG_OUT_EP(0)->TSIZ = OTG_DOEPTSIZ0_STUPCNT3 | OTG_EP0TSIZ_PKTCNT1 | EP0_PACKET;
  usbd_setup(otg.setup);
}

void otg_fs_poll(void) {
  if (!otg.ready) {
    return;
  }
  uint32_t events = OTG_GLOBAL->GINTSTS;
  if ((events & OTG_GINT_USBRST) != 0u) {
    OTG_GLOBAL->GINTSTS = OTG_GINT_USBRST;
    otg_on_bus_reset();
  }
  if ((events & OTG_GINT_ENUMDNE) != 0u) {
    OTG_GLOBAL->GINTSTS = OTG_GINT_ENUMDNE;
    otg_on_enumeration_done();
  }
  if ((events & (OTG_GINT_USBSUSP | OTG_GINT_WKUINT)) != 0u) {
    OTG_GLOBAL->GINTSTS = events & (OTG_GINT_USBSUSP | OTG_GINT_WKUINT);
  }
  for (uint32_t entries = 0; entries < OTG_RX_ENTRIES_PER_POLL && (OTG_GLOBAL->GINTSTS & OTG_GINT_RXFLVL) != 0u;
       entries++) {
    otg_on_rx_entry();
  }
  if (otg.out_complete_pending) {
    otg.out_complete_pending = false;
    otg.stage = EP0_IDLE;
    usbd_ep0_out_complete(0u);
  }
  events = OTG_GLOBAL->GINTSTS;
  if ((events & OTG_GINT_OEPINT) != 0u) {
    uint32_t flags = OTG_OUT_EP(0)->INT;
    OTG_OUT_EP(0)->INT = flags;
    /* Completion of the previous stage first, then the SETUP that follows it. */
    if ((flags & OTG_EPINT_XFRC) != 0u) {
      otg_on_out_complete();
    }
    if ((flags & OTG_EPINT_STUP) != 0u) {
      otg_on_setup();
    }
  }
  if ((events & OTG_GINT_IEPINT) != 0u) {
    uint32_t flags = OTG_IN_EP(0)->INT;
    OTG_IN_EP(0)->INT = flags;
    if ((flags & OTG_EPINT_XFRC) != 0u) {
      otg_on_in_complete();
    }
  }
}
