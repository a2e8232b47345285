/**
 * An install stopped before writing (`beforeWrite` threw: the page's signature refusal) leaves
 * the board as it found it: a running application it sent into the bootloader is started again
 * by the bootloader's own leave, if the installed image still passes the bootloader's boot
 * checks; a board found in the bootloader stays there. The flash is never touched.
 */
import { SparseImage } from '@stm32dfu/image-tools';
import { syntheticApplication } from '@stm32dfu/image-tools/testing';
import { getLayout } from '@stm32dfu/layout';
import { summarize, WebUsbTransport } from '@stm32dfu/transport-webusb';
import { createVirtualBoard, type NodeVirtualBoard } from '@stm32dfu/virtual-board/node';
import { describe, expect, test } from 'vitest';
import { type Connection, virtualUsb } from '../src/board.ts';
import { install } from '../src/install.ts';
import { SignatureRefused } from '../src/security.ts';

const layout = getLayout('blackpill-f411');
const APP = layout.partitions.application.start;
const installed = syntheticApplication(8192, { seed: 7, version: '1.1.0', base: APP });
const refused = SparseImage.fromBytes(
  APP,
  syntheticApplication(8192, { seed: 8, version: '1.0.0', base: APP }),
);
const REFUSAL =
  'The board requires firmware signed with its keys and would refuse this image: Install a newer release. Nothing was written to the board.';
const refuse = async () => {
  throw new SignatureRefused({ ok: false, verdict: 'rolled-back', text: REFUSAL }, undefined);
};

async function connect(
  app?: Uint8Array,
): Promise<{ board: NodeVirtualBoard; connection: Connection }> {
  const board = await createVirtualBoard({ board: 'blackpill-f411' });
  if (app) {
    board.writeFlash(APP, app);
    board.reset();
  }
  await board.clock.sleep(500);
  const transport = new WebUsbTransport(virtualUsb(board), { clock: board.clock });
  const device = await transport.request();
  return { board, connection: { kind: 'virtual', transport, layout, device, virtual: board } };
}

async function stopped(connection: Connection, log: string[]): Promise<unknown> {
  try {
    await install(connection, refused, { beforeWrite: refuse, log: (l) => log.push(l) });
  } catch (error) {
    return error;
  }
  throw new Error('expected the install to stop');
}

const flashOf = (board: NodeVirtualBoard) => board.flash.slice();

describe('an install refused before writing', () => {
  test('starts the application it sent into the bootloader again, and says so', async () => {
    const { board, connection } = await connect(installed);
    expect(board.mode).toBe('application');
    const before = flashOf(board);
    const log: string[] = [];
    const error = await stopped(connection, log);
    expect(error).toBeInstanceOf(SignatureRefused);
    expect((error as SignatureRefused).applicationRestarted).toBe(true);
    expect((error as Error).message).toBe(
      'The board requires firmware signed with its keys and would refuse this image: Install a newer release. Nothing was written to the board; its application was started again.',
    );
    expect(board.mode).toBe('application');
    expect(summarize(connection.device).mode).toBe('runtime');
    expect(flashOf(board)).toEqual(before);
    expect(log.join('\n')).toMatch(/DETACH[\s\S]*the application it was running was started again/);
    expect(log.join('\n')).not.toMatch(/erase:|write:/);
  });

  test('leaves a board found in the bootloader there', async () => {
    const { board, connection } = await connect();
    expect(board.mode).toBe('bootloader');
    const before = flashOf(board);
    const log: string[] = [];
    const error = await stopped(connection, log);
    expect((error as Error).message).toBe(REFUSAL);
    expect((error as SignatureRefused).applicationRestarted).toBe(false);
    await board.clock.sleep(1500);
    expect(board.mode).toBe('bootloader');
    expect(flashOf(board)).toEqual(before);
    expect(log.join('\n')).not.toMatch(/DETACH|started again/);
  });

  test('leaves the board in the bootloader when the bootloader will not start its image', async () => {
    const { board, connection } = await connect(installed);
    expect(board.mode).toBe('application');
    // The image no longer passes the boot checks (its stamp CRC): the running copy does not know.
    const damaged = installed.slice();
    damaged[4096] = (damaged[4096] ?? 0) ^ 0xff;
    board.writeFlash(APP, damaged);
    const before = flashOf(board);
    const log: string[] = [];
    const error = await stopped(connection, log);
    expect((error as Error).message).toBe(REFUSAL);
    await board.clock.sleep(1500);
    expect(board.mode).toBe('bootloader');
    expect(flashOf(board)).toEqual(before);
    expect(log.join('\n')).toMatch(/the application was not started again \(.+\): the board stays/);
  });

  test('passes any other error from the check on, after starting the application again', async () => {
    const { board, connection } = await connect(installed);
    const error = await install(connection, refused, {
      beforeWrite: async () => {
        throw new Error('no record');
      },
    }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('no record');
    expect(board.mode).toBe('application');
  });
});
