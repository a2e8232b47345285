/** USB DFU 1.1 (§3, §6.1.2, §6.1.5) and ST DfuSe (UM0424, AN3156) numbers, named as the specs name them. */

/** Class requests (DFU 1.1 table 3.2). */
export const DFU_DETACH = 0;
export const DFU_DNLOAD = 1;
export const DFU_UPLOAD = 2;
export const DFU_GETSTATUS = 3;
export const DFU_CLRSTATUS = 4;
export const DFU_GETSTATE = 5;
export const DFU_ABORT = 6;

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
export const appDETACH = 1;
export const dfuIDLE = 2;
export const dfuDNLOAD_SYNC = 3;
export const dfuDNBUSY = 4;
export const dfuDNLOAD_IDLE = 5;
export const dfuMANIFEST_SYNC = 6;
export const dfuMANIFEST = 7;
export const dfuMANIFEST_WAIT_RESET = 8;
export const dfuUPLOAD_IDLE = 9;
export const dfuERROR = 10;

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

export type DfuStateName = (typeof DFU_STATE_NAMES)[number];

/** bStatus values (DFU 1.1 §6.1.2). */
export const OK = 0;
export const errTARGET = 1;
export const errFILE = 2;
export const errWRITE = 3;
export const errERASE = 4;
export const errCHECK_ERASED = 5;
export const errPROG = 6;
export const errVERIFY = 7;
export const errADDRESS = 8;
export const errNOTDONE = 9;
export const errFIRMWARE = 10;
export const errVENDOR = 11;
export const errUSBR = 12;
export const errPOR = 13;
export const errUNKNOWN = 14;
export const errSTALLEDPKT = 15;

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

export type DfuStatusName = (typeof DFU_STATUS_NAMES)[number];

export function stateName(state: number): string {
  return DFU_STATE_NAMES[state] ?? `state ${state}`;
}

export function statusName(status: number): string {
  return DFU_STATUS_NAMES[status] ?? `status ${status}`;
}

/** Interface class/subclass/protocol (DFU 1.1 §4.1.2, §4.2.3). */
export const DFU_INTERFACE_CLASS = 0xfe;
export const DFU_INTERFACE_SUBCLASS = 0x01;
export const DFU_PROTOCOL_RUNTIME = 0x01;
export const DFU_PROTOCOL_DFU_MODE = 0x02;

/** DFU functional descriptor (DFU 1.1 §4.1.3). */
export const DFU_FUNCTIONAL_DESCRIPTOR_TYPE = 0x21;
export const bitCanDnload = 0x01;
export const bitCanUpload = 0x02;
export const bitManifestationTolerant = 0x04;
export const bitWillDetach = 0x08;

export const DFU_VERSION_1_1 = 0x0110;
export const DFUSE_VERSION = 0x011a;

/** DfuSe commands: DNLOAD with wBlockNum 0 (UM0424 §6.1, AN3156 §6). */
export const DFUSE_GET_COMMANDS = 0x00;
export const DFUSE_SET_ADDRESS_POINTER = 0x21;
export const DFUSE_ERASE = 0x41;
export const DFUSE_READ_UNPROTECT = 0x92;
/** Data blocks start at 2: address = pointer + (wBlockNum − 2) × wTransferSize. */
export const DFUSE_FIRST_DATA_BLOCK = 2;

/** Standard requests and descriptor types (USB 2.0 §9.4). */
export const USB_REQ_GET_DESCRIPTOR = 0x06;
export const USB_DT_CONFIGURATION = 0x02;
export const USB_DT_STRING = 0x03;
export const USB_DT_INTERFACE = 0x04;
