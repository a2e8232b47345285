/* recording_hal.c — see recording_hal.h. */
#include "recording_hal.h"

#include <string.h>

#include "hal.h"
#include "usb_check.h"

ep0_record_t ep0;
const uint8_t test_uid[12] = TEST_UNIQUE_ID_BYTES;

void hal_usb_ep0_send(const uint8_t *data, uint16_t length) {
  ep0.answer = ANSWER_SEND;
  ep0.answers++;
  ep0.sent_length = length <= sizeof ep0.sent ? length : (uint16_t)sizeof ep0.sent;
  memcpy(ep0.sent, data, ep0.sent_length);
}
void hal_usb_ep0_receive(uint8_t *buffer, uint16_t length) {
  (void)buffer;
  (void)length;
  ep0.answer = ANSWER_RECEIVE;
  ep0.answers++;
}
void hal_usb_ep0_ack(void) {
  ep0.answer = ANSWER_ACK;
  ep0.answers++;
}
void hal_usb_ep0_stall(void) {
  ep0.answer = ANSWER_STALL;
  ep0.answers++;
}
void hal_usb_set_address(uint8_t address) { ep0.address = address; }
void hal_unique_id(uint8_t out[12]) { memcpy(out, test_uid, sizeof test_uid); }
