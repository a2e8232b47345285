export * from './constants.js';
export { stm32Crc } from './crc.js';
export {
  type ConfigurationDescriptor,
  type DfuFunctionalDescriptor,
  type InterfaceDescriptor,
  parseConfigurationDescriptor,
  parseFunctionalDescriptor,
} from './descriptors.js';
export {
  type Clock,
  isNotFoundError,
  realClock,
  type UsbAlternateLike,
  type UsbConfigurationLike,
  type UsbConnectionEventLike,
  type UsbConnectionListener,
  type UsbControlSetup,
  type UsbDeviceLike,
  type UsbEndpointLike,
  type UsbInTransferResult,
  type UsbInterfaceLike,
  type UsbLike,
  type UsbOutTransferResult,
  type UsbRecipient,
  type UsbRequestType,
  type UsbTransferStatus,
} from './device.js';
export {
  DFUSE_CMD_CRC,
  DFUSE_CRC_RESULT_BLOCK,
  type DfuAlternate,
  DfuDevice,
  type DfuMode,
  type DfuOpenOptions,
  type DfuStatus,
} from './dfu-device.js';
export {
  AbortError,
  AddressError,
  DeviceGoneError,
  DfuError,
  type DfuErrorCode,
  DfuStatusError,
  ProtocolError,
  StallError,
  TimeoutError,
  VerifyError,
} from './errors.js';
export { contentOf, type FlashImage, type ImageSegment, normalizeImage } from './image.js';
export {
  type DetachOptions,
  type DownloadOptions,
  type DownloadResult,
  detach,
  download,
  downloadPlain,
  type FindOptions,
  findDfuDevice,
  type MassEraseOptions,
  massErase,
  type PlanOptions,
  planDownload,
  type UploadRange,
  upload,
  uploadPlain,
} from './operations.js';
export {
  type CompareMethod,
  chunkSizeFor,
  type FlashEstimate,
  type FlashPlan,
  findSector,
  firstWritableAddress,
  formatPlan,
  type PlanInput,
  type PlannedBlock,
  type PlannedSector,
  planFlash,
  touchedSectors,
} from './plan.js';
export type { OperationOptions, ProgressEvent, ProgressPhase } from './progress.js';
