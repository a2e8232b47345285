/*
 * uart.c — USART1 console on PA9 (TX) / PA10 (RX), 8N1 (RM0383 §19.3.2 "character
 * transmission", registers in §19.6 USART_SR/DR/BRR/CR1). Output only; RX is
 * enabled with a pull-up on PA10 because a floating PA10 disturbs ST's ROM DFU on Black Pills.
 */
#include "port.h"
#include "stm32f4_regs.h"

/* Polls of TXE/TC per character; 115200 baud is ~87 µs per byte, far less than this. */
#define UART_WAIT_POLLS 200000u

static bool uart_ready;

static bool uart_wait(uint32_t flag);

static void uart_pin_af7(uint32_t pin) {
  /* GPIOx_MODER alternate function, GPIOx_AFRH AF7 = USART1 on PA9/PA10. */
  gpio_regs_t *gpio = GPIO_PORT(0);
  gpio->MODER = (gpio->MODER & ~(3u << (2u * pin))) | (2u << (2u * pin));
  gpio->AFR[pin / 8u] = (gpio->AFR[pin / 8u] & ~(0xFu << (4u * (pin % 8u)))) | (7u << (4u * (pin % 8u)));
}

void uart_init(uint32_t pclk_hz) {
#if STM32DFU_HAS_UART
  uart_flush(); /* re-initialised after a clock change: let the last byte leave first */
  RCC->AHB1ENR |= RCC_AHB1ENR_GPIOAEN; /* RM0383 §6.3 RCC_AHB1ENR, RCC_APB2ENR */
  RCC->APB2ENR |= RCC_APB2_USART1;
  (void)RCC->APB2ENR;
  uart_pin_af7(9u);
  uart_pin_af7(10u);
  gpio_regs_t *gpio = GPIO_PORT(0);
  gpio->PUPDR = (gpio->PUPDR & ~(3u << 20)) | (1u << 20); /* GPIOx_PUPDR: PA10 pull-up */
  /* Oversampling by 16: BRR = f_pclk / baud, mantissa and 4-bit fraction together. */
  USART1->BRR = (pclk_hz + STM32DFU_UART_BAUD / 2u) / STM32DFU_UART_BAUD;
  USART1->CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE; /* §19.6 USART_CR1: 8N1 */
  uart_ready = true;
#else
  (void)pclk_hz;
#endif
}

static bool uart_wait(uint32_t flag) {
  for (uint32_t polls = 0; polls < UART_WAIT_POLLS; polls++) {
    if ((USART1->SR & flag) != 0u) {
      return true;
    }
    watchdog_refresh();
  }
  return false;
}

void uart_write(const char *text) {
  if (!uart_ready) {
    return;
  }
  for (; *text != '\0'; text++) {
    if (!uart_wait(USART_SR_TXE)) {
      uart_ready = false; /* a stuck USART must not stall the boot */
      return;
    }
    USART1->DR = (uint8_t)*text; /* §19.6 USART_DR, after USART_SR.TXE */
  }
}

void uart_write_hex32(uint32_t value) {
  char digits[11] = "0x00000000";
  for (uint32_t i = 0; i < 8u; i++) {
    uint32_t nibble = (value >> (28u - 4u * i)) & 0xFu;
    digits[2u + i] = (char)(nibble < 10u ? '0' + nibble : 'a' + nibble - 10u);
  }
  uart_write(digits);
}

void uart_write_decimal(uint32_t value) {
  char digits[11];
  uint32_t at = sizeof digits - 1u;
  digits[at] = '\0';
  do {
    digits[--at] = (char)('0' + value % 10u);
    value /= 10u;
  } while (value != 0u);
  uart_write(&digits[at]);
}

void uart_flush(void) {
  if (uart_ready) {
    (void)uart_wait(USART_SR_TC);
  }
}

void uart_deinit(void) {
#if STM32DFU_HAS_UART
  uart_flush();
  /* RM0383 §6.3 RCC_APB2RSTR pulse and RCC_APB2ENR gate: USART1 as after reset. */
  RCC->APB2RSTR |= RCC_APB2_USART1;
  RCC->APB2RSTR &= ~RCC_APB2_USART1;
  RCC->APB2ENR &= ~RCC_APB2_USART1;
  uart_ready = false;
#endif
}
