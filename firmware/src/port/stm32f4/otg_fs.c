/*
 * otg_fs.c — USB OTG_FS in device mode, control endpoint 0 only, polled from the main loop
 * (RM0383 chapter 22; RM0090 chapter 34 for the F405).
 *
 * The core above deals in whole control transfers (hal.h); this file splits IN data into
 * 64-byte packets, gathers OUT data packets into the caller's buffer, runs the status
 * stages, and reports bus reset, SETUP, OUT completion and transfer completion through the
 * usbd_* entry points of bootloader.h.
 *
 * Citations: sequences come from the programming model, RM0383 §22.17 (§22.17.1 core
 * initialization, §22.17.3 device initialization, §22.17.5 device programming model,
 * §22.17.6 operational model); register fields are cited by register name (OTG_FS_GRSTCTL,
 * ...), as in the manual's "OTG_FS control and status registers" section of chapter 22.
 * docs/hardware.md "USB driver review" lists what was checked against them.
 */
#include "bootloader.h"
#include "port.h"
#include "stm32f4_regs.h"

#define EP0_PACKET 64u
/* FIFO RAM is 1.25 kB = 320 words (RM0383 ch. 22 "FIFO RAM allocation", device mode). RX needs 10 words
 * for SETUPs (3 SETUPs × 3 words + the setup-done word), 1 for the global OUT NAK status and
 * 2 × (64/4 + 1) for two packets with their status: 45; 128 leaves room for a burst while
 * the main loop is busy. TX0 holds two 64-byte packets: 32 words. 160 words in all. */
#define FIFO_RX_WORDS 128u
#define FIFO_TX0_WORDS 32u
_Static_assert(FIFO_RX_WORDS + FIFO_TX0_WORDS <= 320u, "OTG_FS FIFO RAM is 1.25 kB");
_Static_assert(FIFO_RX_WORDS >= 45u, "RX FIFO: 3 SETUPs plus two 64-byte packets");
_Static_assert(FIFO_TX0_WORDS >= 16u, "TX FIFO 0 holds at least one 64-byte packet");
/* GUSBCFG.TRDT = 6 is the table's value for an AHB clock of 32 MHz or more (RM0383,
 * OTG_FS_GUSBCFG, "TRDT values"); both images run OTG_FS only after clock_init_pll. */
_Static_assert(STM32DFU_SYSCLK_HZ >= 32000000u, "TRDT 6 needs HCLK >= 32 MHz");
#define OTG_TRDT_AHB_32MHZ_AND_UP 6u

/* Bounds for the core's own handshakes; each poll is a register read on the AHB, so at
 * 96 MHz this is a few milliseconds: far longer than any of them takes. */
#define OTG_WAIT_POLLS 200000u
/* A change of GUSBCFG.FDMOD takes effect after 25 ms (RM0383, OTG_FS_GUSBCFG FDMOD). */
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
  bool setup_pending; /* a SETUP's data is in, its STUP not handled yet */
  bool ready;
} otg;

static hal_status_t otg_wait(volatile uint32_t *reg, uint32_t mask, uint32_t expected) {
  for (uint32_t polls = 0; polls < OTG_WAIT_POLLS; polls++) {
    if ((*reg & mask) == expected) {
      return HAL_OK;
    }
    watchdog_refresh();
  }
  return HAL_ERR_TIMEOUT;
}

static void otg_pin_af10(uint32_t pin) {
  /* RM0383 GPIO registers: GPIOx_MODER alternate function, GPIOx_OSPEEDR very high,
   * GPIOx_AFRH AF10, which is OTG_FS on PA11/PA12 (DS10314 alternate function table). */
  gpio_regs_t *gpio = GPIO_PORT(0);
  gpio->MODER = (gpio->MODER & ~(3u << (2u * pin))) | (2u << (2u * pin));
  gpio->OSPEEDR |= 3u << (2u * pin);
  gpio->AFR[pin / 8u] = (gpio->AFR[pin / 8u] & ~(0xFu << (4u * (pin % 8u)))) | (10u << (4u * (pin % 8u)));
}

/* OTG_FS_GRSTCTL resets to 0x2000 0000: bit 29 is reserved and set, and reserved bits must
 * be kept at their reset value. Only the self-clearing action bits and TXFNUM are ours; every
 * other bit is written back as read (AHBIDL is read-only). */
#define OTG_GRSTCTL_OURS                                                                        \
  (OTG_GRSTCTL_CSRST | OTG_GRSTCTL_HSRST | OTG_GRSTCTL_FCRST | OTG_GRSTCTL_RXFFLSH | OTG_GRSTCTL_TXFFLSH | \
   OTG_GRSTCTL_TXFNUM_MASK)
static void otg_grstctl_start(uint32_t action) {
  /* RM0383 OTG_FS_GRSTCTL (§22.17.1 core soft reset, FIFO flushes): read-modify-write. */
  OTG_GLOBAL->GRSTCTL = (OTG_GLOBAL->GRSTCTL & ~OTG_GRSTCTL_OURS) | action;
}

/* OTG_FS_GRSTCTL TXFFLSH/RXFFLSH: only while the AHB master is idle; each self-clears. */
#define OTG_TXFNUM_ALL 0x10u /* OTG_FS_GRSTCTL.TXFNUM: every TX FIFO */
static hal_status_t otg_flush_tx_fifo(uint32_t txfnum) {
  if (otg_wait(&OTG_GLOBAL->GRSTCTL, OTG_GRSTCTL_AHBIDL, OTG_GRSTCTL_AHBIDL) != HAL_OK) {
    return HAL_ERR_TIMEOUT;
  }
  otg_grstctl_start(OTG_GRSTCTL_TXFFLSH | (txfnum << OTG_GRSTCTL_TXFNUM_SHIFT)); /* RM0383 OTG_FS_GRSTCTL */
  return otg_wait(&OTG_GLOBAL->GRSTCTL, OTG_GRSTCTL_TXFFLSH, 0u);
}

static hal_status_t otg_flush_fifos(void) {
  hal_status_t status = otg_flush_tx_fifo(OTG_TXFNUM_ALL);
  if (otg_wait(&OTG_GLOBAL->GRSTCTL, OTG_GRSTCTL_AHBIDL, OTG_GRSTCTL_AHBIDL) != HAL_OK) {
    return HAL_ERR_TIMEOUT;
  }
  otg_grstctl_start(OTG_GRSTCTL_RXFFLSH); /* RM0383 OTG_FS_GRSTCTL */
  if (otg_wait(&OTG_GLOBAL->GRSTCTL, OTG_GRSTCTL_RXFFLSH, 0u) != HAL_OK) {
    status = HAL_ERR_TIMEOUT;
  }
  return status;
}

/* RM0383 §22.17.5 "Endpoint initialization on USB reset" steps 3-4: FIFO RAM, SETUPs. */
static void otg_fifo_layout(void) {
  OTG_GLOBAL->GRXFSIZ = FIFO_RX_WORDS;                              /* OTG_FS_GRXFSIZ, words */
  OTG_GLOBAL->DIEPTXF0 = (FIFO_TX0_WORDS << 16) | FIFO_RX_WORDS;    /* TX0FD | TX0FSA, words */
}

/* EP0 OUT accepts up to three back-to-back SETUPs whatever its NAK/EPENA state once
 * STUPCNT is non-zero (RM0383 §22.17.6 "SETUP transactions"; OTG_FS_DOEPTSIZ0). */
static void ep0_expect_setup(void) {
  OTG_OUT_EP(0)->TSIZ = OTG_DOEPTSIZ0_STUPCNT3 | OTG_EP0TSIZ_PKTCNT1 | EP0_PACKET;
}

/* OUT endpoint 0 ready for one packet of a data or status stage (RM0383 §22.17.6 "OUT
 * data transfers"): XFRSIZ is 7 bits, so a data stage is taken one packet at a time. */
static void ep0_arm_out(void) {
  ep0_expect_setup();
  OTG_OUT_EP(0)->CTL |= OTG_EPCTL_EPENA | OTG_EPCTL_CNAK; /* OTG_FS_DOEPCTL0 */
}

/* Take back an IN packet the host never collected (a SETUP or a bus reset ended the
 * transfer): NAK, disable, flush TX FIFO 0 (RM0383 §22.17.6 "IN endpoint disable";
 * OTG_FS_DIEPCTL0 EPDIS, OTG_FS_DIEPINT0 INEPNE/EPDISD). */
static void ep0_in_abort(void) {
  if ((OTG_IN_EP(0)->CTL & OTG_EPCTL_EPENA) != 0u) {
    OTG_IN_EP(0)->CTL |= OTG_EPCTL_SNAK;
    (void)otg_wait(&OTG_IN_EP(0)->INT, OTG_DIEPINT_INEPNE, OTG_DIEPINT_INEPNE);
    OTG_IN_EP(0)->CTL |= OTG_EPCTL_EPDIS | OTG_EPCTL_SNAK;
    (void)otg_wait(&OTG_IN_EP(0)->INT, OTG_EPINT_EPDISD, OTG_EPINT_EPDISD);
  }
  OTG_IN_EP(0)->INT = OTG_DIEPINT_INEPNE | OTG_EPINT_EPDISD | OTG_EPINT_XFRC; /* rc_w1 */
  (void)otg_flush_tx_fifo(0u);
  OTG_IN_EP(0)->TSIZ = 0u; /* OTG_FS_DIEPTSIZ0: nothing queued */
}

hal_status_t otg_fs_init(void) {
  otg.ready = false;
  RCC->AHB1ENR |= RCC_AHB1ENR_GPIOAEN;  /* RM0383 §6.3 RCC_AHB1ENR */
  RCC->AHB2ENR |= RCC_AHB2_OTGFS;       /* RM0383 §6.3 RCC_AHB2ENR */
  (void)RCC->AHB2ENR;                   /* the clock is on before the first access */
  otg_pin_af10(11u); /* DM */
  otg_pin_af10(12u); /* DP */

  /* RM0383 §22.17.1 core initialization, preceded by the core soft reset of
   * OTG_FS_GRSTCTL: AHB master idle, CSRST, wait for it to clear, idle again. GUSBCFG.PHYSEL
   * is fixed at 1 on this part (only the full-speed serial transceiver exists). */
  if (otg_wait(&OTG_GLOBAL->GRSTCTL, OTG_GRSTCTL_AHBIDL, OTG_GRSTCTL_AHBIDL) != HAL_OK) {
    return HAL_ERR_TIMEOUT;
  }
  otg_grstctl_start(OTG_GRSTCTL_CSRST); /* RM0383 OTG_FS_GRSTCTL.CSRST */
  if (otg_wait(&OTG_GLOBAL->GRSTCTL, OTG_GRSTCTL_CSRST, 0u) != HAL_OK ||
      otg_wait(&OTG_GLOBAL->GRSTCTL, OTG_GRSTCTL_AHBIDL, OTG_GRSTCTL_AHBIDL) != HAL_OK) {
    return HAL_ERR_TIMEOUT;
  }

  /* §22.17.1 steps 1-2: polled, so GAHBCFG.GINT (global interrupt) stays 0; device mode forced (FDMOD);
   * TRDT for this AHB clock. PCGCCTL clocks ungated.
   * Whole-register writes in this file go only to registers whose reserved bits all reset
   * to 0 (RM0383 register descriptions: GAHBCFG, PCGCCTL, DCTL, GCCFG and the interrupt
   * masks 0; GUSBCFG 0x0000 0A00 and GRXFSIZ/DIEPTXF0 0x0000 0200 are fields only; the EP0
   * transfer size registers 0), so they keep every reserved bit at its reset value. DCFG
   * and GRSTCTL, whose reserved bits reset to 1, are read-modify-written. */
  OTG_GLOBAL->GAHBCFG = 0u; /* RM0383 OTG_FS_GAHBCFG */
  OTG_GLOBAL->GUSBCFG = OTG_GUSBCFG_FDMOD | OTG_GUSBCFG_TRDT(OTG_TRDT_AHB_32MHZ_AND_UP) |
                        OTG_GUSBCFG_PHYSEL; /* RM0383 OTG_FS_GUSBCFG */
  OTG_PCGCCTL = 0u; /* RM0383 OTG_FS_PCGCCTL */
  uint32_t start = hal_millis();
  for (uint32_t polls = 0; hal_millis() - start < OTG_FORCE_MODE_MS && polls < 40u * OTG_WAIT_POLLS; polls++) {
    watchdog_refresh();
  }
  if ((OTG_GLOBAL->GINTSTS & OTG_GINT_CMOD) != 0u) {
    return HAL_ERR_SEQUENCE; /* OTG_FS_GINTSTS.CMOD still says host mode */
  }

  /* §22.17.3 device initialization step 1: full speed on the internal PHY, address 0,
   * and soft-disconnected until hal_usb_connect (OTG_FS_DCFG, OTG_FS_DCTL). DCFG resets to
   * 0x0220 0000 with reserved bits 21 and 25 set: only its fields are written (DSPD full
   * speed; DAD, NZLSOHSK and PFIVL at 0, their reset values), the reserved bits as read. */
  OTG_DEVICE->DCFG = (OTG_DEVICE->DCFG & ~(OTG_DCFG_DSPD_MASK | OTG_DCFG_NZLSOHSK | OTG_DCFG_DAD_MASK |
                                           OTG_DCFG_PFIVL_MASK)) |
                     OTG_DCFG_DSPD_FULL;
  OTG_DEVICE->DCTL = OTG_DCTL_SDIS; /* OTG_FS_DCTL resets to 0: no reserved bit set */

  /* §22.17.3 step 3 (OTG_FS_GCCFG): transceiver on only now, so the pull-up cannot appear
   * before SDIS holds it off. The Black Pill has no VBUS sense line: NOVBUSSENS (bit 21 on
   * the F411) forces the B-session valid, and VBUSBSEN (bit 19) stays clear so PA9 is free
   * for USART1. */
#if STM32DFU_USB_VBUS_SENSE
  OTG_GLOBAL->GCCFG = OTG_GCCFG_PWRDWN | OTG_GCCFG_VBUSBSEN;
#else
  OTG_GLOBAL->GCCFG = OTG_GCCFG_PWRDWN | OTG_GCCFG_NOVBUSSENS;
#endif

  otg_fifo_layout();
  hal_status_t status = otg_flush_fifos();

  /* §22.17.5 "Endpoint initialization on USB reset" step 2 and §22.17.3 step 2: the
   * events the poll loop reads (OTG_FS_DIEPMSK, DOEPMSK, DAINTMSK, GINTMSK). */
  OTG_DEVICE->DIEPMSK = OTG_EPINT_XFRC;
  OTG_DEVICE->DOEPMSK = OTG_EPINT_XFRC | OTG_EPINT_STUP;
  OTG_DEVICE->DAINTMSK = (1u << 16) | 1u; /* OUT0, IN0 */
  OTG_GLOBAL->GINTMSK = OTG_GINT_USBRST | OTG_GINT_ENUMDNE | OTG_GINT_RXFLVL | OTG_GINT_IEPINT |
                        OTG_GINT_OEPINT | OTG_GINT_USBSUSP | OTG_GINT_WKUINT;
  /* OTG_FS_GINTSTS, rc_w1: drop anything latched before now by writing back exactly the
   * flags that are set, so no 1 goes into a reserved bit (read-only bits ignore the write). */
  OTG_GLOBAL->GINTSTS = OTG_GLOBAL->GINTSTS;
  otg.stage = EP0_IDLE;
  otg.out_complete_pending = false;
  otg.setup_pending = false;
  otg.ready = status == HAL_OK;
  return status;
}

void otg_fs_deinit(void) {
  if ((RCC->AHB2ENR & RCC_AHB2_OTGFS) != 0u) {
    OTG_DEVICE->DCTL |= OTG_DCTL_SDIS; /* OTG_FS_DCTL: pull-up off first */
  }
  /* RM0383 §6.3 RCC_AHB2RSTR pulse and RCC_AHB2ENR gate: the application finds OTG_FS
   * (GCCFG.PWRDWN = 0, transceiver off) as after a reset. */
  RCC->AHB2RSTR |= RCC_AHB2_OTGFS;
  RCC->AHB2RSTR &= ~RCC_AHB2_OTGFS;
  RCC->AHB2ENR &= ~RCC_AHB2_OTGFS;
  otg.ready = false;
}

void hal_usb_connect(bool connected) {
  if (!otg.ready) {
    return;
  }
  /* OTG_FS_DCTL.SDIS: the D+ pull-up follows it (RM0383 §22.17.3 "soft disconnect"). */
  if (connected) {
    OTG_DEVICE->DCTL &= ~OTG_DCTL_SDIS;
  } else {
    OTG_DEVICE->DCTL |= OTG_DCTL_SDIS;
  }
}

void hal_usb_set_address(uint8_t address) {
  /* OTG_FS answers the SET_ADDRESS status stage with DAD already in force, so the address
   * is written now, before hal_usb_ep0_ack (RM0383 §22.17.5 "control transfers", DCFG). */
  OTG_DEVICE->DCFG = (OTG_DEVICE->DCFG & ~OTG_DCFG_DAD_MASK) | (((uint32_t)address << OTG_DCFG_DAD_SHIFT) & OTG_DCFG_DAD_MASK);
}

static void ep0_in_packet(const uint8_t *data, uint16_t length) {
  uint32_t words = (length + 3u) / 4u;
  /* §22.17.6 "IN data transfers": size and packet count (OTG_FS_DIEPTSIZ0), enable
   * (OTG_FS_DIEPCTL0), then push the packet into TX FIFO 0. One packet per transfer, so
   * the FIFO never needs the TXFE interrupt. */
  OTG_IN_EP(0)->TSIZ = OTG_EP0TSIZ_PKTCNT1 | length;
  OTG_IN_EP(0)->CTL |= OTG_EPCTL_EPENA | OTG_EPCTL_CNAK;
  if (words == 0u) {
    return;
  }
  /* OTG_FS_DTXFSTS0 counts free words; TX FIFO 0 is empty here, but the wait is bounded. */
  uint32_t polls = 0u;
  while ((OTG_IN_EP(0)->TXFSTS & 0xFFFFu) < words) {
    watchdog_refresh();
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
   * length is a multiple of the packet size that short packet has zero length. A zero-length
   * data stage is itself that packet. */
  otg.in_zero_length_packet = length != 0u && length < otg.setup_length && (length % EP0_PACKET) == 0u;
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
  /* OTG_FS_DIEPCTL0/DOEPCTL0.STALL: for EP0 the core clears STALL itself when the next
   * SETUP arrives (RM0383 §22.17.6 "STALL handshake"), so both directions stall until then. */
  otg.stage = EP0_IDLE;
  otg.out_complete_pending = false;
  OTG_IN_EP(0)->CTL |= OTG_EPCTL_STALL;
  OTG_OUT_EP(0)->CTL |= OTG_EPCTL_STALL;
}

/* §22.17.5 "Endpoint initialization on USB reset". Only the TX FIFOs are flushed: the RX
 * FIFO may already hold the host's first SETUP after this reset (it arrives while a sector
 * erase stalls the main loop for up to 2 s), and flushing it would drop that request. Stale
 * RX entries of the old session are harmless: OUT data finds EP0 idle and is discarded, and
 * of several SETUPs the last one wins. */
static void otg_on_bus_reset(void) {
  OTG_OUT_EP(0)->CTL |= OTG_EPCTL_SNAK; /* step 1: NAK OUT */
  ep0_in_abort();                        /* an IN packet of the old session must not leak */
  OTG_DEVICE->DCFG &= ~OTG_DCFG_DAD_MASK; /* RM0383 OTG_FS_DCFG: address 0 */
  otg_fifo_layout(); /* step 3 */
  (void)otg_flush_tx_fifo(OTG_TXFNUM_ALL);
  /* OTG_FS_DIEPINT0 / DOEPINT0, rc_w1: the latched flags written back, no 1 into a reserved
   * bit (DOEPINT0 resets to 0x80: its reserved bit 7 is written back as read). */
  OTG_IN_EP(0)->INT = OTG_IN_EP(0)->INT;
  OTG_OUT_EP(0)->INT = OTG_OUT_EP(0)->INT;
  ep0_expect_setup(); /* step 4 */
  otg.stage = EP0_IDLE;
  otg.out_complete_pending = false;
  otg.setup_pending = false;
  usbd_bus_reset();
}

/* §22.17.5 "Endpoint initialization on enumeration completion": OTG_FS_DSTS.ENUMSPD is
 * full speed (the only speed of this core); OTG_FS_DIEPCTL0.MPSIZ 0 means 64 bytes (the
 * OUT side follows it). */
static void otg_on_enumeration_done(void) {
  (void)OTG_DEVICE->DSTS; /* step 1; ENUMSPD can only say full speed on this core */
  OTG_IN_EP(0)->CTL = (OTG_IN_EP(0)->CTL & ~(3u | OTG_EPCTL_EPENA | OTG_EPCTL_EPDIS)) | OTG_EP0CTL_MPSIZ_64;
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

/* One entry of the RX FIFO (§22.17.6 "OUT data transfers"; OTG_FS_GRXSTSP device mode:
 * PKTSTS 2 OUT data, 3 OUT complete, 4 SETUP done, 6 SETUP data). Entries without data
 * (1, 3, 4) only need popping: popping 3 raises DOEPINT.XFRC and popping 4 raises
 * DOEPINT.STUP, which otg_fs_poll handles. */
static void otg_on_rx_entry(void) {
  uint32_t status = OTG_GLOBAL->GRXSTSP;
  uint16_t count = (uint16_t)OTG_GRXSTS_BCNT(status);
  uint32_t kind = OTG_GRXSTS_PKTSTS(status);
  if (OTG_GRXSTS_EPNUM(status) != 0u) {
    otg_read_fifo(NULL, 0u, count);
    return;
  }
  if (kind == OTG_PKTSTS_SETUP_DATA) {
    /* Up to three SETUPs may arrive back to back; the last one counts, and it is acted on
     * only at STUP (§22.17.6 "SETUP transactions"). A new SETUP ends the old transfer, so
     * an IN packet still queued for it is taken back first. */
    if ((OTG_IN_EP(0)->TSIZ & OTG_DIEPTSIZ0_PKTCNT_MASK) != 0u) {
      ep0_in_abort();
    }
    otg.setup_pending = true;
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
  } else {
    otg_read_fifo(NULL, 0u, count); /* 1, 3, 4 carry no data; BCNT is 0 */
  }
}

/* Once a newer SETUP is in, the old transfer is over: a completed status stage is still
 * reported, but a data stage is neither continued nor delivered. */
static void otg_on_out_complete(void) {
  if (otg.stage == EP0_DATA_OUT && otg.setup_pending) {
    otg.stage = EP0_IDLE;
  } else if (otg.stage == EP0_DATA_OUT) {
    /* A full packet short of wLength: more follow (USB 2.0 §8.5.3). */
    if (otg.out_received < otg.out_length && otg.out_last_packet == EP0_PACKET) {
      ep0_arm_out();
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
  if (otg.stage == EP0_DATA_IN && otg.setup_pending) {
    otg.stage = EP0_IDLE;
  } else if (otg.stage == EP0_DATA_IN) {
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
  /* A SETUP ends whatever transfer was in progress (USB 2.0 §8.5.3). STUPCNT back to 3 so
   * the next SETUPs are taken whatever happens to this one. */
  otg.stage = EP0_IDLE;
  otg.out_complete_pending = false;
  otg.setup_pending = false;
  otg.setup_length = (uint16_t)(otg.setup[6] | (otg.setup[7] << 8));
  ep0_expect_setup();
  usbd_setup(otg.setup);
}

void otg_fs_poll(void) {
  if (!otg.ready) {
    return;
  }
  uint32_t events = OTG_GLOBAL->GINTSTS; /* OTG_FS_GINTSTS, rc_w1 for the event bits */
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
    if (!otg.setup_pending) {
      usbd_ep0_out_complete(0u);
    }
  }
  /* Events of the transfer in progress before a SETUP that ends it: IN completion, then
   * OUT completion, then the SETUP. A new transfer's IN packet is queued only once its
   * SETUP has been handled, so a pending IN XFRC always belongs to the old transfer (its
   * last data packet, or the ZLP of its status stage, which the core must still see as
   * usbd_ep0_transfer_complete). (Cores from 3.00a also raise XFRC for a SETUP; this core,
   * 2.x on the F411 and F405, does not.) */
  events = OTG_GLOBAL->GINTSTS;
  if ((events & OTG_GINT_IEPINT) != 0u) {
    uint32_t flags = OTG_IN_EP(0)->INT;
    OTG_IN_EP(0)->INT = flags; /* OTG_FS_DIEPINT0, rc_w1 */
    if ((flags & OTG_EPINT_XFRC) != 0u) {
      otg_on_in_complete();
    }
  }
  if ((events & OTG_GINT_OEPINT) != 0u) {
    uint32_t flags = OTG_OUT_EP(0)->INT;
    OTG_OUT_EP(0)->INT = flags; /* OTG_FS_DOEPINT0, rc_w1 */
    if ((flags & OTG_EPINT_XFRC) != 0u) {
      otg_on_out_complete();
    }
    if ((flags & OTG_EPINT_STUP) != 0u) {
      otg_on_setup();
    }
  }
}
