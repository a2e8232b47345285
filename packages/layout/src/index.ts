export {
  MAX_SIGNING_KEYS,
  parseBoardDefinition,
  parseBoardJson,
  USB_STRING_MAX_CHARS,
} from './board-file.js';
export {
  type BoardDefinition,
  type BoardId,
  type BoardLayout,
  boardIds,
  boards,
  DEFAULT_BOARD,
  DEFAULT_USB_IDENTITY,
  type GpioPort,
  getBoard,
  getLayout,
  type Pin,
  type SigningConfig,
  type UartConfig,
  type UsbIdentity,
} from './boards.js';
export {
  type ChipDefinition,
  type ChipId,
  type ClockLimits,
  chipIds,
  chips,
  type Duration,
  type F4ClockTreeLimits,
  type FlashGeometry,
  type FlashTimings,
  getChip,
  type MemoryRange,
  type Sector,
  type SectorRun,
  sectorsOf,
  validateChip,
} from './chips.js';
export { type F4ClockTree, planClockTree } from './clock-tree.js';
export { type GeneratedFile, generateFirmwareFiles, generateHeader } from './codegen.js';
export {
  type BoardDfuseOptions,
  type DfuseLayout,
  type DfuseSector,
  type DfuseSectorGroup,
  type DfuseSegment,
  dfuseLayoutFor,
  formatDfuseLayout,
  parseDfuseLayout,
  type SectorAccess,
} from './dfuse.js';
export {
  formatSize,
  hex,
  LayoutError,
  type LayoutErrorCode,
  type LayoutErrorDetails,
} from './errors.js';
export { formatMemoryMap } from './memory-map.js';
export {
  BOOT_REQUEST_MAGIC,
  type BootRequest,
  definePartitions,
  NO_INIT_SIZE,
  type Partition,
  type PartitionMap,
  type PartitionOptions,
} from './partitions.js';
export {
  type AddressRange,
  checkAlignment,
  checkRange,
  type ErasePlan,
  erasePlan,
  type Region,
  type RegionName,
  regionOf,
  sectorAt,
} from './queries.js';
