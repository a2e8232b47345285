/*
 * dfu_host.h — what a DFU host (dfu-util, the TypeScript protocol) does, in terms of whole
 * control transfers against the core over the simulated EP0. Test helpers only.
 */
#ifndef STM32DFU_DFU_HOST_H
#define STM32DFU_DFU_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "bootloader.h"
#include "sim.h"

/* DFU 1.1 numbers as the spec names them. */
enum { DETACH = 0, DNLOAD = 1, UPLOAD = 2, GETSTATUS = 3, CLRSTATUS = 4, GETSTATE = 5, ABORT = 6 };
enum {
  S_dfuIDLE = 2,
  S_dfuDNLOAD_SYNC = 3,
  S_dfuDNBUSY = 4,
  S_dfuDNLOAD_IDLE = 5,
  S_dfuMANIFEST_SYNC = 6,
  S_dfuMANIFEST = 7,
  S_dfuMANIFEST_WAIT_RESET = 8,
  S_dfuUPLOAD_IDLE = 9,
  S_dfuERROR = 10,
};
enum {
  ST_OK = 0,
  ST_errTARGET = 1,
  ST_errWRITE = 3,
  ST_errERASE = 4,
  ST_errCHECK_ERASED = 5,
  ST_errPROG = 6,
  ST_errVERIFY = 7,
  ST_errADDRESS = 8,
  ST_errUNKNOWN = 14,
  ST_errFIRMWARE = 10,
  ST_errSTALLEDPKT = 15,
};

typedef struct {
  uint8_t status;
  uint32_t poll_ms;
  uint8_t state;
} dfu_status_t;

/* sim_reset + bl_init + bus reset, SET_ADDRESS, SET_CONFIGURATION 1, SET_INTERFACE alt. */
void host_attach(const bl_profile_t *profile, uint8_t alt);

bool host_getstatus(dfu_status_t *out);
bool host_dnload(uint16_t block, const uint8_t *data, uint16_t length);
bool host_upload(uint16_t block, uint16_t length, uint8_t *out, uint16_t *got);
bool host_request_out(uint8_t request, uint16_t value);

/* A DfuSe command or data block the way dfu-util runs it: DNLOAD, GETSTATUS, and while it
 * says dfuDNBUSY: sleep bwPollTimeout (the device's main loop runs meanwhile), GETSTATUS
 * again. Returns the final status; *first gets the first GETSTATUS answer when not NULL.
 * A pipelined data block usually ends in dfuDNLOAD-IDLE at once, still queued. */
dfu_status_t host_command(const uint8_t *command, uint16_t length, dfu_status_t *first);
dfu_status_t host_set_address(uint32_t address);
dfu_status_t host_erase(uint32_t address);
dfu_status_t host_mass_erase(void);
dfu_status_t host_write(uint16_t block, const uint8_t *data, uint16_t length, dfu_status_t *first);
/* Whole download of `image` at `address` (erase each touched sector, set address, write
 * blocks), then zero-length DNLOAD and GETSTATUS until manifestation is over. Returns the
 * last status. */
dfu_status_t host_download(uint32_t address, const uint8_t *image, uint32_t length);
dfu_status_t host_manifest(void);

/* UPLOAD block 1 from dfuIDLE (ABORT first): the CRC result and the last flash failure. */
typedef struct {
  uint32_t crc_address, crc_length, crc;
  uint32_t failure_address;
  uint8_t failure_status;
} dfu_report_t;
bool host_report(dfu_report_t *out);

/* Builds a stamped application image (contract 4) of `length` bytes at the app base:
 * SP, reset handler, filler, stamp. */
void make_app_image(uint8_t *image, uint32_t length, uint32_t version);

#endif /* STM32DFU_DFU_HOST_H */
