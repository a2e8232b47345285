/*
 * app.h — the example application's pieces: its runtime DFU interface and the way back
 * into the bootloader (contract 5).
 */
#ifndef STM32DFU_APP_H
#define STM32DFU_APP_H

#include <stdbool.h>

/* Write the boot-request word (magic, ~magic) and reset: the bootloader stays in DFU mode. */
__attribute__((noreturn)) void app_enter_bootloader(void);

/* Runtime DFU (DFU 1.1 §4.1), usb_runtime.c: reset the control layer; the port's OTG_FS
 * driver then delivers the usbd_* events of bootloader.h. Once a DFU_DETACH's status stage
 * is done, app_usb_detach_requested() turns true and the main loop calls
 * app_enter_bootloader() (WillDetach: the device detaches by itself). */
void app_usb_init(void);
bool app_usb_detach_requested(void);

#endif /* STM32DFU_APP_H */
