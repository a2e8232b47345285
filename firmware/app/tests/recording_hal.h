/*
 * recording_hal.h — the EP0 half of hal.h for host tests of the application's USB device:
 * it records how the device answered the current SETUP (hal.h: exactly one of send,
 * receive, ack or stall) and reports TEST_UNIQUE_ID_BYTES as the chip's unique id.
 */
#ifndef RECORDING_HAL_H
#define RECORDING_HAL_H

#include <stdint.h>

typedef enum { ANSWER_NONE, ANSWER_SEND, ANSWER_ACK, ANSWER_STALL, ANSWER_RECEIVE } answer_t;

typedef struct {
  answer_t answer;
  unsigned answers; /* answers given to the current SETUP; exactly one is correct */
  uint8_t sent[1024];
  uint16_t sent_length;
  uint8_t address; /* from SET_ADDRESS */
} ep0_record_t;

extern ep0_record_t ep0;
extern const uint8_t test_uid[12];

#endif /* RECORDING_HAL_H */
