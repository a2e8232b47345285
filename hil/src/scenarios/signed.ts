/**
 * Signed firmware on a locked board (docs/signed-firmware.md), written against `Rig` alone so
 * they run on the virtual rig in every test run and on a bench whose bootloader was built
 * from a board JSON with `signing`. Every download goes through @stm32dfu/protocol, so the
 * board itself (not a host-side pre-check) is what refuses an image; what a user would check
 * is read back from the board: where it boots after a power cycle, and its security record
 * (GET_SECURITY: the last verdict, the anti-rollback counter). On a rig with a probe (the
 * virtual one) the OTP and flash are read too.
 */
import { generateKeyPairSync } from 'node:crypto';
import { crc32Stm32Words, type SignatureVerdict } from '@stm32dfu/image-tools';
import { sectorAt } from '@stm32dfu/layout';
import {
  DFUSE_FIRST_DATA_BLOCK,
  type DfuDevice,
  DfuError,
  DfuStatusError,
  download,
  errFIRMWARE,
  errTARGET,
  type SecurityRecord,
} from '@stm32dfu/protocol';
import type { RigSigning } from '../config.js';
import { check, HilAssertionError } from '../errors.js';
import { firmwareFiles, readFirmware, signed, stamped, tampered } from '../images.js';
import type { Rig } from '../rig.js';
import { checkPolicy, otpCounter, requireSecurity } from '../security.js';
import {
  type BoardState,
  currentState,
  enterBootloader,
  stateAfterStart,
  waitForState,
} from '../strategies.js';
import { type Scenario, type ScenarioContext, SkipScenario } from './types.js';

/** The stamp's magic word, at base + 0x1C ("STMP"). */
const MAGIC_OFFSET = 0x1c;
const MAGIC = 0x504d5453;

/** Skip on a rig whose config declares no signing; else its policy, keys read. */
export function requireSigning(rig: Rig): RigSigning {
  if (!rig.signing) {
    throw new SkipScenario(
      `rig ${rig.name} declares no signing (its config has no signing section), so its board installs any stamped image; add signing to a rig whose bootloader was built with keys (docs/hil.md, "Signed boards")`,
    );
  }
  return rig.signing;
}

/** The example application stamped as `version`, signed with `key` (the rig's test key). */
function signedApp(rig: Rig, version: string, counter: number, key = rig.signing!.privateKey) {
  const app = stamped(readFirmware(firmwareFiles(rig.layout.board.id).app), rig.layout, version);
  return signed(app, rig.layout, key, counter);
}

const asImage = (rig: Rig, data: Uint8Array) => ({
  segments: [{ address: rig.layout.partitions.application.start, data }],
});

/** The board's security record, from the bootloader (entered by DETACH or reset). */
async function enterAndRead(rig: Rig): Promise<{ dfu: DfuDevice; record: SecurityRecord }> {
  const dfu = await enterBootloader(rig);
  return { dfu, record: await requireSecurity(dfu) };
}

/** Enter the bootloader, check the board runs the config's policy, return its record. */
async function checkedRecord(context: ScenarioContext): Promise<SecurityRecord> {
  const { rig } = context;
  const { dfu, record } = await enterAndRead(rig);
  await dfu.release();
  checkPolicy(rig.name, record, rig.signing!);
  return record;
}

/** Skip when the board's counter has fewer than `steps` left (OTP is spent for good). */
function requireCounterRoom(rig: Rig, record: SecurityRecord, steps: number): void {
  if (record.counterCapacity - record.counter < steps) {
    throw new SkipScenario(
      `rig ${rig.name}'s anti-rollback counter is at ${record.counter} of ${record.counterCapacity} and this scenario raises it by up to ${steps}: the board's OTP is spent; give the rig a new board`,
    );
  }
}

/** Install `image` through the protocol (download, verify, leave) and see it boot. */
async function install(rig: Rig, image: Uint8Array, dfu?: DfuDevice): Promise<void> {
  const device = dfu ?? (await enterBootloader(rig));
  await download(device, asImage(rig, image), { leave: true, usb: rig.usb });
  await waitForState(rig, 'application');
}

/** Supply off and on (a reset where the rig cannot switch the supply); the state it comes to. */
async function powerCycle(rig: Rig): Promise<BoardState | undefined> {
  if (rig.canCutPower) {
    await rig.setPower(false);
    await rig.clock.sleep(rig.config.timings.resetPulseMs);
    await rig.setPower(true);
  } else {
    await rig.setBoot0(false);
    await rig.pulseReset();
  }
  await rig.clock.sleep(rig.config.timings.settleMs);
  return stateAfterStart(rig);
}

const cycleName = (rig: Rig) => (rig.canCutPower ? 'a power cycle' : 'a reset');

export const signedInstall: Scenario = {
  name: 'signed-install-boots',
  title: 'a signed image installs, boots and raises the anti-rollback counter',
  async run(context) {
    const { rig } = context;
    const signing = requireSigning(rig);
    const before = await checkedRecord(context);
    requireCounterRoom(rig, before, 1);
    context.log(
      `board policy as configured: ${signing.publicKeys.length} key(s), lockUpload ${signing.lockUpload}, verifyAtBoot ${signing.verifyAtBoot}; counter ${before.counter} of ${before.counterCapacity}`,
    );
    const counter = before.counter + 1;
    // Download, then manifest by hand so the verdict is read before the bus reset starts the
    // image (the record lives in the bootloader's RAM).
    const dfu = await enterBootloader(rig);
    const base = rig.layout.partitions.application.start;
    await download(dfu, asImage(rig, signedApp(rig, '5.0.0', counter)), { usb: rig.usb });
    await dfu.setAddress(base, undefined, 'leave');
    const manifested = await dfu.endDownload(DFUSE_FIRST_DATA_BLOCK);
    check(manifested.end === 'idle', `manifestation ended ${manifested.end}, not back in dfuIDLE`);
    const record = await requireSecurity(dfu);
    check(
      record.lastVerdict === 'valid',
      `the board's verdict is ${record.lastVerdict}, not valid`,
    );
    check(
      record.counter === counter,
      `the board's counter is ${record.counter} after installing an image signed at ${counter}: it was not raised`,
    );
    context.log(
      `GET_SECURITY after manifestation: verdict valid, counter ${before.counter} → ${record.counter}`,
    );
    await dfu.settleManifestation(manifested, { usb: rig.usb });
    context.log(`signed image 5.0.0 (counter ${counter}) installed: ${await evidence(rig)}`);
    const state = await powerCycle(rig);
    check(
      state === 'application',
      `after ${cycleName(rig)} the board is ${state ?? 'not on USB'}, not running the signed image`,
    );
    context.log(`after ${cycleName(rig)} it boots again: ${await evidence(rig)}`);
    const again = await enterAndRead(rig);
    await again.dfu.leave({ usb: rig.usb });
    check(
      again.record.counter === counter,
      `after ${cycleName(rig)} the counter reads ${again.record.counter}, not ${counter}`,
    );
    if (rig.probe) {
      const otp = otpCounter(rig.probe.readOtp());
      check(otp === counter, `the OTP thermometer holds ${otp}, GET_SECURITY says ${counter}`);
      context.log(`probe: the OTP thermometer holds ${otp}`);
    }
  },
};

async function evidence(rig: Rig): Promise<string> {
  return rig.applicationEvidence(rig.config.timings.enumerateTimeoutMs);
}

interface Refusal {
  readonly what: string;
  readonly verdict: Exclude<SignatureVerdict, 'valid'>;
  readonly image: (rig: Rig, counter: number) => Uint8Array;
}

const REFUSALS: readonly Refusal[] = [
  {
    what: 'unsigned',
    verdict: 'missing',
    image: (rig) =>
      stamped(readFirmware(firmwareFiles(rig.layout.board.id).app), rig.layout, '5.1.0'),
  },
  {
    what: 'tampered (one byte flipped after signing, stamp CRC fixed)',
    verdict: 'bad-digest',
    image: (rig, counter) => tampered(signedApp(rig, '5.1.1', counter), rig.layout, '5.1.1'),
  },
  {
    what: 'signed with a key the board does not hold',
    verdict: 'unknown-key',
    image: (rig, counter) =>
      signedApp(rig, '5.1.2', counter, generateKeyPairSync('ed25519').privateKey),
  },
  {
    what: 'rolled back (signed at a lower counter than the board holds)',
    verdict: 'rolled-back',
    image: (rig, counter) => signedApp(rig, '5.1.3', counter - 1),
  },
];

export const signedRefusals: Scenario = {
  name: 'signed-refusals',
  title:
    'unsigned, tampered, wrong-key and rolled-back images are refused: the board stays in the bootloader, its counter unchanged',
  async run(context) {
    const { rig } = context;
    requireSigning(rig);
    let record = await checkedRecord(context);
    if (record.counter === 0) {
      // A rolled-back image needs a counter to fall below: raise it to 1, once in a board's life.
      requireCounterRoom(rig, record, 1);
      await install(rig, signedApp(rig, '5.0.9', 1));
      context.log('counter was 0: a signed image at counter 1 installed first');
      record = await checkedRecord(context);
    }
    const counter = record.counter;
    const failures: string[] = [];
    for (const refusal of REFUSALS) {
      try {
        // A good image installed first: a refused download must leave nothing bootable.
        await install(rig, signedApp(rig, '5.0.0', counter));
        const otpBefore = rig.probe?.readOtp();
        const dfu = await enterBootloader(rig);
        const error = await download(dfu, asImage(rig, refusal.image(rig, counter)), {
          leave: true,
          usb: rig.usb,
        }).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (error === undefined) throw new HilAssertionError('the board installed it');
        if (!(error instanceof DfuStatusError && error.status === errFIRMWARE)) {
          throw new HilAssertionError(
            `the download failed, but not with the bootloader's refusal (errFIRMWARE at manifestation): ${(error as Error).message}`,
          );
        }
        const after = await requireSecurity(dfu);
        await dfu.release();
        check(
          after.lastVerdict === refusal.verdict,
          `the board's verdict is ${after.lastVerdict}, expected ${refusal.verdict}`,
        );
        check(after.counter === counter, `the counter moved from ${counter} to ${after.counter}`);
        check(
          (await currentState(rig)) === 'bootloader',
          `after the refusal the board is ${(await currentState(rig)) ?? 'not on USB'}, not in the bootloader`,
        );
        const state = await powerCycle(rig);
        check(
          state === 'bootloader',
          `after ${cycleName(rig)} the board is ${state === 'application' ? 'running an application' : (state ?? 'not on USB')}, not in the bootloader`,
        );
        const again = await enterAndRead(rig);
        await again.dfu.release();
        check(
          again.record.counter === counter,
          `after ${cycleName(rig)} the counter is ${again.record.counter}, not ${counter}`,
        );
        let otp = '';
        if (rig.probe && otpBefore) {
          const otpAfter = rig.probe.readOtp();
          check(
            otpAfter.every((b, i) => b === otpBefore[i]),
            'the OTP area changed',
          );
          otp = ', OTP unchanged';
        }
        context.log(
          `${refusal.what}: refused (errFIRMWARE, verdict ${after.lastVerdict}); in the bootloader after ${cycleName(rig)}; counter ${counter}${otp}`,
        );
      } catch (error) {
        failures.push(`${refusal.what}: ${(error as Error).message}`);
        context.log(`${refusal.what}: FAILED: ${(error as Error).message}`);
      }
    }
    check(failures.length === 0, `not refused as expected: ${failures.join('; ')}`);
  },
};

export const signedUploadLocked: Scenario = {
  name: 'signed-upload-locked',
  title: 'a lock-upload board refuses UPLOAD and partial-sector CRCs, and still boots its image',
  async run(context) {
    const { rig } = context;
    const signing = requireSigning(rig);
    if (!signing.lockUpload) {
      throw new SkipScenario(
        `rig ${rig.name}'s board does not lock UPLOAD (signing.lockUpload is false in its config)`,
      );
    }
    const record = await checkedRecord(context);
    const image = signedApp(rig, '5.0.0', record.counter);
    await install(rig, image);
    const base = rig.layout.partitions.application.start;
    const dfu = await enterBootloader(rig);
    check(!dfu.functional.canUpload, 'the DFU functional descriptor still sets bitCanUpload');
    context.log('bitCanUpload is clear in the DFU functional descriptor');
    // The request goes out as it is: only the bootloader can refuse it.
    const read = await dfu.readMemory(base, 256).then(
      (bytes) => bytes,
      (e: unknown) => e,
    );
    check(!(read instanceof Uint8Array), 'UPLOAD of the application returned its bytes');
    check(
      read instanceof DfuError,
      `UPLOAD failed without the bootloader's refusal: ${(read as Error).message}`,
    );
    context.log(`UPLOAD at 0x${base.toString(16)}: refused (${(read as DfuError).message})`);
    await dfu.ensureIdle(undefined, 'read');
    const partial = await dfu.deviceCrc(base, 4).then(
      (crc) => crc,
      (e: unknown) => e,
    );
    check(
      partial instanceof DfuStatusError && partial.status === errTARGET,
      `a CRC of 4 bytes was not refused with errTARGET: ${partial instanceof Error ? partial.message : `it answered 0x${(partial as number).toString(16)}`}`,
    );
    context.log('CRC of 4 bytes (which would read the flash out): refused (errTARGET)');
    await dfu.ensureIdle(undefined, 'verify');
    // Whole sectors still compare, so a host can tell what is installed.
    const sector = sectorAt(rig.layout, base);
    const expected = new Uint8Array(sector.size).fill(0xff);
    expected.set(image);
    const crc = await dfu.deviceCrc(base, sector.size);
    check(
      crc === crc32Stm32Words(expected),
      `the CRC of the first application sector is 0x${crc.toString(16)}, not that of the installed image`,
    );
    context.log(
      `CRC of the whole first sector (${sector.size / 1024} kB): matches the installed image`,
    );
    await dfu.release();
    const state = await powerCycle(rig);
    check(
      state === 'application',
      `after ${cycleName(rig)} the board is ${state}, not running its image`,
    );
    context.log(`after ${cycleName(rig)} it boots: ${await evidence(rig)}`);
  },
};

export const signedRevocation: Scenario = {
  name: 'signed-revocation',
  title:
    'an interrupted re-flash revokes the installed image first: zeros over its magic word, so it no longer boots',
  async run(context) {
    const { rig } = context;
    requireSigning(rig);
    const record = await checkedRecord(context);
    const image = signedApp(rig, '5.0.0', record.counter);
    await install(rig, image);
    const base = rig.layout.partitions.application.start;
    const first = sectorAt(rig.layout, base);
    const magicAt = base + MAGIC_OFFSET;
    if (rig.probe) {
      const magic = new DataView(rig.probe.readFlash(magicAt, 4).buffer).getUint32(0, true);
      check(magic === MAGIC, `the installed image's magic word reads 0x${magic.toString(16)}`);
      context.log(`probe: magic word at 0x${magicAt.toString(16)} written ("STMP")`);
    }
    // A re-flash that changes a sector the image does not use, then stops: its first sector
    // is kept whole, so only the revocation stands between it and a boot.
    const dfu = await enterBootloader(rig);
    const other = first.end;
    await dfu.eraseSector(other);
    context.log(`erased the sector at 0x${other.toString(16)} (outside the image), then stopped`);
    const revoked = new Uint8Array(first.size).fill(0xff);
    revoked.set(image);
    revoked.fill(0, MAGIC_OFFSET, MAGIC_OFFSET + 4);
    if (rig.probe) {
      const now = rig.probe.readFlash(base, first.size);
      const at = now.findIndex((b, i) => b !== revoked[i]);
      check(
        at < 0,
        at >= MAGIC_OFFSET && at < MAGIC_OFFSET + 4
          ? `the magic word was not programmed to zero: it reads ${Array.from(now.subarray(MAGIC_OFFSET, MAGIC_OFFSET + 4)).join(',')}`
          : `the first sector changed at 0x${(base + at).toString(16)} besides the magic word`,
      );
      context.log(
        'probe: the magic word reads 00 00 00 00; the rest of the first sector is the image',
      );
    }
    // The board's own CRC of the whole first sector: the image with a zeroed magic word.
    const crc = await dfu.deviceCrc(base, first.size);
    check(
      crc === crc32Stm32Words(revoked),
      crc ===
        crc32Stm32Words(
          (() => {
            const kept = new Uint8Array(first.size).fill(0xff);
            kept.set(image);
            return kept;
          })(),
        )
        ? 'the first sector still holds the image with its magic word: the chip did not take the program of zeros over a written word (or the bootloader did not revoke)'
        : `the first sector's CRC 0x${crc.toString(16)} is neither the image's nor the revoked image's`,
    );
    context.log('board CRC of the first sector: the image with its magic word programmed to zero');
    await dfu.release();
    const state = await powerCycle(rig);
    check(
      state === 'bootloader',
      `after ${cycleName(rig)} the board is ${state === 'application' ? 'running the old image: it was not revoked' : (state ?? 'not on USB')}`,
    );
    context.log(
      `after ${cycleName(rig)} the old image no longer boots: the board is in the bootloader`,
    );
    // The same image can be put back (same counter), and boots.
    await install(rig, image);
    context.log('re-flashing the same image installs it again and it boots');
  },
};

/** One manifestation cut: what the board came back as, or throws what went wrong. */
async function cutInManifestation(
  rig: Rig,
  next: Uint8Array,
  counter: number,
  verify: boolean,
  point: number,
): Promise<'bootloader' | 'new image'> {
  const { dfu, record } = await enterAndRead(rig);
  await download(dfu, asImage(rig, next), { verify, usb: rig.usb });
  // The data is all in; from here to the magic word is manifestation.
  let cut = { cancel() {} };
  if (point === 0) await rig.setPower(false);
  else cut = rig.armPowerCut(point);
  await dfu.leave({ usb: rig.usb }).catch(() => {});
  cut.cancel();
  const state = await powerCycle(rig);
  if (state === undefined || state === 'rom') {
    throw new HilAssertionError(
      `the board is ${state === 'rom' ? "in ST's ROM" : 'not on USB'}: bricked`,
    );
  }
  if (state === 'application') {
    const running = await enterAndRead(rig);
    await running.dfu.release();
    check(
      running.record.counter >= counter,
      `the board boots an image while its counter is ${running.record.counter}, below the new image's ${counter}: the counter was not raised before the magic word`,
    );
    if (rig.probe) {
      const flash = rig.probe.readFlash(rig.layout.partitions.application.start, next.length);
      check(
        flash.every((b, i) => b === next[i]),
        'the board boots, but the application region is not the new image',
      );
    }
  } else {
    const inBootloader = await enterAndRead(rig);
    await inBootloader.dfu.release();
    check(
      inBootloader.record.counter === record.counter || inBootloader.record.counter === counter,
      `the counter is ${inBootloader.record.counter}: neither the old ${record.counter} nor the new ${counter}`,
    );
  }
  // The same image again must install and boot (the counter equal to its own is accepted).
  await install(rig, next);
  const after = await enterAndRead(rig);
  check(
    after.record.counter === counter,
    `after the re-flash the counter is ${after.record.counter}, not ${counter}`,
  );
  await after.dfu.leave({ usb: rig.usb });
  await waitForState(rig, 'application');
  return state === 'application' ? 'new image' : 'bootloader';
}

export const signedPowerCut: Scenario = {
  name: 'signed-power-cut',
  title:
    "a power cut at any flash or OTP operation of a signed image's manifestation: bootloader or the new image with its counter raised, and a re-flash works",
  async run(context) {
    const { rig } = context;
    requireSigning(rig);
    if (!rig.canCutPower)
      throw new SkipScenario(`rig ${rig.name} has no power channel (relay.channels.power)`);
    const start = await checkedRecord(context);
    const exact = rig.powerCutUnit === 'flash-ops';
    // A bench raises its counter once per series (OTP is spent for good); the virtual board,
    // whose OTP is new at every run, once per point so every OTP operation is cut.
    const samples = rig.config.powerCut.samples;
    requireCounterRoom(rig, start, exact ? 64 : 2);
    let counter = start.counter;
    let version = 0;
    const nextImage = (raise: boolean) => {
      if (raise) counter++;
      version++;
      return signedApp(rig, `7.0.${version}`, counter);
    };
    await install(rig, nextImage(false));
    let tried = 0;
    let recovered = 0;
    for (const verify of [true, false]) {
      const label = verify
        ? 'verified download (the held block written by the verify)'
        : 'unverified download (the held block written at manifestation)';
      // Where the points are: every operation of the manifestation on the virtual rig (counted
      // in a first run), moments spread over its measured duration on a bench.
      const { dfu } = await enterAndRead(rig);
      // The measuring run raises the counter only where every point raises it anyway.
      const probe = nextImage(exact);
      await download(dfu, asImage(rig, probe), { verify, usb: rig.usb });
      const ops0 = rig.probe?.flashOperations() ?? 0;
      const t0 = rig.clock.now();
      await dfu.leave({ usb: rig.usb });
      const span = exact ? (rig.probe?.flashOperations() ?? 0) - ops0 : rig.clock.now() - t0;
      await waitForState(rig, 'application');
      const points = exact
        ? Array.from({ length: span + 1 }, (_, i) => i)
        : Array.from({ length: samples }, (_, i) => Math.round(((i + 0.5) * span) / samples));
      const failures: string[] = [];
      const came = { bootloader: 0, 'new image': 0 };
      let raised = false;
      for (const point of points) {
        tried++;
        try {
          const next = nextImage(exact || !raised);
          raised = true;
          came[await cutInManifestation(rig, next, counter, verify, point)]++;
          recovered++;
        } catch (error) {
          failures.push(`${point}: ${(error as Error).message}`);
        }
      }
      const unit = exact ? 'operations (0: before the first)' : 'ms';
      context.log(
        `${label}: ${points.length - failures.length}/${points.length} recovered (cuts at ${points[0]}…${points.at(-1)} of ${Math.round(span)} ${unit}): ${came.bootloader} back in the bootloader, ${came['new image']} booting the new image with its counter raised; each re-flashed`,
      );
      for (const f of failures.slice(0, 10)) context.log(`  not recovered at ${f}`);
    }
    context.log(
      `signed power-cut: ${recovered}/${tried} recovered; counter ${start.counter} → ${counter}`,
    );
    check(recovered === tried, `signed power-cut: ${recovered}/${tried} recovered`);
  },
};
