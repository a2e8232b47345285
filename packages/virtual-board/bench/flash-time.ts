/**
 * Virtual time to flash the whole 480 kB application region of a Black Pill through raw
 * DfuSe transfers (erase each sector, download 240 blocks of 2048 bytes, leave), split into
 * erase, program and USB/host time. Deterministic: the numbers are the model's, not the
 * machine's; only the last line (real time) varies.
 *
 *   pnpm --filter @stm32dfu/virtual-board bench
 */
import { getLayout } from '@stm32dfu/layout';
import { createVirtualBoard } from '../src/node.ts';
import {
  dnload,
  eraseSector,
  makeApplication,
  openDfu,
  pollUntilIdle,
  setAddress,
  waitForDevice,
} from '../test/dfu-helpers.ts';

const layout = getLayout('blackpill-f411');
const region = layout.partitions.application;
const TRANSFER_SIZE = 2048;

const realStart = performance.now();
const board = await createVirtualBoard();
const device = await waitForDevice(board);
await openDfu(device);
const image = makeApplication(region.size, region.start);

const start = board.clock.now();
for (const sector of region.sectors) await eraseSector(board, device, sector.start);
const erased = board.clock.now();
await setAddress(board, device, region.start);
for (let offset = 0, block = 2; offset < image.length; offset += TRANSFER_SIZE, block++) {
  const result = await dnload(device, block, image.subarray(offset, offset + TRANSFER_SIZE));
  if (result.status !== 'ok') throw new Error(`block ${block}: ${result.status}`);
  const status = await pollUntilIdle(board, device);
  if (status.status !== 0) throw new Error(`block ${block}: bStatus ${status.status}`);
}
await dnload(device, 0, new Uint8Array(0));
const manifest = await pollUntilIdle(board, device);
if (manifest.status !== 0) throw new Error(`manifestation: bStatus ${manifest.status}`);
const end = board.clock.now();

const sum = (type: 'erase' | 'program' | 'crc') =>
  board.events.reduce((ms, e) => (e.type === type ? ms + e.durationMs : ms), 0);
const eraseMs = sum('erase');
const programMs = sum('program');
const crcMs = sum('crc');
const totalMs = end - start;
const flashed = board.readFlash(region.start, image.length).every((b, i) => b === image[i]);

const row = (label: string, ms: number) =>
  console.log(`${label.padEnd(34)} ${(ms / 1000).toFixed(3).padStart(8)} s`);
console.log(
  `virtual flash of ${region.size / 1024} kB (${region.sectors.length} sectors, ${image.length / TRANSFER_SIZE} blocks)`,
);
row('erase (datasheet typ)', eraseMs);
row('program (16 µs/word typ)', programMs);
row('stamp CRC at manifestation (unit)', crcMs);
row('USB + host polling', totalMs - eraseMs - programMs - crcMs);
row('total', totalMs);
row('  of which the erase phase', erased - start);
console.log(`image verified in flash: ${flashed}`);
console.log(`real time: ${(performance.now() - realStart).toFixed(0)} ms`);
if (!flashed) process.exit(1);
