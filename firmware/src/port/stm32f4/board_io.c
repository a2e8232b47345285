/*
 * board_io.c — LED, button, unique id: the board's user interface (RM0383 GPIO registers
 * GPIOx_MODER/PUPDR/IDR/BSRR; clocks and resets in §6.3 RCC_AHB1ENR/RCC_AHB1RSTR).
 */
#include "port.h"
#include "stm32f4_regs.h"

#define LED_GPIO GPIO_PORT(STM32DFU_LED_PORT)
#define LED_MASK (1u << STM32DFU_LED_PIN)

/* Each pattern is 32 slots of 50 ms (a 1.6 s cycle), bit set = LED lit. */
#define LED_SLOT_MS 50u
static const uint32_t led_patterns[] = {
    [HAL_LED_IDLE] = 0x0000FFFFu,     /* slow blink: 0.8 s on, 0.8 s off */
    [HAL_LED_TRANSFER] = 0x55555555u, /* 10 Hz flicker while data moves */
    [HAL_LED_ERROR] = 0x00000505u,    /* two short flashes, then dark */
};
static volatile hal_led_pattern_t led_pattern = HAL_LED_IDLE;
static bool led_ready;

void led_init(void) {
  RCC->AHB1ENR |= 1u << STM32DFU_LED_PORT; /* RM0383 §6.3 RCC_AHB1ENR */
  (void)RCC->AHB1ENR; /* a read back lets the enable reach the port before its first access */
  /* GPIOx_MODER 01: general-purpose output (push-pull, low speed: reset values). */
  LED_GPIO->MODER = (LED_GPIO->MODER & ~(3u << (2u * STM32DFU_LED_PIN))) | (1u << (2u * STM32DFU_LED_PIN));
  led_ready = true;
  led_set(false);
}

void led_set(bool on) {
  if (!led_ready) {
    return;
  }
  /* GPIOx_BSRR: low half sets the pin, high half resets it, atomically. */
  bool pin_high = STM32DFU_LED_ACTIVE_LOW ? !on : on;
  LED_GPIO->BSRR = pin_high ? LED_MASK : (LED_MASK << 16);
}

void led_tick(uint32_t millis) {
  uint32_t slot = (millis / LED_SLOT_MS) % 32u;
  led_set(((led_patterns[led_pattern] >> slot) & 1u) != 0u);
}

void hal_led(hal_led_pattern_t pattern) {
  if ((uint32_t)pattern < sizeof led_patterns / sizeof led_patterns[0]) {
    led_pattern = pattern;
  }
}

bool hal_button_pressed(void) {
#if STM32DFU_HAS_BUTTON
  gpio_regs_t *gpio = GPIO_PORT(STM32DFU_BUTTON_PORT);
  RCC->AHB1ENR |= 1u << STM32DFU_BUTTON_PORT; /* RM0383 §6.3 RCC_AHB1ENR */
  (void)RCC->AHB1ENR;
  /* GPIOx_MODER 00 input, GPIOx_PUPDR pull toward the released level, then let it settle. */
  gpio->MODER &= ~(3u << (2u * STM32DFU_BUTTON_PIN));
  uint32_t pull = STM32DFU_BUTTON_ACTIVE_LOW ? 1u : 2u; /* 01 pull-up, 10 pull-down */
  gpio->PUPDR = (gpio->PUPDR & ~(3u << (2u * STM32DFU_BUTTON_PIN))) | (pull << (2u * STM32DFU_BUTTON_PIN));
  for (volatile uint32_t settle = 0; settle < 2000u; settle++) {
  }
  bool level = (gpio->IDR & (1u << STM32DFU_BUTTON_PIN)) != 0u;
  return STM32DFU_BUTTON_ACTIVE_LOW ? !level : level;
#else
  return false;
#endif
}

void hal_unique_id(uint8_t out[12]) {
  const volatile uint8_t *uid = (const volatile uint8_t *)STM32DFU_UID_ADDR;
  for (uint32_t i = 0; i < 12u; i++) {
    out[i] = uid[i];
  }
}

void gpio_reset(void) {
  /* Ports A..C are the ones the images use; pulse their reset, then gate their clocks
   * (RM0383 §6.3 RCC_AHB1RSTR, RCC_AHB1ENR). */
  const uint32_t ports = 0x7u;
  RCC->AHB1RSTR |= ports;
  RCC->AHB1RSTR &= ~ports;
  RCC->AHB1ENR &= ~ports;
  led_ready = false;
}
