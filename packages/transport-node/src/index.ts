export {
  DEFAULT_IDENTITIES,
  type DfuAltSetting,
  type DfuDeviceInfo,
  formatBcd,
  formatBusPath,
  formatDeviceInfo,
  formatUsbId,
  type ProductIdentity,
  ST_ROM_PRODUCT_ID,
  ST_ROM_VENDOR_ID,
} from './classify.js';
export { NodeUsbDevice, type NodeUsbDeviceOptions } from './device.js';
export {
  type AdviceContext,
  accessAdvice,
  busyAdvice,
  type DeviceKind,
  driverAdvice,
  type HostPlatform,
  libusbErrorName,
  setupAdvice,
  TransportError,
  type TransportErrorCode,
  type TransportErrorDetail,
  toTransportError,
  udevCommands,
} from './errors.js';
export type {
  LibusbConfigDescriptor,
  LibusbDevice,
  LibusbDeviceDescriptor,
  LibusbEvents,
  LibusbHotplugEvent,
  LibusbHotplugListener,
  LibusbInterface,
  LibusbInterfaceDescriptor,
  NodeUsbModule,
} from './node-usb.js';
export { loadNodeUsb } from './node-usb.js';
export {
  type DeviceCriteria,
  DeviceSelectionError,
  describeCriteria,
  parseUsbId,
  selectDevice,
} from './select.js';
export {
  type DeviceListing,
  type DeviceTarget,
  type FindBoardOptions,
  NodeUsbTransport,
  type NodeUsbTransportOptions,
} from './transport.js';
export {
  type InstallUdevRulesOptions,
  installUdevRules,
  UDEV_RULES_FILE,
  UDEV_RULES_PATH,
  type UdevInstallReport,
  type UdevRulesOptions,
  udevRules,
} from './udev.js';
