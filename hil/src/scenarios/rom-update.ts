/** Update the bootloader itself through ST's ROM bootloader; the application still boots. */
import { type DfuDevice, download } from '@stm32dfu/protocol';
import { check } from '../errors.js';
import { firmwareFiles, readFirmware } from '../images.js';
import { bootApplication, enterRom } from '../strategies.js';
import { appFile, boardRecord, cliExpect } from './common.js';
import { type Scenario, type ScenarioContext, SkipScenario } from './types.js';

/**
 * The bootloader to write: this repository's build on an open board. A locked board's
 * bootloader was built from its board JSON, keys and policy compiled in, and the build here
 * would unlock it: it gets its own bootloader back, read through the ROM first (every sector
 * is still erased, written and verified).
 */
async function bootloaderImage(context: ScenarioContext, rom: DfuDevice): Promise<Uint8Array> {
  const { rig } = context;
  if (!rig.signing) return readFirmware(firmwareFiles(rig.layout.board.id).bootloader);
  const { bootloader } = rig.layout.partitions;
  const own = await rom.readMemory(bootloader.start, bootloader.size);
  // Erased flash past the image stays erased, as writing the build's image would leave it.
  let length = own.length;
  while (length > 0 && own[length - 1] === 0xff) length--;
  context.log(
    `locked board: its own bootloader (${length} bytes, read through the ROM) goes back, not this repository's build`,
  );
  return own.slice(0, (length + 3) & ~3);
}

export const bootloaderUpdateViaRom: Scenario = {
  name: 'bootloader-update-via-rom',
  title: "the bootloader is rewritten through ST's ROM bootloader and the application still boots",
  async run(context) {
    const { rig } = context;
    if (rig.signing && (await boardRecord(context)).flashProtected) {
      throw new SkipScenario(
        `rig ${rig.name}'s board keeps its flash read-protected (RDP level 1, protectFlash in its board JSON): ST's ROM can neither read nor write it`,
      );
    }
    const app = await appFile(context, '1.0.0');
    await cliExpect(context, ['flash', app.path], 0);
    const rom = await enterRom(rig);
    context.log(`ST's ROM bootloader on USB (${rom.alternates.length} alternate settings)`);
    const bootloader = await bootloaderImage(context, rom);
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
