/** What the bootloader refuses: writes to its own sectors, and images it cannot take. */

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sectorAt } from '@stm32dfu/layout';
import { AddressError, DfuError, DfuStatusError } from '@stm32dfu/protocol';
import { check } from '../errors.js';
import { firmwareFiles, readFirmware, stamped } from '../images.js';
import { requireSecurity } from '../security.js';
import { bootApplication, enterBootloader, enterRom } from '../strategies.js';
import { appFile, cliExpect } from './common.js';
import type { Scenario, ScenarioContext } from './types.js';

/**
 * What the bootloader's sectors and the application region hold, to compare before and
 * after. Where the board allows UPLOAD, both as the CLI reads them back. A lock-upload board
 * (`stm32dfu read` exits 9 there) answers for the application region with its CRC of each
 * whole sector, and for its own sectors with nothing: those are read through ST's ROM, unless
 * the board keeps its flash read-protected (RDP level 1), when only the bootloader answering
 * afterwards shows they are intact.
 */
async function snapshot(
  context: ScenarioContext,
  name: string,
): Promise<{ bootloader: Uint8Array | undefined; app: Uint8Array }> {
  const { rig } = context;
  const { partitions } = rig.layout;
  if (rig.signing?.lockUpload) {
    const dfu = await enterBootloader(rig);
    const crcs: number[] = [];
    for (let at = partitions.application.start; at < partitions.application.end; ) {
      const sector = sectorAt(rig.layout, at);
      crcs.push(await dfu.deviceCrc(sector.start, sector.size));
      at = sector.end;
    }
    const record = await requireSecurity(dfu);
    await dfu.release();
    const app = new Uint8Array(Uint32Array.from(crcs).buffer);
    if (record.flashProtected) {
      context.log(
        `${name}: application region by its ${crcs.length} sector CRCs; the bootloader's sectors are read-protected (RDP level 1), so they are not compared`,
      );
      return { bootloader: undefined, app };
    }
    const rom = await enterRom(rig);
    const bootloader = await rom.readMemory(
      partitions.bootloader.start,
      partitions.bootloader.size,
    );
    await rom.release();
    await bootApplication(rig);
    context.log(
      `${name}: application region by its ${crcs.length} sector CRCs (UPLOAD is locked), the bootloader's sectors read through ST's ROM`,
    );
    return { bootloader, app };
  }
  const read = async (start: number, size: number, file: string) => {
    const path = join(context.dir, file);
    await cliExpect(context, ['read', path, '--range', `0x${start.toString(16)}:${size}`], 0);
    return new Uint8Array(readFileSync(path));
  };
  return {
    bootloader: await read(
      partitions.bootloader.start,
      partitions.bootloader.size,
      `${name}-bootloader.bin`,
    ),
    app: await read(partitions.application.start, partitions.application.size, `${name}-app.bin`),
  };
}

function same(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export const bootloaderProtected: Scenario = {
  name: 'bootloader-refuses-own-sectors',
  title: 'the bootloader refuses writes to its own sectors (CLI, dfu-util, raw requests)',
  async run(context) {
    const { rig } = context;
    const base = rig.layout.partitions.bootloader.start;
    await cliExpect(context, ['flash', (await appFile(context, '1.0.0')).path], 0);
    const before = await snapshot(context, 'before');
    // Through our CLI: refused before anything is sent, with the protected-sector status.
    await cliExpect(context, ['erase', '--sectors', '0'], 9);
    const blFile = join(context.dir, 'over-bootloader.bin');
    writeFileSync(blFile, readFirmware(firmwareFiles(rig.layout.board.id).bootloader));
    await cliExpect(context, ['flash', blFile, '--address', `0x${base.toString(16)}`], 8);
    // dfu-util, told to ignore the layout's read-only mark: the bootloader itself refuses.
    const dfuUtil = await rig.dfuUtil([
      '-a',
      '0',
      '-s',
      `0x${base.toString(16)}:force`,
      '-D',
      blFile,
    ]);
    if (dfuUtil === undefined) context.log('dfu-util is not installed: its step is left out');
    else {
      context.log(`$ ${dfuUtil.argv.slice(-7).join(' ')} → exit ${dfuUtil.status}`);
      check(dfuUtil.status !== 0, `dfu-util wrote to the bootloader's sectors:\n${dfuUtil.output}`);
    }
    // Raw DfuSe requests, no host-side checks at all.
    const dfu = await enterBootloader(rig);
    for (const [what, request] of [
      ['erase of sector 0', () => dfu.eraseSector(base)],
      [
        'write to 0x08000000',
        async () => {
          await dfu.setAddress(base);
          await dfu.dnload(2, new Uint8Array(dfu.transferSize), 'write', base);
        },
      ],
    ] as const) {
      const error = await request().then(
        () => undefined,
        (e: unknown) => e,
      );
      // The request went out as it is; only the device's status can refuse it.
      check(error instanceof DfuError, `the bootloader accepted a raw ${what}`);
      check(
        error instanceof DfuStatusError || error instanceof AddressError,
        `a raw ${what} failed without the bootloader's refusal status: ${(error as Error).message}`,
      );
      const status = error instanceof DfuStatusError ? error.statusName : error.message;
      context.log(`raw ${what}: refused (${status})`);
      await dfu.ensureIdle(undefined, 'write');
    }
    await dfu.release();
    const after = await snapshot(context, 'after');
    check(same(before.bootloader, after.bootloader), "the bootloader's sectors changed");
    check(same(before.app, after.app), 'the application region changed');
    await bootApplication(rig);
  },
};

export const badImageRefused: Scenario = {
  name: 'bad-image-refused',
  title: 'an image that does not fit is refused and nothing on the board changes',
  async run(context) {
    const { rig } = context;
    const app = await appFile(context, '1.0.0');
    await cliExpect(context, ['flash', app.path], 0);
    const big = join(context.dir, 'too-big.bin');
    const region = rig.layout.partitions.application;
    writeFileSync(big, new Uint8Array(region.size + 4096).fill(0x5a));
    const run = await cliExpect(context, ['flash', big], 8);
    check(
      (run.result?.error as { code?: string } | undefined)?.code === 'OUTSIDE_REGION',
      `refused for another reason: ${run.stdout}`,
    );
    if (rig.signing) {
      // A locked board takes only signed images: the CLI asks it first and sends nothing.
      const unsigned = join(context.dir, 'unsigned.bin');
      const raw = readFirmware(firmwareFiles(rig.layout.board.id).app);
      writeFileSync(unsigned, stamped(raw, rig.layout, '1.0.1'));
      const refused = await cliExpect(context, ['flash', unsigned], 10);
      check(
        (refused.result?.error as { code?: string } | undefined)?.code === 'IMAGE_REFUSED',
        `the unsigned image was refused for another reason: ${refused.stdout}`,
      );
    }
    await cliExpect(context, ['verify', app.path], 0);
    await bootApplication(rig);
    context.log(await rig.applicationEvidence(rig.config.timings.enumerateTimeoutMs));
  },
};
