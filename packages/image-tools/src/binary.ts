import { hex, ImageError } from './errors.js';
import { type ImageLike, SparseImage } from './sparse-image.js';

/** How to place a raw binary in the address space. */
export interface BinaryReadOptions {
  /** Address of the first byte (a raw binary carries none). */
  readonly base: number;
}

/** A raw binary: the bytes, placed at `base`. */
export function readBinary(bytes: Uint8Array, options: BinaryReadOptions): SparseImage {
  if (!Number.isInteger(options.base) || options.base < 0 || options.base > 0xffffffff) {
    throw new ImageError(
      'INVALID_ARGUMENT',
      `Base address ${String(options.base)} is not a 32-bit address; give it like 0x08008000.`,
    );
  }
  if (bytes.length === 0) return SparseImage.empty();
  return SparseImage.fromPieces([{ address: options.base, data: bytes }]);
}

/** How `writeBinary` flattens an image: the fill byte and the address range written. */
export interface BinaryWriteOptions {
  /** Byte for the gaps between segments (default 0xFF, erased flash). */
  readonly fill?: number;
  /** First address to write (default: image start); bytes before it are dropped. */
  readonly start?: number;
  /** One past the last address to write (default: image end). */
  readonly end?: number;
}

/**
 * The image as one contiguous binary from its start (or `start`), gaps filled, the way
 * `objcopy -O binary` writes it. Returns the bytes and the address of the first one.
 */
export function writeBinary(
  image: ImageLike,
  options: BinaryWriteOptions = {},
): { base: number; bytes: Uint8Array } {
  const img = SparseImage.from(image);
  const start = options.start ?? img.start;
  const end = options.end ?? img.end;
  if (end < start) {
    throw new ImageError(
      'INVALID_ARGUMENT',
      `Binary range end ${hex(end)} is below its start ${hex(start)}.`,
      { address: end },
    );
  }
  return { base: start, bytes: img.read(start, end - start, options.fill ?? 0xff) };
}
