/**
 * Node helpers: read and write image files. The main entry stays free of Node built-ins so
 * the web flasher can bundle it; the CLI and the HIL rig import `@stm32dfu/image-tools/node`.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { type BinaryWriteOptions, writeBinary } from './binary.js';
import { type AddSuffixOptions, addDfuSuffix } from './dfu-suffix.js';
import { type DfuseWriteOptions, writeDfuse } from './dfuse.js';
import { type ElfWriteOptions, writeElf } from './elf.js';
import { ImageError } from './errors.js';
import { type IntelHexWriteOptions, writeIntelHex } from './intel-hex.js';
import {
  type ImageFormat,
  type ReadImageOptions,
  type ReadImageResult,
  readImage,
} from './read-image.js';
import { type ImageLike, SparseImage } from './sparse-image.js';
import { type SrecWriteOptions, writeSrec } from './srec.js';

/**
 * Largest file `readImageFile` reads by default. The biggest STM32 flash is 2 MB; an ELF
 * with debug information can be tens of MB. A larger file is almost surely the wrong one.
 */
export const MAX_IMAGE_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Options for `readImageFile`: those of `readImage` (the file name comes from the path) and a size
 * limit.
 */
export interface ReadImageFileOptions extends Omit<ReadImageOptions, 'fileName'> {
  /** Refuse files larger than this (default `MAX_IMAGE_FILE_BYTES`). */
  readonly maxBytes?: number;
}

/** An image read from a file, with the file's path and size. */
export interface ReadImageFileResult extends ReadImageResult {
  /** The path as given. */
  readonly path: string;
  /** Size of the file in bytes. */
  readonly fileSize: number;
}

function errnoOf(cause: unknown): string {
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unknown error';
}

/** What to do about a file-system error, by its errno code. */
function readAdvice(errno: string): string {
  switch (errno) {
    case 'ENOENT':
      return 'no such file; check the path and the working directory';
    case 'EISDIR':
      return 'it is a directory; give the image file inside it';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied; make the file readable (chmod +r) or run as its owner';
    case 'ENOTDIR':
      return 'a part of the path is not a directory; check the path';
    default:
      return `the file system said ${errno}; check the path and that the disk is readable`;
  }
}

function unreadable(path: string, errno: string, cause?: unknown): ImageError {
  return new ImageError(
    'FILE_UNREADABLE',
    `Cannot read image file ${path}: ${readAdvice(errno)}.`,
    { file: basename(path), path, errno },
    { cause },
  );
}

/**
 * Read an image file of any supported format. Parse errors name the file (its base name);
 * file-system failures are `FILE_UNREADABLE` naming the whole path and what to do.
 */
export async function readImageFile(
  path: string,
  options: ReadImageFileOptions = {},
): Promise<ReadImageFileResult> {
  const { maxBytes = MAX_IMAGE_FILE_BYTES, ...readOptions } = options;
  let bytes: Uint8Array;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw unreadable(path, 'EISDIR');
    // Character devices and FIFOs report size 0; only regular files are checked here.
    if (info.isFile() && info.size > maxBytes) {
      throw new ImageError(
        'FILE_UNREADABLE',
        `Cannot read image file ${path}: it is ${info.size} bytes, more than the ${maxBytes}-byte limit; ` +
          'check it is the firmware image and not a disk image or archive.',
        { file: basename(path), path },
      );
    }
    bytes = new Uint8Array(await readFile(path));
  } catch (cause) {
    if (cause instanceof ImageError) throw cause;
    throw unreadable(path, errnoOf(cause), cause);
  }
  const result = readImage(bytes, { ...readOptions, fileName: basename(path) });
  return { ...result, path, fileSize: bytes.length };
}

/** Formats `writeImageFile` writes, with the options each takes. */
export interface WriteImageOptionsByFormat {
  /** Gaps filled (default 0xFF); `start` is the address of the file's first byte. */
  readonly binary: BinaryWriteOptions;
  readonly ihex: IntelHexWriteOptions;
  readonly srec: SrecWriteOptions;
  readonly elf: ElfWriteOptions;
  /** One target; the suffix ids should be the board's VID/PID (default 0xFFFF, "any"). */
  readonly dfuse: DfuseWriteOptions & {
    readonly alternateSetting?: number;
    readonly targetName?: string;
  };
  /** A raw binary (as `binary`) followed by a DFU suffix (DFU 1.1 §B.1). */
  readonly dfu: BinaryWriteOptions & Omit<AddSuffixOptions, 'dfuVersion'>;
}

/** The formats `encodeImage` and `writeImageFile` write (every read format). */
export type WritableImageFormat = keyof WriteImageOptionsByFormat & ImageFormat;

/**
 * What `writeImageFile` wrote: the path, the format, the size in bytes, and the base address a raw
 * file needs to be read back.
 */
export interface WrittenImageFile {
  readonly path: string;
  readonly format: WritableImageFormat;
  /** Bytes written. */
  readonly size: number;
  /** For `binary` and `dfu`: the address of the first byte, needed to read the file back. */
  readonly base?: number;
}

/** The file's bytes for one format; no file system involved. */
export function encodeImage<F extends WritableImageFormat>(
  image: ImageLike,
  format: F,
  options?: WriteImageOptionsByFormat[F],
): { bytes: Uint8Array; base?: number } {
  switch (format) {
    case 'binary': {
      const o = (options ?? {}) as WriteImageOptionsByFormat['binary'];
      return writeBinary(image, o);
    }
    case 'dfu': {
      const { vendorId, productId, deviceVersion, ...binary } = (options ??
        {}) as WriteImageOptionsByFormat['dfu'];
      const { base, bytes } = writeBinary(image, binary);
      return {
        base,
        bytes: addDfuSuffix(bytes, {
          ...(vendorId !== undefined && { vendorId }),
          ...(productId !== undefined && { productId }),
          ...(deviceVersion !== undefined && { deviceVersion }),
        }),
      };
    }
    case 'ihex':
      return {
        bytes: new TextEncoder().encode(
          writeIntelHex(image, options as WriteImageOptionsByFormat['ihex']),
        ),
      };
    case 'srec':
      return {
        bytes: new TextEncoder().encode(
          writeSrec(image, options as WriteImageOptionsByFormat['srec']),
        ),
      };
    case 'elf':
      return {
        bytes: writeElf(SparseImage.from(image), options as WriteImageOptionsByFormat['elf']),
      };
    case 'dfuse': {
      const { alternateSetting, targetName, ...ids } = (options ??
        {}) as WriteImageOptionsByFormat['dfuse'];
      const target = {
        image,
        ...(alternateSetting !== undefined && { alternateSetting }),
        ...(targetName !== undefined && { name: targetName }),
      };
      return { bytes: writeDfuse([target], ids) };
    }
    default:
      throw new ImageError(
        'INVALID_ARGUMENT',
        `Cannot write format "${String(format)}"; use one of binary, ihex, srec, elf, dfuse, dfu.`,
      );
  }
}

function writeAdvice(errno: string): string {
  switch (errno) {
    case 'ENOENT':
      return 'the directory does not exist; create it first';
    case 'EISDIR':
      return 'it is a directory; give a file name inside it';
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return 'permission denied; pick a writable directory';
    case 'ENOSPC':
      return 'the disk is full';
    default:
      return `the file system said ${errno}`;
  }
}

/**
 * Write an image in one format. The bytes are encoded before the file is opened, so a
 * refused image (an `ImageError` from the writer) never leaves a file behind.
 */
export async function writeImageFile<F extends WritableImageFormat>(
  path: string,
  image: ImageLike,
  format: F,
  options?: WriteImageOptionsByFormat[F],
): Promise<WrittenImageFile> {
  const { bytes, base } = encodeImage(image, format, options);
  try {
    await writeFile(path, bytes);
  } catch (cause) {
    const errno = errnoOf(cause);
    throw new ImageError(
      'FILE_UNWRITABLE',
      `Cannot write image file ${path}: ${writeAdvice(errno)}.`,
      { file: basename(path), path, errno },
      { cause },
    );
  }
  return { path, format, size: bytes.length, ...(base !== undefined && { base }) };
}

export {
  boardIdOf,
  type CheckSignatureOptions,
  checkSignature,
  keyIdOf,
  privateKeyFromSeed,
  publicKeyFromRaw,
  rawPublicKey,
  type SignatureCheck,
  type SignatureVerdict,
  type SignImageOptions,
  signImage,
} from './signature-node.js';
