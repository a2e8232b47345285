/**
 * dfu-util against our protocol, on the same virtual board and clock, both starting with
 * the board in its bootloader (button held at power-on): for a 480 kB
 * application written over another one, and for a re-flash that changes one 16 kB sector,
 * prints dfu-util's time (`-a 0 -s 0x08008000:leave -D app.bin` through the libusb
 * stand-in), ours (`@stm32dfu/protocol` download with verify and leave, as the CLI runs
 * it), and the floor: erase + program of what must change, at the datasheet's typical
 * times the board charges. Every figure is virtual time, the same on every run.
 *
 *   pnpm --filter @stm32dfu/conformance bench
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restampApplication, syntheticApplication } from '@stm32dfu/image-tools/testing';
import { DfuDevice, download } from '@stm32dfu/protocol';
import { createVirtualBoard, type NodeVirtualBoard } from '@stm32dfu/virtual-board/node';
import {
  APP_BASE,
  bootloaderSectors,
  LAYOUT,
  missingTools,
  WITH_VIRTUAL_USB,
} from '../test/harness.ts';

const APP_SIZE = LAYOUT.partitions.application.size;
const timings = LAYOUT.chip.timings!;

function makeApp(seed: number): Uint8Array {
  return syntheticApplication(APP_SIZE, { seed, version: '1.0.0' });
}

function restamp(image: Uint8Array): Uint8Array {
  return restampApplication(image, { version: '1.0.0' });
}

/** A board's flash: the bootloader, then `app` at the application base. */
function flashWith(app: Uint8Array): Uint8Array {
  const flash = new Uint8Array(LAYOUT.chip.flash.size).fill(0xff);
  flash.set(bootloaderSectors(), 0);
  flash.set(app, APP_BASE - LAYOUT.chip.flash.base);
  return flash;
}

/** Erase + program of the sectors whose content differs, at typical datasheet times. */
function floorMs(before: Uint8Array, after: Uint8Array): { ms: number; sectors: number } {
  let ms = 0;
  let sectors = 0;
  for (const s of LAYOUT.partitions.application.sectors) {
    const a = before.subarray(s.start - APP_BASE, s.start - APP_BASE + s.size);
    const b = after.subarray(s.start - APP_BASE, s.start - APP_BASE + s.size);
    if (Buffer.from(a).equals(Buffer.from(b))) continue;
    sectors++;
    ms += timings.eraseMs[s.size]!.typ;
    let words = 0;
    for (let i = 0; i < b.length; i += 4) {
      if (b[i] !== 0xff || b[i + 1] !== 0xff || b[i + 2] !== 0xff || b[i + 3] !== 0xff) words++;
    }
    ms += (words * timings.programUs.typ) / 1000;
  }
  return { ms, sectors };
}

function dfuUtilMs(oldApp: Uint8Array, newApp: Uint8Array): number {
  const dir = mkdtempSync(join(tmpdir(), 'stm32dfu-bench-'));
  try {
    const flash = join(dir, 'board.bin');
    const app = join(dir, 'app.bin');
    const report = join(dir, 'report.json');
    writeFileSync(flash, flashWith(oldApp));
    writeFileSync(app, newApp);
    const r = spawnSync(
      WITH_VIRTUAL_USB,
      [
        flash,
        '--button',
        '--report',
        report,
        '--',
        'dfu-util',
        '-a',
        '0',
        '-s',
        `0x${APP_BASE.toString(16)}:leave`,
        '-D',
        app,
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`dfu-util failed:\n${r.stdout}${r.stderr}`);
    const result = JSON.parse(readFileSync(report, 'utf8')) as { commandMs: number; mode: string };
    if (result.mode !== 'application')
      throw new Error(`after dfu-util the board is in ${result.mode}`);
    return result.commandMs;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function settle(board: NodeVirtualBoard, mode: string) {
  for (let i = 0; i < 1000; i++) {
    if (board.device && board.mode === mode) return board.device;
    await board.clock.sleep(10);
  }
  throw new Error(`the board never showed up in ${mode} mode`);
}

/** Our protocol on the same board model: open, download (differential, verify), leave. */
async function protocolMs(oldApp: Uint8Array, newApp: Uint8Array): Promise<number> {
  const board = await createVirtualBoard({ flash: flashWith(oldApp), powered: false });
  board.setButton(true);
  board.power(true);
  const found = await settle(board, 'bootloader');
  board.setButton(false);
  const t0 = board.clock.now();
  const device = await DfuDevice.open(found, { clock: board.clock });
  await download(
    device,
    { segments: [{ address: APP_BASE, data: newApp }] },
    { leave: true, usb: board.usb },
  );
  const ms = board.clock.now() - t0;
  await settle(board, 'application');
  return ms;
}

const missing = missingTools();
if (missing) {
  console.log(`dfu-util benchmark skipped: ${missing}`);
  process.exit(0);
}

const oldApp = makeApp(1);
const newApp = makeApp(2);
const oneSector = newApp.slice();
// Bytes inside the first 16 kB sector, where the stamp also lives: exactly one sector differs.
oneSector.fill(0x5a, 0x1000, 0x1100);
const oneSectorApp = restamp(oneSector);

console.log(
  'dfu-util 0.11 and @stm32dfu/protocol on the virtual board (blackpill-f411, virtual time)',
);
for (const [name, before, after] of [
  ['480 kB app over another app', oldApp, newApp],
  ['one 16 kB sector changed', newApp, oneSectorApp],
] as const) {
  const dfuUtil = dfuUtilMs(before, after);
  const ours = await protocolMs(before, after);
  const floor = floorMs(before, after);
  const pct = (ms: number) => `${((ms / floor.ms - 1) * 100).toFixed(1).padStart(6)} %`;
  console.log(`${name}:`);
  console.log(
    `  dfu-util                  ${(dfuUtil / 1000).toFixed(3)} s  ${pct(dfuUtil)} over the floor`,
  );
  console.log(
    `  stm32dfu protocol         ${(ours / 1000).toFixed(3)} s  ${pct(ours)} over the floor`,
  );
  console.log(
    `  floor (erase + program)   ${(floor.ms / 1000).toFixed(3)} s  (${floor.sectors === 1 ? '1 sector differs' : `${floor.sectors} sectors differ`})`,
  );
}
