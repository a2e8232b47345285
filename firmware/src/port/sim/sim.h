/*
 * sim.h — the host HAL for unit tests: a RAM flash with the board's geometry and NOR
 * semantics, power-cut injection, a recorded EP0, and settable clock, button, UID and
 * boot-request word. Host-only (uses setjmp); never built for a target.
 */
#ifndef STM32DFU_SIM_H
#define STM32DFU_SIM_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

#include "hal.h"
#include "stm32dfu_layout.h"

typedef enum {
  SIM_EP0_NONE = 0,
  SIM_EP0_SEND,
  SIM_EP0_RECEIVE,
  SIM_EP0_ACK,
  SIM_EP0_STALL,
} sim_ep0_answer_t;

typedef struct {
  /* Flash: offset = address - STM32DFU_FLASH_BASE. */
  uint8_t flash[STM32DFU_FLASH_SIZE];
  uint32_t flash_ops;          /* erases + programmed words since sim_reset */
  uint32_t flash_calls;        /* completed hal_flash_erase_sector / _program calls: slices */
  uint32_t erases, programmed_words;
  uint32_t power_cut_at;       /* 0: never; else the operation with this number is torn */
  uint32_t power_cut_after_call; /* 0: never; else power drops as this call (slice) returns */
  jmp_buf *power_cut_jump;     /* where a power cut returns to (longjmp value 1) */
  bool powered;
  bool write_protected[STM32DFU_SECTOR_COUNT];
  uint32_t stuck_word_address; /* 0: none; else bit 0 of this word never clears, silently */
  uint32_t last_program_address;

  /* OTP (STM32DFU_OTP_SIZE bytes): erased 0xFF, programming clears bits, nothing sets them.
   * Each programmed byte counts as one flash operation (power cuts included). */
  uint8_t otp[STM32DFU_OTP_SIZE];
  uint32_t otp_programs;

  /* EP0: what the core answered to the current SETUP. */
  sim_ep0_answer_t answer;
  uint32_t answers;            /* answers to the current SETUP; exactly 1 is correct */
  uint8_t sent[4096];
  uint16_t sent_length;
  uint8_t *receive_buffer;
  uint16_t receive_length;
  uint8_t address;
  bool connected;
  uint32_t connect_calls, disconnect_calls;

  /* CRC: hal_crc_stm32 runs crc_unit.c, software unless a test selected a fake unit with
   * crc_unit_select; hal_crc_words_per_ms reports this rate (sim_reset: the F411's unit at
   * 96 MHz). CRC work takes no simulated time. */
  uint32_t crc_words_per_ms;
  uint32_t crc_calls;

  /* Time and the rest of the board. */
  uint64_t micros;             /* advanced by flash operations at datasheet typ times */
  bool button;
  uint32_t request_magic, request_check;
  uint8_t uid[12];
  hal_led_pattern_t led;

  /* Leaving. */
  uint32_t resets, jumps;
  uint32_t jump_address;
} sim_t;

extern sim_t sim;

/* Erased flash, everything else back to power-on defaults. */
void sim_reset(void);
/* Put bytes into flash directly (no NOR rules, not counted). */
void sim_flash_load(uint32_t address, const uint8_t *data, uint32_t length);
uint8_t *sim_flash_at(uint32_t address);
void sim_set_millis(uint32_t ms);

/* One whole control transfer as a host would do it. `data` is the IN buffer (at least
 * wLength) or the OUT payload. Returns false if the core stalled; *length gets the IN
 * bytes. Each records a protocol violation in sim_ep0_violations when the core answers a
 * stage not exactly once. */
bool sim_control_in(uint8_t bmRequestType, uint8_t bRequest, uint16_t wValue, uint16_t wIndex,
                    uint16_t wLength, uint8_t *data, uint16_t *length);
bool sim_control_out(uint8_t bmRequestType, uint8_t bRequest, uint16_t wValue, uint16_t wIndex,
                     const uint8_t *data, uint16_t wLength);
extern uint32_t sim_ep0_violations;

/* The port's main loop with time standing still: bl_poll while the core has work that
 * makes progress (flash slices, commands, state changes); bounded. */
void sim_run(void);
/* The host sleeps `ms` while the main loop runs: bl_poll back to back (flash operations
 * advance the clock) until the time is up or nothing is left to do, then the rest of the
 * sleep passes. */
void sim_sleep(uint32_t ms);

#endif /* STM32DFU_SIM_H */
