import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32Stm32Words } from '@stm32dfu/image-tools';
import { sectorAt } from '@stm32dfu/layout';
import type { DfuDevice, SecurityRecord } from '@stm32dfu/protocol';
import { check } from '../errors.js';
import { firmwareFiles, readFirmware, signed, stamped } from '../images.js';
import type { CliRun } from '../rig.js';
import { checkPolicy, requireSecurity } from '../security.js';
import { enterBootloader } from '../strategies.js';
import type { ScenarioContext } from './types.js';

/** A file a scenario flashes, and its bytes as they go to the board. */
export interface ImageFile {
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** The example application stamped as `version`, as the rig's board installs it (`installable`). */
export function appFile(context: ScenarioContext, version: string): Promise<ImageFile> {
  const { rig } = context;
  const app = stamped(readFirmware(firmwareFiles(rig.layout.board.id).app), rig.layout, version);
  return installable(context, `app-${version}`, app);
}

/**
 * A stamped image as a file in the scratch directory, ready for the rig's board: on a rig
 * whose board requires signatures, signed with the rig's test key (`signing.privateKeyFile`)
 * at the board's own counter (`boardRecord`), as `stm32dfu sign` signs a release, so that
 * flashing it never raises the counter (a bench's OTP is spent for good).
 */
export async function installable(
  context: ScenarioContext,
  name: string,
  image: Uint8Array,
): Promise<ImageFile> {
  const { rig } = context;
  if (!rig.signing) {
    const path = join(context.dir, `${name}.bin`);
    writeFileSync(path, image);
    return { path, bytes: image };
  }
  const { counter } = await boardRecord(context);
  const bytes = signed(image, rig.layout, rig.signing.privateKey, counter);
  const path = join(context.dir, `${name}.signed.bin`);
  writeFileSync(path, bytes);
  return { path, bytes };
}

const records = new WeakMap<ScenarioContext, Promise<SecurityRecord>>();

/**
 * The security record of a locked board (GET_SECURITY), read once per scenario: the board is
 * checked against the rig's signing policy first, so a bench built otherwise fails here.
 */
export function boardRecord(context: ScenarioContext): Promise<SecurityRecord> {
  let record = records.get(context);
  if (!record) {
    record = (async () => {
      const dfu = await enterBootloader(context.rig);
      const read = await requireSecurity(dfu);
      await dfu.release();
      checkPolicy(context.rig.name, read, context.rig.signing!);
      context.log(
        `locked board (counter ${read.counter} of ${read.counterCapacity}): its images are signed with the rig's test key at counter ${read.counter}, which does not raise it`,
      );
      return read;
    })();
    records.set(context, record);
  }
  return record;
}

/**
 * Whether the application region starts with `image`, the rest of its last sector erased:
 * read back where the board allows UPLOAD, else by the board's CRC of those whole sectors
 * (all a lock-upload board answers, and enough to tell two images apart).
 */
export async function regionHolds(
  context: ScenarioContext,
  dfu: DfuDevice,
  image: Uint8Array,
): Promise<boolean> {
  const { layout } = context.rig;
  const base = layout.partitions.application.start;
  if (dfu.functional.canUpload) {
    const bytes = await dfu.readMemory(base, image.length);
    return bytes.every((b, i) => b === image[i]);
  }
  const end = sectorAt(layout, base + image.length - 1).end;
  const expected = new Uint8Array(end - base).fill(0xff);
  expected.set(image);
  return (await dfu.deviceCrc(base, expected.length)) === crc32Stm32Words(expected);
}

/** A CLI step that must end with `status`; its result line is returned. */
export async function cliExpect(
  context: ScenarioContext,
  args: readonly string[],
  status: number,
): Promise<CliRun> {
  const run = await context.rig.cli(args);
  const said = (run.result?.error as { message?: string } | undefined)?.message;
  context.log(`$ stm32dfu ${args.join(' ')} → exit ${run.status}${said ? ` (${said})` : ''}`);
  check(
    run.status === status,
    `\`stm32dfu ${args.join(' ')}\` exited ${run.status}, expected ${status}:\n${run.stderr.trim() || run.stdout.trim()}`,
  );
  return run;
}
