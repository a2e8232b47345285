/**
 * Compiles only if the installed declarations give real types: an `any` from a missing or
 * unresolved declaration file makes one of these assignments an error.
 */
import { readImage, SparseImage } from '@stm32dfu/image-tools';
import { readImageFile } from '@stm32dfu/image-tools/node';
import { getLayout } from '@stm32dfu/layout';
import { DfuDevice, DfuError, download } from '@stm32dfu/protocol';
import { ManualClock } from '@stm32dfu/protocol/testing';
import { NodeUsbTransport } from '@stm32dfu/transport-node';
import type { UsbDeviceLike } from '@stm32dfu/usb-device';
import { createVirtualBoard, VirtualBoard } from '@stm32dfu/virtual-board';
import { createVirtualBoard as createNodeBoard } from '@stm32dfu/virtual-board/node';

type IsAny<T> = 0 extends 1 & T ? true : false;
type NoAny<T> = IsAny<T> extends true ? never : T;
const typed = <T>(value: NoAny<T>): T => value;

export const checked = [
  typed(readImage),
  typed(SparseImage),
  typed(readImageFile),
  typed(getLayout),
  typed(DfuDevice),
  typed(DfuError),
  typed(download),
  typed(ManualClock),
  typed(NodeUsbTransport),
  typed(createVirtualBoard),
  typed(VirtualBoard),
  typed(createNodeBoard),
] as const;

export const device: NoAny<UsbDeviceLike> | null = null;
export const layoutStart: number = getLayout('blackpill-f411').partitions.application.start;
// @ts-expect-error a board id is a string, not a number: the declarations are precise
getLayout(42);
