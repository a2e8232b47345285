/*
 * stm32f4_regs.h — the STM32F4 and Cortex-M4 registers this port touches, defined here
 * from the reference manuals (RM0383 for the F411, RM0090 for the F405, PM0214 for the
 * Cortex-M4 core). Only what the port uses; every block's layout is checked with
 * _Static_assert against the manual's offsets.
 */
#ifndef STM32DFU_STM32F4_REGS_H
#define STM32DFU_STM32F4_REGS_H

#include <stddef.h>
#include <stdint.h>

#define REG32 volatile uint32_t

/*
 * Where a register block is. On the chip, the manual's address as it is. The port's host
 * tests (tests/run.sh) compile the drivers for the host with tests/host_regs.h force-included,
 * which defines STM32F4_REG_BLOCK to map each address onto a RAM stand-in (and counts the
 * accesses), and STM32F4_DSB as a compiler barrier. Nothing else may define either: the
 * chip build's expansion below is the plain cast the drivers always used.
 */
#ifndef STM32F4_REG_BLOCK
#define STM32F4_REG_BLOCK(type, address) ((type *)(address))
#endif
/* Data synchronization barrier (PM0214 §3.11.4 DSB): earlier stores complete first. */
#ifndef STM32F4_DSB
#define STM32F4_DSB() __asm__ volatile("dsb" ::: "memory")
#endif

/* ---- RCC (RM0383 §6.3, RM0090 §7.3; the registers used here sit at the same offsets) ---- */
typedef struct {
  REG32 CR;         /* 0x00 */
  REG32 PLLCFGR;    /* 0x04 */
  REG32 CFGR;       /* 0x08 */
  REG32 CIR;        /* 0x0C */
  REG32 AHB1RSTR;   /* 0x10 */
  REG32 AHB2RSTR;   /* 0x14 */
  REG32 reserved0[2];
  REG32 APB1RSTR;   /* 0x20 */
  REG32 APB2RSTR;   /* 0x24 */
  REG32 reserved1[2];
  REG32 AHB1ENR;    /* 0x30 */
  REG32 AHB2ENR;    /* 0x34 */
  REG32 reserved2[2];
  REG32 APB1ENR;    /* 0x40 */
  REG32 APB2ENR;    /* 0x44 */
} rcc_regs_t;
_Static_assert(offsetof(rcc_regs_t, AHB2RSTR) == 0x14, "RCC_AHB2RSTR");
_Static_assert(offsetof(rcc_regs_t, APB2RSTR) == 0x24, "RCC_APB2RSTR");
_Static_assert(offsetof(rcc_regs_t, AHB1ENR) == 0x30, "RCC_AHB1ENR");
_Static_assert(offsetof(rcc_regs_t, APB2ENR) == 0x44, "RCC_APB2ENR");
#define RCC STM32F4_REG_BLOCK(rcc_regs_t, 0x40023800u)

#define RCC_CR_HSION (1u << 0)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_HSEBYP (1u << 18)
#define RCC_CR_CSSON (1u << 19)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_CR_RESET 0x00000083u       /* HSION | HSIRDY | HSITRIM = 16 */
#define RCC_PLLCFGR_RESET 0x24003010u  /* RM0383 §6.3.2 reset value */
#define RCC_PLLCFGR_SRC_HSE (1u << 22)
#define RCC_CFGR_SW_MASK 0x3u
#define RCC_CFGR_SW_HSI 0x0u
#define RCC_CFGR_SW_PLL 0x2u
#define RCC_CFGR_SWS_MASK (0x3u << 2)
#define RCC_CFGR_SWS_HSI (0x0u << 2)
#define RCC_CFGR_SWS_PLL (0x2u << 2)
#define RCC_CFGR_PPRE1_DIV2 (0x4u << 10)
#define RCC_CIR_CLEAR_ALL 0x00BF0000u  /* CSSC and every xxxRDYC (RM0383 §6.3.4) */
#define RCC_AHB1ENR_GPIOAEN (1u << 0)
#define RCC_AHB2_OTGFS (1u << 7)       /* same bit in AHB2RSTR and AHB2ENR */
#define RCC_APB1_PWR (1u << 28)       /* same bit in APB1RSTR and APB1ENR */
#define RCC_APB1ENR_PWREN RCC_APB1_PWR
#define RCC_APB2_USART1 (1u << 4)      /* same bit in APB2RSTR and APB2ENR */
#define RCC_AHB1_CRC (1u << 12)        /* CRCRST / CRCEN, same bit in AHB1RSTR and AHB1ENR */

/* ---- CRC calculation unit (RM0383 §4.4, RM0090 §4.4) ---- */
typedef struct {
  REG32 DR;  /* 0x00: write a word to feed it, read the result */
  REG32 IDR; /* 0x04: 8-bit scratch, unused */
  REG32 CR;  /* 0x08: bit 0 RESET */
} crc_regs_t;
_Static_assert(offsetof(crc_regs_t, CR) == 0x08, "CRC_CR");
#define CRC_UNIT STM32F4_REG_BLOCK(crc_regs_t, 0x40023000u)
#define CRC_CR_RESET (1u << 0)

/* ---- PWR (RM0383 §5.4): voltage scale 1 for HCLK above 84 MHz ---- */
typedef struct {
  REG32 CR;   /* 0x00 */
  REG32 CSR;  /* 0x04 */
} pwr_regs_t;
#define PWR STM32F4_REG_BLOCK(pwr_regs_t, 0x40007000u)
#define PWR_CR_VOS_MASK (0x3u << 14)
#define PWR_CR_VOS_SCALE1 (0x3u << 14)
#define PWR_CSR_VOSRDY (1u << 14)      /* RM0383 §5.4 PWR_CSR */

/* ---- Embedded flash interface (RM0383 §3.8, RM0090 §3.9) ---- */
typedef struct {
  REG32 ACR;      /* 0x00 */
  REG32 KEYR;     /* 0x04 */
  REG32 OPTKEYR;  /* 0x08 */
  REG32 SR;       /* 0x0C */
  REG32 CR;       /* 0x10 */
  REG32 OPTCR;    /* 0x14 */
} flash_regs_t;
_Static_assert(offsetof(flash_regs_t, SR) == 0x0C, "FLASH_SR");
_Static_assert(offsetof(flash_regs_t, CR) == 0x10, "FLASH_CR");
#define FLASH_IF STM32F4_REG_BLOCK(flash_regs_t, 0x40023C00u)

#define FLASH_ACR_LATENCY_MASK 0xFu
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)
#define FLASH_ACR_ICRST (1u << 11)
#define FLASH_ACR_DCRST (1u << 12)
#define FLASH_KEY1 0x45670123u
#define FLASH_KEY2 0xCDEF89ABu
#define FLASH_SR_EOP (1u << 0)
#define FLASH_SR_OPERR (1u << 1)
#define FLASH_SR_WRPERR (1u << 4)
#define FLASH_SR_PGAERR (1u << 5)
#define FLASH_SR_PGPERR (1u << 6)
#define FLASH_SR_PGSERR (1u << 7)
#define FLASH_SR_RDERR (1u << 8)
#define FLASH_SR_BSY (1u << 16)
#define FLASH_SR_ERRORS                                                                   \
  (FLASH_SR_OPERR | FLASH_SR_WRPERR | FLASH_SR_PGAERR | FLASH_SR_PGPERR | FLASH_SR_PGSERR | \
   FLASH_SR_RDERR)
#define FLASH_CR_PG (1u << 0)
#define FLASH_CR_SER (1u << 1)
#define FLASH_CR_SNB_SHIFT 3u
#define FLASH_CR_SNB_MASK (0xFu << 3)
#define FLASH_CR_PSIZE_X8 (0x0u << 8)   /* byte parallelism: any supply voltage (§3.5.2) */
#define FLASH_CR_PSIZE_X32 (0x2u << 8)
#define FLASH_CR_PSIZE_MASK (0x3u << 8)
#define FLASH_CR_STRT (1u << 16)
#define FLASH_CR_LOCK (1u << 31)
#define FLASH_OPTKEY1 0x08192A3Bu         /* FLASH_OPTKEYR (RM0383 §3.8.3) */
#define FLASH_OPTKEY2 0x4C5D6E7Fu
/* FLASH_OPTCR (RM0383 §3.8.6; the option bytes themselves in §3.6). Reset value 0x0FFFAAED:
 * OPTLOCK set, RDP 0xAA (level 0), nWRP all 1 (no sector write-protected). */
#define FLASH_OPTCR_OPTLOCK (1u << 0)
#define FLASH_OPTCR_OPTSTRT (1u << 1)
#define FLASH_OPTCR_RDP_SHIFT 8u
#define FLASH_OPTCR_RDP_MASK (0xFFu << 8)
#define FLASH_OPTCR_NWRP_SHIFT 16u         /* nWRPi: bit 16 + i, 0 = sector i write-protected */
#define FLASH_OPTCR_SPRMOD (1u << 31)      /* 1: nWRP bits select PCROP instead (§3.6, PCROP) */
#define FLASH_RDP_LEVEL0 0xAAu
#define FLASH_RDP_LEVEL2 0xCCu             /* permanent: never written by this port */

/* ---- One-time-programmable area (RM0383 §3.7): 16 blocks of 32 bytes, then one lock
 * byte per block (0xFF open, 0x00 locked); programmed like flash, never erased. Memory,
 * not registers: the host tests map RAM at these addresses. ---- */
#define OTP_AREA_BASE 0x1FFF7800u
#define OTP_AREA_SIZE 512u
#define OTP_BLOCK_SIZE 32u
#define OTP_LOCK_BASE 0x1FFF7A00u

/* ---- Independent watchdog (RM0383 §15.4, RM0090 §21.4); keys and fields in iwdg_plan.h ---- */
typedef struct {
  REG32 KR;   /* 0x00: write-only keys */
  REG32 PR;   /* 0x04: prescaler code, 3 bits */
  REG32 RLR;  /* 0x08: reload, 12 bits */
  REG32 SR;   /* 0x0C: PVU, RVU */
} iwdg_regs_t;
_Static_assert(offsetof(iwdg_regs_t, SR) == 0x0C, "IWDG_SR");
#define IWDG STM32F4_REG_BLOCK(iwdg_regs_t, 0x40003000u)

/* ---- GPIO (RM0383 §8.4) ---- */
typedef struct {
  REG32 MODER;    /* 0x00 */
  REG32 OTYPER;   /* 0x04 */
  REG32 OSPEEDR;  /* 0x08 */
  REG32 PUPDR;    /* 0x0C */
  REG32 IDR;      /* 0x10 */
  REG32 ODR;      /* 0x14 */
  REG32 BSRR;     /* 0x18 */
  REG32 LCKR;     /* 0x1C */
  REG32 AFR[2];   /* 0x20, 0x24 */
} gpio_regs_t;
_Static_assert(offsetof(gpio_regs_t, BSRR) == 0x18, "GPIO_BSRR");
_Static_assert(offsetof(gpio_regs_t, AFR) == 0x20, "GPIO_AFRL");
#define GPIO_PORT(index) STM32F4_REG_BLOCK(gpio_regs_t, 0x40020000u + 0x400u * (uint32_t)(index))

/* ---- USART (RM0383 §19.6) ---- */
typedef struct {
  REG32 SR;   /* 0x00 */
  REG32 DR;   /* 0x04 */
  REG32 BRR;  /* 0x08 */
  REG32 CR1;  /* 0x0C */
  REG32 CR2;  /* 0x10 */
  REG32 CR3;  /* 0x14 */
} usart_regs_t;
_Static_assert(offsetof(usart_regs_t, CR1) == 0x0C, "USART_CR1");
#define USART1 STM32F4_REG_BLOCK(usart_regs_t, 0x40011000u)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TC (1u << 6)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_UE (1u << 13)

/* ---- Cortex-M4 system control block, SysTick, NVIC (PM0214 §4) ---- */
typedef struct {
  REG32 CPUID;  /* 0x00 */
  REG32 ICSR;   /* 0x04 */
  REG32 VTOR;   /* 0x08 */
  REG32 AIRCR;  /* 0x0C */
  REG32 SCR;    /* 0x10 */
  REG32 CCR;    /* 0x14 */
  REG32 SHPR[3];
  REG32 SHCSR;  /* 0x24 */
} scb_regs_t;
_Static_assert(offsetof(scb_regs_t, SHCSR) == 0x24, "SCB_SHCSR");
#define SCB STM32F4_REG_BLOCK(scb_regs_t, 0xE000ED00u)
#define SCB_ICSR_PENDSTCLR (1u << 25)
#define SCB_ICSR_PENDSVCLR (1u << 27)
#define SCB_AIRCR_SYSRESETREQ 0x05FA0004u /* VECTKEY | SYSRESETREQ (PM0214 §4.4.4) */

typedef struct {
  REG32 CTRL;   /* 0x00 */
  REG32 LOAD;   /* 0x04 */
  REG32 VAL;    /* 0x08 */
  REG32 CALIB;  /* 0x0C */
} systick_regs_t;
#define SYSTICK STM32F4_REG_BLOCK(systick_regs_t, 0xE000E010u)
#define SYSTICK_CTRL_ENABLE (1u << 0)
#define SYSTICK_CTRL_TICKINT (1u << 1)
#define SYSTICK_CTRL_CLKSOURCE (1u << 2) /* processor clock */
#define SYSTICK_CTRL_COUNTFLAG (1u << 16)

typedef struct {
  REG32 ISER[8];  /* 0x000 */
  REG32 reserved0[24];
  REG32 ICER[8];  /* 0x080 */
  REG32 reserved1[24];
  REG32 ISPR[8];  /* 0x100 */
  REG32 reserved2[24];
  REG32 ICPR[8];  /* 0x180 */
} nvic_regs_t;
_Static_assert(offsetof(nvic_regs_t, ICER) == 0x80, "NVIC_ICER");
_Static_assert(offsetof(nvic_regs_t, ICPR) == 0x180, "NVIC_ICPR");
#define NVIC STM32F4_REG_BLOCK(nvic_regs_t, 0xE000E100u)

/* ---- USB OTG_FS (RM0383 ch. 22 "OTG_FS control and status registers", RM0090 §34.16) ---- */
typedef struct {
  REG32 GOTGCTL;   /* 0x000 */
  REG32 GOTGINT;   /* 0x004 */
  REG32 GAHBCFG;   /* 0x008 */
  REG32 GUSBCFG;   /* 0x00C */
  REG32 GRSTCTL;   /* 0x010 */
  REG32 GINTSTS;   /* 0x014 */
  REG32 GINTMSK;   /* 0x018 */
  REG32 GRXSTSR;   /* 0x01C */
  REG32 GRXSTSP;   /* 0x020 */
  REG32 GRXFSIZ;   /* 0x024 */
  REG32 DIEPTXF0;  /* 0x028 */
  REG32 HNPTXSTS;  /* 0x02C */
  REG32 reserved0[2];
  REG32 GCCFG;     /* 0x038 */
  REG32 CID;       /* 0x03C */
} otg_global_regs_t;
_Static_assert(offsetof(otg_global_regs_t, GRXFSIZ) == 0x24, "OTG_FS_GRXFSIZ");
_Static_assert(offsetof(otg_global_regs_t, GCCFG) == 0x38, "OTG_FS_GCCFG");

typedef struct {
  REG32 DCFG;      /* 0x800 */
  REG32 DCTL;      /* 0x804 */
  REG32 DSTS;      /* 0x808 */
  REG32 reserved0;
  REG32 DIEPMSK;   /* 0x810 */
  REG32 DOEPMSK;   /* 0x814 */
  REG32 DAINT;     /* 0x818 */
  REG32 DAINTMSK;  /* 0x81C */
} otg_device_regs_t;
_Static_assert(offsetof(otg_device_regs_t, DAINTMSK) == 0x1C, "OTG_FS_DAINTMSK");

typedef struct {
  REG32 CTL;       /* +0x00 DIEPCTLx / DOEPCTLx */
  REG32 reserved0;
  REG32 INT;       /* +0x08 DIEPINTx / DOEPINTx */
  REG32 reserved1;
  REG32 TSIZ;      /* +0x10 DIEPTSIZx / DOEPTSIZx */
  REG32 reserved2;
  REG32 TXFSTS;    /* +0x18 DTXFSTSx (IN only) */
  REG32 reserved3;
} otg_endpoint_regs_t;
_Static_assert(sizeof(otg_endpoint_regs_t) == 0x20, "OTG_FS endpoint stride");

#define OTG_FS_BASE 0x50000000u
#define OTG_GLOBAL STM32F4_REG_BLOCK(otg_global_regs_t, OTG_FS_BASE)
#define OTG_DEVICE STM32F4_REG_BLOCK(otg_device_regs_t, OTG_FS_BASE + 0x800u)
#define OTG_IN_EP(n) STM32F4_REG_BLOCK(otg_endpoint_regs_t, OTG_FS_BASE + 0x900u + 0x20u * (n))
#define OTG_OUT_EP(n) STM32F4_REG_BLOCK(otg_endpoint_regs_t, OTG_FS_BASE + 0xB00u + 0x20u * (n))
#define OTG_PCGCCTL (*STM32F4_REG_BLOCK(REG32, OTG_FS_BASE + 0xE00u))
#define OTG_FIFO(n) (*STM32F4_REG_BLOCK(REG32, OTG_FS_BASE + 0x1000u + 0x1000u * (n)))

#define OTG_GUSBCFG_PHYSEL (1u << 6)
#define OTG_GUSBCFG_TRDT(v) ((uint32_t)(v) << 10)
#define OTG_GUSBCFG_FDMOD (1u << 30)
#define OTG_GRSTCTL_CSRST (1u << 0)
#define OTG_GRSTCTL_HSRST (1u << 1)
#define OTG_GRSTCTL_FCRST (1u << 2)
#define OTG_GRSTCTL_RXFFLSH (1u << 4)
#define OTG_GRSTCTL_TXFFLSH (1u << 5)
#define OTG_GRSTCTL_TXFNUM_SHIFT 6u
#define OTG_GRSTCTL_TXFNUM_MASK (0x1Fu << 6)
#define OTG_GRSTCTL_AHBIDL (1u << 31)
#define OTG_GINT_CMOD (1u << 0)         /* 0: device mode */
#define OTG_GINT_RXFLVL (1u << 4)
#define OTG_GINT_USBSUSP (1u << 11)
#define OTG_GINT_USBRST (1u << 12)
#define OTG_GINT_ENUMDNE (1u << 13)
#define OTG_GINT_IEPINT (1u << 18)
#define OTG_GINT_OEPINT (1u << 19)
#define OTG_GINT_WKUINT (1u << 31)
#define OTG_GRXSTS_EPNUM(v) ((v) & 0xFu)
#define OTG_GRXSTS_BCNT(v) (((v) >> 4) & 0x7FFu)
#define OTG_GRXSTS_PKTSTS(v) (((v) >> 17) & 0xFu)
#define OTG_PKTSTS_GLOBAL_OUT_NAK 1u
#define OTG_PKTSTS_OUT_DATA 2u      /* BCNT bytes follow */
#define OTG_PKTSTS_OUT_COMPLETE 3u  /* no data; raises DOEPINT.XFRC when popped */
#define OTG_PKTSTS_SETUP_DONE 4u    /* no data; raises DOEPINT.STUP when popped */
#define OTG_PKTSTS_SETUP_DATA 6u    /* 8 bytes follow */
#define OTG_GCCFG_PWRDWN (1u << 16)
#define OTG_GCCFG_VBUSBSEN (1u << 19)
#define OTG_GCCFG_NOVBUSSENS (1u << 21)
#define OTG_DCFG_DSPD_MASK 0x3u
#define OTG_DCFG_DSPD_FULL 0x3u
#define OTG_DCFG_NZLSOHSK (1u << 2)
#define OTG_DCFG_DAD_SHIFT 4u
#define OTG_DCFG_DAD_MASK (0x7Fu << 4)
#define OTG_DCFG_PFIVL_MASK (0x3u << 11)
#define OTG_DCTL_SDIS (1u << 1)
#define OTG_DCTL_CGINAK (1u << 8)
#define OTG_EPCTL_STALL (1u << 21)
#define OTG_EPCTL_CNAK (1u << 26)
#define OTG_EPCTL_SNAK (1u << 27)
#define OTG_EPCTL_EPDIS (1u << 30)
#define OTG_EPCTL_EPENA (1u << 31)
#define OTG_EP0CTL_MPSIZ_64 0x0u
#define OTG_EPINT_XFRC (1u << 0)
#define OTG_EPINT_EPDISD (1u << 1)
#define OTG_EPINT_STUP (1u << 3)
#define OTG_DIEPINT_INEPNE (1u << 6)
#define OTG_EP0TSIZ_PKTCNT1 (1u << 19)
#define OTG_DIEPTSIZ0_PKTCNT_MASK (0x3u << 19)
#define OTG_DOEPTSIZ0_STUPCNT3 (3u << 29)

#endif /* STM32DFU_STM32F4_REGS_H */
