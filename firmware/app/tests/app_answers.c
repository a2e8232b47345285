/*
 * app_answers.c — the example application's USB device (app/usb_runtime.c, built for the
 * host as it is) answering a script of control transfers, so another implementation of the
 * same device (the virtual board's application model) can be compared with it request by
 * request.
 *
 * Input, one line each: "reset" (a USB bus reset), or a SETUP packet as 16 hex digits, as on
 * the wire. Output: first "uid <24 hex digits>" (the unique id the HAL reports), then one
 * line per input line: "reset", "send <hex>", "ack", "stall" or "none" (no answer; a
 * protocol violation), followed by " detach" when that transfer's status stage made the
 * application ask for the bootloader. Exit status 2 on malformed input.
 *
 *   printf '8006000100004000\n' | app_answers
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "bootloader.h"
#include "hal.h"
#include "recording_hal.h"
#include "usb_check.h"


static bool parse_setup(const char *text, uint8_t setup[8]) {
  for (unsigned i = 0; i < 8u; i++) {
    int high = hex_value(text[2u * i]);
    int low = high < 0 ? -1 : hex_value(text[2u * i + 1u]);
    if (high < 0 || low < 0) return false;
    setup[i] = (uint8_t)(high << 4 | low);
  }
  return text[16] == '\0';
}

int main(void) {
  char line[64];
  unsigned line_number = 0;
  printf("uid ");
  for (unsigned i = 0; i < sizeof test_uid; i++) printf("%02x", test_uid[i]);
  printf("\n");
  app_usb_init();
  usbd_bus_reset();
  bool detach_seen = false;
  while (fgets(line, sizeof line, stdin) != NULL) {
    line_number++;
    line[strcspn(line, "\r\n")] = '\0';
    if (strcmp(line, "reset") == 0) {
      usbd_bus_reset();
      printf("reset\n");
      continue;
    }
    uint8_t setup[8];
    if (!parse_setup(line, setup)) {
      fprintf(stderr, "app_answers: line %u: \"%s\" is neither \"reset\" nor a SETUP packet of 16 hex digits\n",
              line_number, line);
      return 2;
    }
    memset(&ep0, 0, sizeof ep0);
    usbd_setup(setup);
    const uint16_t length = (uint16_t)(setup[6] | (setup[7] << 8));
    if (ep0.answers != 1u || ep0.answer == ANSWER_RECEIVE || (ep0.answer == ANSWER_SEND && ep0.sent_length > length)) {
      printf("none");
    } else if (ep0.answer == ANSWER_SEND) {
      printf("send ");
      for (uint16_t i = 0; i < ep0.sent_length; i++) printf("%02x", ep0.sent[i]);
    } else {
      printf(ep0.answer == ANSWER_ACK ? "ack" : "stall");
    }
    /* A transfer that was answered completes its status stage (USB 2.0 §8.5.3). */
    if (ep0.answer == ANSWER_SEND || ep0.answer == ANSWER_ACK) usbd_ep0_transfer_complete();
    if (!detach_seen && app_usb_detach_requested()) {
      detach_seen = true;
      printf(" detach");
    }
    printf("\n");
  }
  return 0;
}
