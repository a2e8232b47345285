/**
 * Flash timing on the virtual board's clock (datasheet erase/program times, USB full-speed
 * model). Prints, for a full 480 kB application and for a re-flash that changes one 16 kB
 * sector: the virtual time taken and the floor the board model gives for the same work
 * (erase + program of what changed + bus time of the data blocks sent). The bootloader
 * programs queued blocks while the next ones cross the bus, so a run can come in under
 * this floor, which counts the two one after the other. The last line repeats the full
 * flash over another application with the bootloader announcing a smaller wTransferSize.
 */

import { controlTransferBusMs } from '@stm32dfu/virtual-board';
import { createVirtualBoard, type NodeVirtualBoard } from '@stm32dfu/virtual-board/node';
import {
  DfuDevice,
  type DownloadResult,
  detach,
  download,
  type ProgressPhase,
} from '../src/index.ts';
import { makeApp, restamp } from '../test/app-image.ts';

const APP_BASE = 0x08008000;
const APP_SIZE = 480 * 1024;

async function waitForMode(board: NodeVirtualBoard, mode: string) {
  for (let i = 0; i < 1000; i++) {
    if (board.device && board.mode === mode) return board.device;
    await board.clock.sleep(10);
  }
  throw new Error(`no ${mode} device`);
}

interface Run {
  readonly ms: number;
  readonly floorMs: number;
  readonly phases: Record<string, number>;
  readonly result: DownloadResult;
  readonly device: DfuDevice;
}

async function timedDownload(
  board: NodeVirtualBoard,
  device: DfuDevice,
  data: Uint8Array,
  verify = true,
): Promise<Run> {
  const mark = board.events.length;
  const phaseStart = new Map<ProgressPhase, number>();
  const t0 = board.clock.now();
  const result = await download(
    device,
    { segments: [{ address: APP_BASE, data }] },
    {
      verify,
      onProgress: (e) => {
        if (!phaseStart.has(e.phase)) phaseStart.set(e.phase, board.clock.now());
      },
    },
  );
  const end = board.clock.now();
  let flashMs = 0;
  for (const e of board.events.slice(mark)) {
    if (e.type === 'erase' || e.type === 'program') flashMs += e.durationMs;
  }
  const busMs = result.plan.blocks.reduce((n, b) => n + controlTransferBusMs(b.data.length), 0);
  const starts = [...phaseStart.entries()];
  const phases: Record<string, number> = {};
  starts.forEach(([phase, at], i) => {
    phases[phase] = Math.round((starts[i + 1]?.[1] ?? end) - at);
  });
  return { ms: end - t0, floorMs: flashMs + busMs, phases, result, device };
}

function report(name: string, run: Run): void {
  const ratio = (run.ms / run.floorMs - 1) * 100;
  const over = `${ratio >= 0 ? '+' : '−'}${Math.abs(ratio).toFixed(1)}`;
  console.log(
    `${name.padEnd(34)} ${(run.ms / 1000).toFixed(3)} s   floor ${(run.floorMs / 1000).toFixed(3)} s   ${over} %   ` +
      `erased ${run.result.plan.eraseBytes / 1024} kB, sent ${run.result.plan.writeBytes / 1024} kB   ` +
      `phases ${JSON.stringify(run.phases)}`,
  );
}

async function backToDfu(board: NodeVirtualBoard): Promise<DfuDevice> {
  const runtime = await DfuDevice.open(await waitForMode(board, 'application'), {
    clock: board.clock,
  });
  return detach(runtime, { usb: board.usb });
}

function changeOneSector(image: Uint8Array): Uint8Array {
  // Bytes inside sector 2 (16 kB), where the stamp also lives: exactly one sector differs.
  const out = image.slice();
  out.fill(0x5a, 0x1000, 0x1100);
  return restamp(out);
}

const board = await createVirtualBoard();
const oldApp = makeApp(APP_SIZE, 1);
const newApp = makeApp(APP_SIZE, 2);
const blank = await timedDownload(
  board,
  await DfuDevice.open(await waitForMode(board, 'bootloader'), { clock: board.clock }),
  oldApp,
);
report('full 480 kB flash, blank board', blank);
await blank.device.leave();
const withOldApp = board.flashImage();
const full = await timedDownload(board, await backToDfu(board), newApp);
report('full 480 kB flash over another app', full);
await full.device.leave();
const one = await timedDownload(board, await backToDfu(board), changeOneSector(newApp));
report('re-flash, one 16 kB sector changed', one);
await one.device.leave();
console.log(`re-flash / full flash: ${((one.ms / full.ms) * 100).toFixed(1)} %`);
const blocks = full.result.plan.blocks.length;
const programPerBlockMs = (2048 / 4) * 0.016;
console.log(
  `write phase per 2 kB block: ${((full.phases['write'] ?? 0) / blocks).toFixed(2)} ms ` +
    `(program ${programPerBlockMs.toFixed(2)} ms; the DNLOAD's ${controlTransferBusMs(2048).toFixed(2)} ms ` +
    'of bus time and the GETSTATUS polls overlap the programming of queued blocks)',
);
const noVerify = await timedDownload(board, await backToDfu(board), oldApp, false);
report('full flash over another app, no verify', noVerify);

// The same full flash against our bootloader announcing a smaller wTransferSize, as many DFU
// devices do: each board starts with the first application in flash, so the work is the one
// of "full 480 kB flash over another app".
const smallSizes: string[] = [];
for (const transferSize of [1024, 256]) {
  const small = await createVirtualBoard({ transferSize, flash: withOldApp });
  const run = await timedDownload(small, await backToDfu(small), newApp);
  const write = (run.phases['write'] ?? 0) / 1000;
  const blocks = run.result.plan.blocks.length;
  smallSizes.push(
    `${transferSize}: ${(run.ms / 1000).toFixed(3)} s (write ${write.toFixed(3)} s, ${blocks} blocks)`,
  );
}
console.log(
  `full 480 kB flash over another app at wTransferSize ${smallSizes.join(', ')}; 2048: ${(full.ms / 1000).toFixed(3)} s`,
);
