/** A chosen image: any image-tools format, checked against the board, stamped if it is not. */
import {
  formatVersion,
  ImageError,
  readImage,
  readSignatureTrailer,
  readStamp,
  type SparseImage,
  STAMP_MAGIC,
  stampImage,
  validateImage,
} from '@stm32dfu/image-tools';
import type { BoardLayout } from '@stm32dfu/layout';

export interface ChosenImage {
  readonly name: string;
  readonly format: string;
  readonly image: SparseImage;
  readonly stampedHere: boolean;
  /** The stamp's version ("1.2.0"). */
  readonly version: string;
  readonly warnings: readonly string[];
}

export function loadImage(
  bytes: Uint8Array,
  name: string,
  layout: BoardLayout,
  address?: number,
): ChosenImage {
  const read = readImage(bytes, {
    fileName: name,
    base: address ?? layout.partitions.application.start,
  });
  const report = validateImage(read.image, layout, { file: name });
  let image = read.image;
  let stampedHere = false;
  const warnings = [...report.warnings];
  // A signed image is never stamped again: that would drop its signature. A bad stamp under a
  // signature means the image changed after it was signed, which the signature check reports.
  const signed = readSignatureTrailer(image, layout.partitions.application) !== undefined;
  if (signed && report.stamp && report.stamp.verdict !== 'valid') {
    warnings.push(
      'its stamp does not match its contents, and it is signed: it was not stamped again here',
    );
  } else if (report.stamp && report.stamp.verdict !== 'valid') {
    image = stampImage(image, layout, { version: '0.0.0' });
    stampedHere = true;
  }
  const stamp = readStamp(image, layout);
  const version = stamp.magic === STAMP_MAGIC ? formatVersion(stamp.version) : '0.0.0';
  return { name, format: read.format, image, stampedHere, version, warnings };
}

export function describeError(error: unknown): string {
  if (error instanceof ImageError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
