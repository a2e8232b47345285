/** USB DFU 1.1 (§3, §6.1.2, §6.1.5) and ST DfuSe (UM0424, AN3156) numbers, named as the specs name them. */

/** Class requests (DFU 1.1 table 3.2). */
export const DFU_DETACH = 0;
/**
 * Request that sends one block of firmware to the device (wValue = block number; DfuSe block 0
 * carries a command).
 */
export const DFU_DNLOAD = 1;
/** Request that reads one block of memory from the device (wValue = block number). */
export const DFU_UPLOAD = 2;
/** Request for the 6-byte status: bStatus, bwPollTimeout, bState, iString. */
export const DFU_GETSTATUS = 3;
/** Request that takes the device out of dfuERROR back to dfuIDLE. */
export const DFU_CLRSTATUS = 4;
/** Request for bState alone, without triggering the state changes GETSTATUS does. */
export const DFU_GETSTATE = 5;
/** Request that ends a download or upload and returns the device to dfuIDLE. */
export const DFU_ABORT = 6;

/** Request names by bRequest number, for logs and error messages. */
export const DFU_REQUEST_NAMES: readonly string[] = [
  'DFU_DETACH',
  'DFU_DNLOAD',
  'DFU_UPLOAD',
  'DFU_GETSTATUS',
  'DFU_CLRSTATUS',
  'DFU_GETSTATE',
  'DFU_ABORT',
];

/** bState values (DFU 1.1 §6.1.2). */
export const appIDLE = 0;
/** The application received DFU_DETACH and waits for a USB reset to enter the bootloader. */
export const appDETACH = 1;
/** In DFU mode, waiting for requests. */
export const dfuIDLE = 2;
/** A block arrived; the device waits for GETSTATUS to start working on it. */
export const dfuDNLOAD_SYNC = 3;
/** The device is programming or erasing; the host waits bwPollTimeout before asking again. */
export const dfuDNBUSY = 4;
/**
 * The last block is done; the device expects the next DNLOAD (or the zero-length one that ends the
 * download).
 */
export const dfuDNLOAD_IDLE = 5;
/**
 * The zero-length DNLOAD arrived; the device waits for GETSTATUS to start (or report)
 * manifestation.
 */
export const dfuMANIFEST_SYNC = 6;
/** The device is manifesting: committing the new firmware. */
export const dfuMANIFEST = 7;
/**
 * Manifestation done on a device that is not manifestation tolerant; it waits for a USB reset to
 * start the firmware.
 */
export const dfuMANIFEST_WAIT_RESET = 8;
/** An upload is under way; the device expects the next UPLOAD. */
export const dfuUPLOAD_IDLE = 9;
/**
 * A request failed; bStatus says why, and the device answers nothing else useful until
 * DFU_CLRSTATUS.
 */
export const dfuERROR = 10;

/** State names by bState value, spelled as DFU 1.1 spells them (`dfuDNLOAD-IDLE`). */
export const DFU_STATE_NAMES = [
  'appIDLE',
  'appDETACH',
  'dfuIDLE',
  'dfuDNLOAD-SYNC',
  'dfuDNBUSY',
  'dfuDNLOAD-IDLE',
  'dfuMANIFEST-SYNC',
  'dfuMANIFEST',
  'dfuMANIFEST-WAIT-RESET',
  'dfuUPLOAD-IDLE',
  'dfuERROR',
] as const;

/** A state name as DFU 1.1 spells it, e.g. `dfuDNLOAD-IDLE`. */
export type DfuStateName = (typeof DFU_STATE_NAMES)[number];

/** bStatus values (DFU 1.1 §6.1.2). */
export const OK = 0;
/** The file is not for this device. */
export const errTARGET = 1;
/** The file is for this device but fails a vendor-specific check. */
export const errFILE = 2;
/** The device cannot write memory (e.g. the address is write-protected). */
export const errWRITE = 3;
/** A memory erase failed. */
export const errERASE = 4;
/** A memory erase check failed: the sector is not blank after erasing. */
export const errCHECK_ERASED = 5;
/** Programming memory failed. */
export const errPROG = 6;
/** Programmed memory does not read back as written. */
export const errVERIFY = 7;
/** The address is outside the memory the device will program. */
export const errADDRESS = 8;
/** A zero-length DNLOAD arrived but the device does not have all the data yet. */
export const errNOTDONE = 9;
/** The device's firmware is corrupt; it cannot return to the application. */
export const errFIRMWARE = 10;
/** A vendor-specific error; iString names it. */
export const errVENDOR = 11;
/** The device saw an unexpected USB reset. */
export const errUSBR = 12;
/** The device saw an unexpected power-on reset. */
export const errPOR = 13;
/** Something went wrong and the device does not know what. */
export const errUNKNOWN = 14;
/** The device stalled a request it did not expect in its state. */
export const errSTALLEDPKT = 15;

/** Status names by bStatus value, as DFU 1.1 names them. */
export const DFU_STATUS_NAMES = [
  'OK',
  'errTARGET',
  'errFILE',
  'errWRITE',
  'errERASE',
  'errCHECK_ERASED',
  'errPROG',
  'errVERIFY',
  'errADDRESS',
  'errNOTDONE',
  'errFIRMWARE',
  'errVENDOR',
  'errUSBR',
  'errPOR',
  'errUNKNOWN',
  'errSTALLEDPKT',
] as const;

/** A status name as DFU 1.1 spells it, e.g. `errVERIFY`. */
export type DfuStatusName = (typeof DFU_STATUS_NAMES)[number];

/** The spec name of a bState for messages; unknown values come back as `state N`. */
export function stateName(state: number): string {
  return DFU_STATE_NAMES[state] ?? `state ${state}`;
}

/** The spec name of a bStatus for messages; unknown values come back as `status N`. */
export function statusName(status: number): string {
  return DFU_STATUS_NAMES[status] ?? `status ${status}`;
}

/** Interface class/subclass/protocol (DFU 1.1 §4.1.2, §4.2.3). */
export const DFU_INTERFACE_CLASS = 0xfe;
/** bInterfaceSubClass of a DFU interface (Device Firmware Upgrade), with `DFU_INTERFACE_CLASS`. */
export const DFU_INTERFACE_SUBCLASS = 0x01;
/** bInterfaceProtocol of the DFU interface an application exposes, to be asked to detach. */
export const DFU_PROTOCOL_RUNTIME = 0x01;
/** bInterfaceProtocol of the interface a device in DFU mode (the bootloader) exposes. */
export const DFU_PROTOCOL_DFU_MODE = 0x02;

/** DFU functional descriptor (DFU 1.1 §4.1.3). */
export const DFU_FUNCTIONAL_DESCRIPTOR_TYPE = 0x21;
/** bmAttributes bit: the device accepts DNLOAD. */
export const bitCanDnload = 0x01;
/** bmAttributes bit: the device answers UPLOAD (needed to read flash back). */
export const bitCanUpload = 0x02;
/** bmAttributes bit: the device still answers after manifestation, so it can report the outcome. */
export const bitManifestationTolerant = 0x04;
/**
 * bmAttributes bit: the device leaves the bus by itself on DFU_DETACH, so the host sends no bus
 * reset.
 */
export const bitWillDetach = 0x08;

/** bcdDFUVersion of a plain DFU 1.1 device. */
export const DFU_VERSION_1_1 = 0x0110;
/**
 * bcdDFUVersion of an ST DfuSe device (ours and the ROM bootloader): addresses, erase and the
 * layout strings.
 */
export const DFUSE_VERSION = 0x011a;

/** DfuSe commands: DNLOAD with wBlockNum 0 (UM0424 §6.1, AN3156 §6). */
export const DFUSE_GET_COMMANDS = 0x00;
/** DfuSe command, followed by a 32-bit address: where the next data blocks and UPLOADs start. */
export const DFUSE_SET_ADDRESS_POINTER = 0x21;
/**
 * DfuSe command: followed by a 32-bit address, erase the sector there; alone, erase the whole
 * memory.
 */
export const DFUSE_ERASE = 0x41;
/** DfuSe command: remove read protection, which mass-erases the flash. */
export const DFUSE_READ_UNPROTECT = 0x92;
/** Data blocks start at 2: address = pointer + (wBlockNum − 2) × wTransferSize. */
export const DFUSE_FIRST_DATA_BLOCK = 2;

/** Standard requests and descriptor types (USB 2.0 §9.4). */
export const USB_REQ_GET_DESCRIPTOR = 0x06;
/** Descriptor type of a configuration descriptor (GET_DESCRIPTOR wValue high byte). */
export const USB_DT_CONFIGURATION = 0x02;
/** Descriptor type of a string descriptor (interface names, serial number). */
export const USB_DT_STRING = 0x03;
/** Descriptor type of an interface descriptor, inside a configuration descriptor. */
export const USB_DT_INTERFACE = 0x04;
