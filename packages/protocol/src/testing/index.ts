export {
  type DfuInterfaceSpec,
  dfu,
  dfuConfigurationDescriptor,
  type StatusReply,
  scriptedDfuDevice,
  statusBytes,
  webUsbConfiguration,
} from './dfu-script.js';
export { ManualClock } from './manual-clock.js';
export {
  describeStep,
  NotFoundError,
  ScriptedDevice,
  type ScriptedDeviceOptions,
  type ScriptLogEntry,
  type ScriptReply,
  type ScriptStep,
  TransferAbortedError,
} from './scripted-device.js';
