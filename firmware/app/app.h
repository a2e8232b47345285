/*
 * app.h — the example application's pieces: its runtime DFU interface and the way back
 * into the bootloader (contract 5).
 */
#ifndef STM32DFU_APP_H
#define STM32DFU_APP_H

#include <stdbool.h>

/* Write the boot-request word (magic, ~magic) and reset: the bootloader stays in DFU mode. */
__attribute__((noreturn)) void app_enter_bootloader(void);

/* Runtime DFU (DFU 1.1 §4.1): reset the control layer; then poll from the main loop, which
 * carries out a DFU_DETACH once its status stage is done. */
void app_usb_init(void);
void app_usb_poll(void);

#endif /* STM32DFU_APP_H */
