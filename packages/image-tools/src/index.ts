export {
  type BinaryReadOptions,
  type BinaryWriteOptions,
  readBinary,
  writeBinary,
} from './binary.js';
export {
  crc32,
  crc32DfuSuffix,
  crc32Stm32Words,
  sha256,
  sha256Hex,
  toHex,
} from './checksums.js';
export {
  type AddSuffixOptions,
  addDfuSuffix,
  DFU_SUFFIX_LENGTH,
  type DfuSuffix,
  hasDfuSuffix,
  readDfuSuffix,
  type SuffixOptions,
  stripDfuSuffix,
  verifyDfuSuffix,
} from './dfu-suffix.js';
export {
  DFUSE_BCD,
  type DfuseFile,
  type DfuseReadOptions,
  type DfuseTarget,
  type DfuseTargetInput,
  type DfuseWriteOptions,
  readDfuse,
  writeDfuse,
} from './dfuse.js';
export {
  type ElfImage,
  type ElfReadOptions,
  type ElfSection,
  type ElfSegment,
  type ElfWriteOptions,
  readElf,
  writeElf,
} from './elf.js';
export { ImageError, type ImageErrorCode, type ImageErrorDetails } from './errors.js';
export {
  type IntelHexImage,
  type IntelHexWriteOptions,
  readIntelHex,
  type TextReadOptions,
  writeIntelHex,
} from './intel-hex.js';
export {
  detectFormat,
  type ImageFormat,
  imageFormats,
  type ReadImageOptions,
  type ReadImageResult,
  readImage,
} from './read-image.js';
export {
  appendSignatureTrailer,
  encodeSignedBlock,
  readSignatureTrailer,
  SECURITY_COUNTER_CAPACITY,
  SIGNATURE_FORMAT,
  SIGNATURE_MAGIC,
  SIGNATURE_TRAILER_LENGTH,
  SIGNATURE_VERDICTS,
  SIGNED_BLOCK_LENGTH,
  type SignatureCheck,
  type SignatureTrailer,
  type SignatureVerdict,
  type SignedBlock,
} from './signature.js';
export {
  computeBoardId,
  computeKeyId,
  type VerifySignatureOptions,
  verifySignature,
} from './signature-web.js';
export {
  type AddressSpan,
  type BuildOptions,
  type ChunkOptions,
  describeSource,
  type ImageChunk,
  type ImageLike,
  type ImagePiece,
  type OverlapPolicy,
  type PieceSource,
  type SectorSlice,
  type Segment,
  SparseImage,
} from './sparse-image.js';
export { readSrec, type SrecImage, type SrecWriteOptions, writeSrec } from './srec.js';
export {
  type AppStamp,
  encodeVersion,
  formatVersion,
  readStamp,
  STAMP_CRC_OFFSET,
  STAMP_LENGTH_OFFSET,
  STAMP_MAGIC,
  STAMP_MIN_LENGTH,
  STAMP_OFFSET,
  STAMP_VERSION_OFFSET,
  type StampCheck,
  type StampOptions,
  type StampRegion,
  type StampVerdict,
  stampCrc,
  stampImage,
  type VersionInput,
  verifyStamp,
} from './stamp.js';
export {
  type ValidateOptions,
  type ValidationReport,
  type VectorTableInfo,
  validateImage,
} from './validate.js';
