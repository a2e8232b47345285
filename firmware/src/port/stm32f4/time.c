/*
 * time.c — the bootloader's millisecond tick (the example application keeps its own).
 */
#include "port.h"

static volatile uint32_t time_millis;

void SysTick_Handler(void) {
  time_millis++;
  led_tick(time_millis);
}

uint32_t hal_millis(void) {
  return time_millis;
}
