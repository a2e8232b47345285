/*
 * test_otg_fs.c — the port's OTG_FS driver (otg_fs.c) on the host, against RAM stand-ins
 * for its registers (host_regs.h) that start at RM0383's reset values, with a model of the
 * few behaviours the driver waits for: GRSTCTL's self-clearing CSRST/TXFFLSH/RXFFLSH and
 * AHBIDL. The model logs every FIFO flush the driver starts and holds an RX FIFO entry that
 * a flush of the RX FIFO would drop.
 */
#include <stdbool.h>

#include "bootloader.h"
#include "port.h"
#include "port_test.h"
#include "stm32f4_regs.h"

/* Register addresses (RM0383 ch. 22 "OTG_FS control and status registers"). */
#define A_GOTGCTL 0x50000000u
#define A_GUSBCFG 0x5000000Cu
#define A_GRSTCTL 0x50000010u
#define A_GINTSTS 0x50000014u
#define A_GRXFSIZ 0x50000024u
#define A_DIEPTXF0 0x50000028u
#define A_CID 0x5000003Cu
#define A_DCFG 0x50000800u
#define A_DSTS 0x50000808u
#define A_DIEPINT0 0x50000908u
#define A_DOEPCTL0 0x50000B00u
#define A_DOEPINT0 0x50000B08u

/* Reset values and defined bits, RM0383 (OTG_FS register descriptions). */
#define RESET_GOTGCTL 0x00000800u
#define RESET_GUSBCFG 0x00000A00u
#define RESET_GRSTCTL 0x20000000u /* bit 29 is reserved and resets to 1 */
#define GRSTCTL_RESERVED_SET (1u << 29)
#define RESET_GINTSTS 0x04000020u
#define RESET_GRXFSIZ 0x00000200u
#define RESET_DIEPTXF0 0x00000200u
#define RESET_CID 0x00001000u
#define RESET_DCFG 0x02200000u /* bits 21 and 25 are reserved and reset to 1 */
#define RESET_DSTS 0x00000010u
#define RESET_DIEPINT0 0x00000080u
#define RESET_DOEPCTL0 0x00008000u
#define RESET_DOEPINT0 0x00000080u
/* GINTSTS fields (everything but reserved bits 8, 9, 16, 17, 22, 23, 27). */
#define GINTSTS_DEFINED 0xF73CFCFFu
/* DIEPINT0: XFRC, EPDISD, TOC, ITTXFE, INEPNE, TXFE. DOEPINT0: XFRC, EPDISD, STUP, OTEPDIS,
 * B2BSTUP, and bit 7, reserved with a reset value of 1. */
#define DIEPINT_DEFINED 0xDBu
#define DOEPINT_ALLOWED 0xDBu

/* ---- The model ---- */

#define FLUSH_LOG 16u
static struct {
  bool tx_flush_stuck;        /* TXFFLSH never clears */
  bool grstctl_reserved_lost; /* a write cleared GRSTCTL bit 29 */
  uint32_t rx_entries;        /* entries waiting in the RX FIFO (a SETUP, say) */
  uint32_t flushes;
  int flush[FLUSH_LOG]; /* TXFNUM of a TX flush, or -1 for an RX flush */
} model;

static void otg_model(void) {
  volatile uint32_t *grstctl = host_reg(A_GRSTCTL);
  uint32_t value = *grstctl;
  if ((value & GRSTCTL_RESERVED_SET) == 0u) {
    model.grstctl_reserved_lost = true;
  }
  if ((value & OTG_GRSTCTL_CSRST) != 0u) {
    value &= ~OTG_GRSTCTL_CSRST;
  }
  if ((value & OTG_GRSTCTL_TXFFLSH) != 0u && !model.tx_flush_stuck) {
    if (model.flushes < FLUSH_LOG) {
      model.flush[model.flushes] = (int)((value >> OTG_GRSTCTL_TXFNUM_SHIFT) & 0x1Fu);
    }
    model.flushes++;
    value &= ~OTG_GRSTCTL_TXFFLSH;
  }
  if ((value & OTG_GRSTCTL_RXFFLSH) != 0u) {
    if (model.flushes < FLUSH_LOG) {
      model.flush[model.flushes] = -1;
    }
    model.flushes++;
    model.rx_entries = 0u;
    value &= ~OTG_GRSTCTL_RXFFLSH;
  }
  *grstctl = value | OTG_GRSTCTL_AHBIDL;
}

/* ---- What otg_fs.c needs from the rest of the port and from the core ---- */

static uint32_t fake_millis;
uint32_t hal_millis(void) {
  return fake_millis++;
}
void watchdog_refresh(void) {
}

static uint32_t bus_resets, setups;
void usbd_bus_reset(void) {
  bus_resets++;
}
void usbd_setup(const uint8_t setup[8]) {
  (void)setup;
  setups++;
}
void usbd_ep0_out_complete(uint16_t length) {
  (void)length;
}
void usbd_ep0_transfer_complete(void) {
}

/* OTG_FS as after a reset of the chip: every register at its reset value, the core idle. */
static void chip_reset(void) {
  memset(&model, 0, sizeof model);
  host_regs_reset();
  host_regs_set_model(NULL);
  *host_reg(A_GOTGCTL) = RESET_GOTGCTL;
  *host_reg(A_GUSBCFG) = RESET_GUSBCFG;
  *host_reg(A_GRSTCTL) = RESET_GRSTCTL | OTG_GRSTCTL_AHBIDL;
  *host_reg(A_GINTSTS) = RESET_GINTSTS;
  *host_reg(A_GRXFSIZ) = RESET_GRXFSIZ;
  *host_reg(A_DIEPTXF0) = RESET_DIEPTXF0;
  *host_reg(A_CID) = RESET_CID;
  *host_reg(A_DCFG) = RESET_DCFG;
  *host_reg(A_DSTS) = RESET_DSTS;
  *host_reg(A_DIEPINT0) = RESET_DIEPINT0;
  *host_reg(A_DOEPCTL0) = RESET_DOEPCTL0;
  *host_reg(A_DOEPINT0) = RESET_DOEPINT0;
  bus_resets = 0u;
  setups = 0u;
  host_regs_set_model(otg_model);
}

static bool init_ok(void) {
  hal_status_t status = otg_fs_init();
  if (status != HAL_OK) {
    problem("otg_fs_init returned %d", (int)status);
    return false;
  }
  return true;
}

/* A bus reset seen by the poll, with a SETUP already waiting in the RX FIFO. */
static void bus_reset_with_setup_waiting(void) {
  model.flushes = 0u;
  model.rx_entries = 1u;
  *host_reg(A_GINTSTS) = OTG_GINT_USBRST;
  *host_reg(A_DIEPINT0) = RESET_DIEPINT0 | OTG_EPINT_XFRC;
  *host_reg(A_DOEPINT0) = RESET_DOEPINT0 | OTG_EPINT_XFRC;
  otg_fs_poll();
}

/* ---- i: whole-register writes against reset values ---- */

static void test_dcfg_keeps_reserved_bits(void) {
  chip_reset();
  if (!init_ok()) {
    return;
  }
  uint32_t dcfg = *host_reg(A_DCFG);
  if (dcfg != (RESET_DCFG | OTG_DCFG_DSPD_FULL)) {
    problem("DCFG after otg_fs_init is 0x%08X, expected 0x%08X (reset value 0x%08X with DSPD full speed, DAD 0)", dcfg,
            RESET_DCFG | OTG_DCFG_DSPD_FULL, RESET_DCFG);
  }
  hal_usb_set_address(0x57u);
  dcfg = *host_reg(A_DCFG);
  if (dcfg != (RESET_DCFG | OTG_DCFG_DSPD_FULL | (0x57u << OTG_DCFG_DAD_SHIFT))) {
    problem("DCFG after SET_ADDRESS 0x57 is 0x%08X", dcfg);
  }
  bus_reset_with_setup_waiting();
  dcfg = *host_reg(A_DCFG);
  if (dcfg != (RESET_DCFG | OTG_DCFG_DSPD_FULL)) {
    problem("DCFG after a bus reset is 0x%08X, expected 0x%08X (address back to 0)", dcfg,
            RESET_DCFG | OTG_DCFG_DSPD_FULL);
  }
}

static void test_grstctl_keeps_reserved_bit(void) {
  chip_reset();
  if (!init_ok()) {
    return;
  }
  if (model.grstctl_reserved_lost) {
    problem("otg_fs_init wrote GRSTCTL without its reserved bit 29 (reset value 0x%08X)", RESET_GRSTCTL);
  }
  model.grstctl_reserved_lost = false;
  bus_reset_with_setup_waiting();
  if (model.grstctl_reserved_lost) {
    problem("the bus reset wrote GRSTCTL without its reserved bit 29");
  }
}

static void test_interrupt_flags_cleared_by_writing_back(void) {
  chip_reset();
  *host_reg(A_GINTSTS) = RESET_GINTSTS | OTG_GINT_USBRST | OTG_GINT_USBSUSP; /* latched before init */
  if (!init_ok()) {
    return;
  }
  uint32_t gintsts = *host_reg(A_GINTSTS);
  if ((gintsts & ~GINTSTS_DEFINED) != 0u) {
    problem("otg_fs_init wrote 0x%08X to GINTSTS: 1s in reserved bits 0x%08X", gintsts, gintsts & ~GINTSTS_DEFINED);
  }
  if ((gintsts & (OTG_GINT_USBRST | OTG_GINT_USBSUSP)) != (OTG_GINT_USBRST | OTG_GINT_USBSUSP)) {
    problem("otg_fs_init did not write 1 to the latched USBRST and USBSUSP (GINTSTS written 0x%08X)", gintsts);
  }
  bus_reset_with_setup_waiting();
  uint32_t diepint = *host_reg(A_DIEPINT0);
  uint32_t doepint = *host_reg(A_DOEPINT0);
  if ((diepint & ~DIEPINT_DEFINED) != 0u) {
    problem("the bus reset wrote 0x%08X to DIEPINT0: 1s in reserved bits", diepint);
  }
  if ((doepint & ~DOEPINT_ALLOWED) != 0u) {
    problem("the bus reset wrote 0x%08X to DOEPINT0: 1s in reserved bits", doepint);
  }
  if ((diepint & OTG_EPINT_XFRC) == 0u || (doepint & OTG_EPINT_XFRC) == 0u) {
    problem("the bus reset did not clear the latched XFRC flags (DIEPINT0 0x%08X, DOEPINT0 0x%08X)", diepint,
            doepint);
  }
}

/* ---- j: the bus reset keeps the RX FIFO ---- */

static void test_bus_reset_flushes_tx_only(void) {
  chip_reset();
  if (!init_ok()) {
    return;
  }
  bus_reset_with_setup_waiting();
  bool all_tx = false;
  for (uint32_t i = 0; i < model.flushes && i < FLUSH_LOG; i++) {
    if (model.flush[i] < 0) {
      problem("flush %u of the bus reset flushed the RX FIFO", i + 1u);
    } else if (model.flush[i] == 0x10) {
      all_tx = true;
    }
  }
  if (!all_tx) {
    problem("the bus reset flushed no TX FIFO with TXFNUM 0x10 (all)");
  }
  if (model.rx_entries != 1u) {
    problem("the SETUP waiting in the RX FIFO was dropped by the bus reset");
  }
  if (bus_resets != 1u) {
    problem("usbd_bus_reset called %u times, expected once", bus_resets);
  }
}

static void test_init_flushes_both(void) {
  chip_reset();
  model.rx_entries = 1u; /* left over from before the reset: nothing to keep at init */
  if (!init_ok()) {
    return;
  }
  bool rx = false;
  bool all_tx = false;
  for (uint32_t i = 0; i < model.flushes && i < FLUSH_LOG; i++) {
    rx = rx || model.flush[i] < 0;
    all_tx = all_tx || model.flush[i] == 0x10;
  }
  if (!rx || !all_tx) {
    problem("otg_fs_init flushed RX %s and all TX FIFOs %s", rx ? "yes" : "no", all_tx ? "yes" : "no");
  }
}

static void test_bus_reset_tx_flush_stuck_is_bounded(void) {
  chip_reset();
  if (!init_ok()) {
    return;
  }
  model.tx_flush_stuck = true;
  host_regs_clear_counts();
  bus_reset_with_setup_waiting(); /* returns: every wait is bounded */
  if (bus_resets != 1u) {
    problem("usbd_bus_reset called %u times after a stuck TX flush, expected once", bus_resets);
  }
  if (model.rx_entries != 1u) {
    problem("the SETUP waiting in the RX FIFO was dropped");
  }
  if (host_reg_accesses(HOST_OTG_FS) > 2000000u) {
    problem("%u OTG_FS accesses for one bus reset", host_reg_accesses(HOST_OTG_FS));
  }
}

int main(void) {
  run("otg_fs: DCFG keeps its reserved bits (reset 0x02200000) through init, SET_ADDRESS and bus reset",
      test_dcfg_keeps_reserved_bits);
  run("otg_fs: GRSTCTL keeps its reserved bit 29 (reset 0x20000000) through core reset and FIFO flushes",
      test_grstctl_keeps_reserved_bit);
  run("otg_fs: GINTSTS, DIEPINT0, DOEPINT0 cleared by writing back the latched flags, no 1 into reserved bits",
      test_interrupt_flags_cleared_by_writing_back);
  run("otg_fs: init flushes the RX FIFO and every TX FIFO", test_init_flushes_both);
  run("otg_fs: USB reset flushes every TX FIFO (TXFNUM 0x10) and keeps a SETUP waiting in the RX FIFO",
      test_bus_reset_flushes_tx_only);
  run("otg_fs: USB reset with a TX flush that never completes: bounded, reported, RX FIFO kept",
      test_bus_reset_tx_flush_stuck_is_bounded);
  return finish();
}
