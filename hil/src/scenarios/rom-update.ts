/** Update the bootloader itself through ST's ROM bootloader; the application still boots. */
import { download } from '@stm32dfu/protocol';
import { check } from '../errors.js';
import { firmwareFiles, readFirmware } from '../images.js';
import { bootApplication, enterRom } from '../strategies.js';
import { appFile, cliExpect } from './common.js';
import { requireOpenBoard } from './signed.js';
import type { Scenario } from './types.js';

export const bootloaderUpdateViaRom: Scenario = {
  name: 'bootloader-update-via-rom',
  title: "the bootloader is rewritten through ST's ROM bootloader and the application still boots",
  async run(context) {
    const { rig } = context;
    requireOpenBoard(rig);
    const app = appFile(context, '1.0.0');
    await cliExpect(context, ['flash', app.path], 0);
    const bootloader = readFirmware(firmwareFiles(rig.layout.board.id).bootloader);
    const rom = await enterRom(rig);
    context.log(`ST's ROM bootloader on USB (${rom.alternates.length} alternate settings)`);
    // Every sector rewritten (no skipping of equal ones) and read back.
    const result = await download(
      rom,
      { segments: [{ address: rig.layout.partitions.bootloader.start, data: bootloader }] },
      { differential: false },
    );
    check(result.verified !== 'off', 'the ROM write was not verified');
    const written = result.plan.sectors.filter((s) => s.action !== 'skip').length;
    context.log(
      `bootloader written: ${bootloader.length} bytes, ${written} sector(s), verified by ${result.verified}`,
    );
    await rom.release();
    await bootApplication(rig);
    context.log(await rig.applicationEvidence(rig.config.timings.enumerateTimeoutMs));
    await cliExpect(context, ['verify', app.path], 0);
  },
};
