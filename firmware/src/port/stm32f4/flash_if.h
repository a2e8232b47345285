/*
 * flash_if.h — the flash interface steps flash.c implements and the port's other users of
 * FLASH_CR / FLASH_OPTCR share (otp.c, option_bytes.c): one bounded BSY wait, one key
 * sequence, one reading of FLASH_SR. Port-internal: the core sees hal.h only.
 */
#ifndef STM32DFU_FLASH_IF_H
#define STM32DFU_FLASH_IF_H

#include <stdint.h>

#include "hal.h"

/* Wait for FLASH_SR.BSY to clear (RM0383 §3.8.4): by the tick when it runs, and by a poll
 * count that cannot be shorter than `max_ms` even at one cycle per poll, for when it does
 * not. Refreshes the watchdog while it waits. HAL_ERR_TIMEOUT when the bound runs out. */
hal_status_t flash_wait_idle(uint32_t max_ms);

/* FLASH_SR error flags as a status: WRPERR → HAL_ERR_PROTECTED, PGAERR/PGPERR →
 * HAL_ERR_ALIGNMENT, any other error → HAL_ERR_SEQUENCE, none → HAL_OK. */
hal_status_t flash_status_from_sr(uint32_t sr);

/* FLASH_CR unlocked with the FLASH_KEYR sequence (RM0383 §3.5.1) and leftover FLASH_SR
 * flags cleared; HAL_ERR_SEQUENCE when CR stays locked. */
hal_status_t flash_unlock(void);

/* FLASH_CR back to LOCK with every operation bit cleared. */
void flash_lock(void);

/* The ART instruction and data caches reset (RM0383 §3.4), so reads after a program or
 * erase see the array, not a line cached before it. */
void flash_reset_caches(void);

#endif /* STM32DFU_FLASH_IF_H */
