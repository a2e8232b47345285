export {
  APP_RUNTIME_INTERFACE_NAME,
  ApplicationModel,
  type ApplicationModelOptions,
  DEVICE_INTERFACE_GUID,
} from './app-model.js';
export {
  type BoardEvent,
  type BoardEventType,
  type BoardFaults,
  type BoardMode,
  createVirtualBoard,
  DEFAULT_TRANSFER_SIZE,
  defaultUid,
  type ResetCause,
  serialFromUid,
  TRANSFER_SIZE_MAX,
  TRANSFER_SIZE_MIN,
  TRANSFER_SIZE_STEP,
  VirtualBoard,
  type VirtualBoardOptions,
  type VirtualBoardSigning,
} from './board.js';
export { type TimerHandle, VirtualClock } from './clock.js';
export {
  type BosDescriptor,
  type ConfigurationDescriptor,
  DescriptorError,
  type DeviceDescriptor,
  type DfuFunctionalDescriptor,
  type EndpointDescriptor,
  type InterfaceDescriptor,
  type MsOs20DescriptorSet,
  type MsOs20RegistryProperty,
  type PlatformCapability,
  parseBosDescriptor,
  parseConfigurationDescriptor,
  parseDeviceDescriptor,
  parseMsOs20DescriptorSet,
  parseStringDescriptor,
  REG_MULTI_SZ,
} from './descriptors.js';
export {
  VirtualBoardError,
  type VirtualBoardErrorCode,
  type VirtualBoardErrorDetails,
} from './errors.js';
export {
  ATTACH_DEBOUNCE_MS,
  BUS_RESET_MS,
  controlTransferBusMs,
  EP0_MAX_PACKET,
  FRAME_MS,
  nextFrame,
} from './timing.js';
export {
  type DeviceHost,
  type EnumeratedDevice,
  VirtualConfiguration,
  VirtualInterface,
  VirtualUsbDevice,
} from './usb-device.js';
export { DFU_REQUEST, DFU_STATE, type Ep0Reply, type UsbFunction } from './usb-function.js';
export type {
  Clock,
  UsbAlternateLike,
  UsbConfigurationLike,
  UsbConnectionEventLike,
  UsbConnectionListener,
  UsbControlSetup,
  UsbDeviceLike,
  UsbInTransferResult,
  UsbInterfaceLike,
  UsbLike,
  UsbOutTransferResult,
} from './usb-types.js';
export { BOOT_VERDICTS, type BootVerdict } from './wasm-core.js';
export { compileWasm, defaultWasmUrl, type WasmSource } from './wasm-loader.js';
