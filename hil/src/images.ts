/**
 * The images the scenarios flash: the example application and the bootloader from the
 * firmware build, stamped with the versions a scenario needs, and a full-region image of
 * pseudo-random code for the big downloads.
 */

import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readStamp, SparseImage, stampImage } from '@stm32dfu/image-tools';
import { signImage } from '@stm32dfu/image-tools/node';
import { syntheticApplication } from '@stm32dfu/image-tools/testing';
import type { BoardLayout } from '@stm32dfu/layout';
import { HilError } from './errors.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface FirmwareFiles {
  readonly app: string;
  readonly bootloader: string;
}

export function firmwareFiles(boardId: string): FirmwareFiles {
  const dir = `${REPO_ROOT}firmware/build/${boardId}`;
  return {
    app: `${dir}/app/app.bin`,
    bootloader: `${dir}/src/port/stm32f4/bootloader.bin`,
  };
}

export function readFirmware(path: string): Uint8Array {
  if (!existsSync(path)) {
    throw new HilError(
      'UNSUPPORTED',
      `${path} is missing: build the firmware first (bash firmware/scripts/build.sh, or pnpm turbo run build).`,
    );
  }
  return new Uint8Array(readFileSync(path));
}

/** `raw` stamped for the application region with `version` (contract 4). */
export function stamped(raw: Uint8Array, layout: BoardLayout, version: string): Uint8Array {
  const region = layout.partitions.application;
  const image = stampImage(SparseImage.fromBytes(region.start, raw), region, { version });
  return image.read(region.start, raw.length, 0xff);
}

/** A bootable image of `size` bytes of pseudo-random code (SP, reset vector, stamp). */
export function syntheticApp(
  layout: BoardLayout,
  size: number,
  seed: number,
  version = '2.0.0',
): Uint8Array {
  const sram = layout.chip.sram[0]!;
  return syntheticApplication(size, {
    seed,
    version,
    base: layout.partitions.application.start,
    regionSize: layout.partitions.application.size,
    stackTop: sram.start + sram.size,
  });
}

/** The stamped length of an image (where its signature trailer goes). */
function stampLength(image: Uint8Array, layout: BoardLayout): number {
  return readStamp(
    SparseImage.fromBytes(layout.partitions.application.start, image),
    layout.partitions.application,
  )!.length;
}

/** `stampedImage` signed with `privateKey` at `counter`, as `stm32dfu sign` writes it. */
export function signed(
  stampedImage: Uint8Array,
  layout: BoardLayout,
  privateKey: KeyObject,
  counter: number,
): Uint8Array {
  const region = layout.partitions.application;
  const image = signImage(SparseImage.fromBytes(region.start, stampedImage), region, {
    privateKey,
    securityCounter: counter,
    boardId: layout.board.id,
  });
  return image.read(region.start, image.end - region.start, 0xff);
}

/**
 * A signed image with one byte of its code flipped after signing and its stamp CRC fixed, as
 * someone patching a signed build would: the stamp checks, only the signature can catch it.
 */
export function tampered(
  signedImage: Uint8Array,
  layout: BoardLayout,
  version: string,
): Uint8Array {
  const length = stampLength(signedImage, layout);
  const body = signedImage.slice(0, length);
  const at = Math.min(0x400, length - 1);
  body[at] = body[at]! ^ 0x01;
  const out = signedImage.slice();
  out.set(stamped(body, layout, version));
  return out;
}
