export {
  type ChannelMap,
  loadRigConfig,
  parseRigConfig,
  type RelayConfig,
  type RigConfig,
  type RigSigning,
  readRigSigning,
  rigConfigSchema,
} from './config.js';
export { check, HilAssertionError, HilError, type HilErrorCode } from './errors.js';
export { createHardwareRig, HardwareRig } from './hardware-rig.js';
export { firmwareFiles, signed, stamped, syntheticApp, tampered } from './images.js';
export { type CaseResult, junitXml, junitXmlSuites, type SuiteResult } from './junit.js';
export { lockRig, type RigLock } from './lock.js';
export {
  Ch340Relay,
  lcusFrame,
  openCh340Relay,
  openSerialPort,
  type SerialLink,
} from './relay/ch340.js';
export { CommandRelay, type CommandRunner, GpioRelay, type LineHolder } from './relay/command.js';
export {
  type ControlSetup,
  HID_RELAY_PRODUCT_ID,
  HID_RELAY_VENDOR_ID,
  type HidControl,
  HidRelay,
  type LibusbHidDevice,
  openHidRelay,
  usbHidControl,
} from './relay/hid.js';
export { openRelay } from './relay/index.js';
export type { RelayDriver } from './relay/types.js';
export { VirtualRelay } from './relay/virtual.js';
export { RelayRig } from './relay-rig.js';
export type { CliRun, PowerCutUnit, Rig, RigProbe, ToolRun } from './rig.js';
export { type RunOptions, type RunReport, runScenarios, writeJunit } from './runner.js';
export {
  lastPowerCut,
  type Scenario,
  type ScenarioContext,
  SkipScenario,
  scenarios,
} from './scenarios/index.js';
export { checkPolicy, otpCounter, requireSecurity } from './security.js';
export {
  type BoardState,
  bootApplication,
  currentState,
  enterBootloader,
  enterRom,
  identify,
  ST_ROM_ID,
  waitForState,
} from './strategies.js';
export {
  createVirtualRig,
  createVirtualRigFrom,
  VIRTUAL_RIG_CONFIG,
  VirtualRig,
} from './virtual-rig.js';
