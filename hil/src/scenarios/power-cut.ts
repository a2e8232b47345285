/**
 * Power cut at every flash operation of a download (architecture: never brick). For each
 * point: the old application is installed and running, the board is detached into the
 * bootloader, the new image's download starts and the supply drops at that point. Powered
 * again, the board must be in the bootloader, or run a complete old or new application;
 * and a re-flash must succeed and boot. On the virtual rig the points are flash operations
 * (every one for a small application, 50 spread over a full 480 kB download); on a real rig
 * they are `powerCut.samples` moments spread over the download's measured duration.
 */
import { SIGNATURE_TRAILER_LENGTH } from '@stm32dfu/image-tools';
import { type DfuDevice, download } from '@stm32dfu/protocol';
import { check, HilAssertionError } from '../errors.js';
import { syntheticApp } from '../images.js';
import type { Rig, RigProbe } from '../rig.js';
import { enterBootloader, stateAfterStart, waitForState } from '../strategies.js';
import { appFile, installable, regionHolds } from './common.js';
import { type Scenario, type ScenarioContext, SkipScenario } from './types.js';

export interface PowerCutTally {
  tried: number;
  recovered: number;
}

/** What the last power-cut run counted, for the runner's summary line. */
export const lastPowerCut: PowerCutTally = { tried: 0, recovered: 0 };

const image = (address: number, data: Uint8Array) => ({ segments: [{ address, data }] });

async function install(rig: Rig, data: Uint8Array): Promise<void> {
  const dfu = await enterBootloader(rig);
  await download(dfu, image(rig.layout.partitions.application.start, data), {
    leave: true,
    usb: rig.usb,
  });
  await waitForState(rig, 'application');
}

/** Flash operations (erases, program slices) a download of `next` over `old` takes. */
async function countOps(
  rig: Rig,
  probe: RigProbe,
  old: Uint8Array,
  next: Uint8Array,
): Promise<number> {
  await install(rig, old);
  const dfu = await enterBootloader(rig);
  const from = probe.flashOperations();
  await download(dfu, image(rig.layout.partitions.application.start, next), {
    leave: true,
    usb: rig.usb,
  });
  await waitForState(rig, 'application');
  return probe.flashOperations() - from;
}

/** Measured download time on a real rig, ms. */
async function downloadMs(rig: Rig, old: Uint8Array, next: Uint8Array): Promise<number> {
  await install(rig, old);
  const dfu = await enterBootloader(rig);
  const start = rig.clock.now();
  await download(dfu, image(rig.layout.partitions.application.start, next), { usb: rig.usb });
  const ms = rig.clock.now() - start;
  await dfu.leave({ usb: rig.usb });
  return ms;
}

/** One cut at `point`; returns what the board did, or throws what went wrong. */
async function cutAt(
  context: ScenarioContext,
  old: Uint8Array,
  next: Uint8Array,
  point: number,
): Promise<string> {
  const { rig } = context;
  const base = rig.layout.partitions.application.start;
  await install(rig, old);
  let dfu: DfuDevice = await enterBootloader(rig);
  const cut = rig.armPowerCut(point);
  const interrupted = await download(dfu, image(base, next), { leave: true, usb: rig.usb }).then(
    () => false,
    () => true,
  );
  cut.cancel();
  // The supply back (a cut the download outran changes nothing but a power cycle).
  await rig.setPower(false);
  await rig.clock.sleep(rig.config.timings.resetPulseMs);
  await rig.setPower(true);
  await rig.clock.sleep(rig.config.timings.settleMs);
  const state = await stateAfterStart(rig);
  if (state === undefined || state === 'rom') {
    throw new HilAssertionError(
      `after a cut at ${point} the board is ${state === 'rom' ? "in ST's ROM" : 'not on USB'}: bricked`,
    );
  }
  let came: string = state;
  if (state === 'application') {
    // Only a complete image may run: the region read back (by CRC on a lock-upload board).
    dfu = await enterBootloader(rig);
    const isNew = await regionHolds(context, dfu, next);
    const isOld = !isNew && (await regionHolds(context, dfu, old));
    check(
      isOld || isNew,
      `after a cut at ${point} an application runs that is neither the old nor the new image`,
    );
    came = isNew ? 'the new application' : 'the old application';
    await dfu.release();
  } else came = 'the bootloader';
  // The re-flash must succeed and the new application boot.
  dfu = await enterBootloader(rig);
  const result = await download(dfu, image(base, next), { leave: true, usb: rig.usb });
  // A board already holding the new image skips every sector: its CRCs were the check.
  const skipped = result.plan.sectors.every((s) => s.action === 'skip');
  check(result.verified !== 'off' || skipped, 're-flash was not verified');
  await waitForState(rig, 'application');
  return `${interrupted ? 'cut' : 'download finished before the cut'}; back in ${came}; re-flash ok`;
}

async function series(
  context: ScenarioContext,
  label: string,
  old: Uint8Array,
  next: Uint8Array,
  points: number[],
  tally: PowerCutTally,
): Promise<void> {
  const failures: string[] = [];
  let recovered = 0;
  for (const point of points) {
    try {
      await cutAt(context, old, next, point);
      recovered++;
    } catch (error) {
      failures.push(`${point}: ${(error as Error).message}`);
    }
  }
  tally.tried += points.length;
  tally.recovered += recovered;
  const unit = context.rig.powerCutUnit === 'flash-ops' ? 'flash operations' : 'ms';
  context.log(
    `${label}: ${recovered}/${points.length} recovered (cuts at ${points[0]}…${points.at(-1)} ${unit})`,
  );
  for (const f of failures.slice(0, 10)) context.log(`  not recovered at ${f}`);
}

export const powerCut: Scenario = {
  name: 'power-cut',
  title: 'a power cut at any flash operation of a download never bricks the board',
  async run(context) {
    const { rig } = context;
    if (!rig.canCutPower)
      throw new SkipScenario(`rig ${rig.name} has no power channel (relay.channels.power)`);
    const tally: PowerCutTally = { tried: 0, recovered: 0 };
    const appSize = rig.layout.partitions.application.size;
    // On a locked board every image is signed at the board's counter (the cuts never raise
    // it); the full images leave room for their signature trailer at the region's end.
    const oldSmall = (await appFile(context, '1.0.0')).bytes;
    const newSmall = (await appFile(context, '1.0.1')).bytes;
    const fullSize = rig.signing ? appSize - SIGNATURE_TRAILER_LENGTH : appSize;
    const full = async (seed: number, version: string) =>
      (
        await installable(
          context,
          `full-${version}`,
          syntheticApp(rig.layout, fullSize, seed, version),
        )
      ).bytes;
    const oldFull = await full(7, '2.0.0');
    const newFull = await full(8, '2.0.1');
    if (rig.powerCutUnit === 'flash-ops' && rig.probe) {
      const smallOps = await countOps(rig, rig.probe, oldSmall, newSmall);
      await series(
        context,
        `small application over an older one, every one of ${smallOps} operations`,
        oldSmall,
        newSmall,
        Array.from({ length: smallOps }, (_, i) => i + 1),
        tally,
      );
      const fullOps = await countOps(rig, rig.probe, oldFull, newFull);
      const n = Math.min(rig.config.powerCut.samples, fullOps);
      await series(
        context,
        `full ${appSize / 1024} kB download, ${n} of ${fullOps} operations`,
        oldFull,
        newFull,
        Array.from({ length: n }, (_, i) => 1 + Math.floor(((i + 0.5) * fullOps) / n)),
        tally,
      );
    } else {
      const ms = await downloadMs(rig, oldFull, newFull);
      const n = rig.config.powerCut.samples;
      await series(
        context,
        `full ${appSize / 1024} kB download (${Math.round(ms)} ms), ${n} moments`,
        oldFull,
        newFull,
        Array.from({ length: n }, (_, i) => Math.round(((i + 0.5) * ms) / n)),
        tally,
      );
    }
    lastPowerCut.tried = tally.tried;
    lastPowerCut.recovered = tally.recovered;
    context.log(`power-cut: ${tally.recovered}/${tally.tried} recovered`);
    check(
      tally.recovered === tally.tried,
      `power-cut: ${tally.recovered}/${tally.tried} recovered: the board did not come back after every cut`,
    );
  },
};
