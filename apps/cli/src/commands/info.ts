/**
 * stm32dfu info: who the board is, its mode and bootloader version, the memory map from the
 * device's own DfuSe layout string with the partitions, and the installed application:
 * stamped or not, its version, whether its CRC checks. Reads only; a running application
 * is described from its runtime interface and left running.
 */
import { formatVersion, verifyStamp } from '@stm32dfu/image-tools';
import { DfuDevice, upload } from '@stm32dfu/protocol';
import { openOneBoard } from '../boards.js';
import type { CommandContext, GlobalOptions } from '../cli.js';
import { formatSize, hex, layoutFor } from '../dfu.js';
import { EXIT, type ExitStatus } from '../errors.js';

export async function run(
  _args: unknown[],
  options: GlobalOptions,
  { output }: CommandContext,
): Promise<ExitStatus> {
  const handle = await openOneBoard(options, output);
  try {
    const device = await handle.device();
    const dfu = await DfuDevice.open(device, { clock: handle.clock });
    const layout = layoutFor(handle, options.board);
    const identity = {
      vendorId: device.vendorId,
      productId: device.productId,
      serialNumber: device.serialNumber,
      manufacturer: device.manufacturerName,
      product: device.productName,
      version: `${device.deviceVersionMajor}.${device.deviceVersionMinor}.${device.deviceVersionSubminor}`,
    };
    const mode =
      dfu.mode === 'dfu' ? (device.vendorId === 0x0483 ? 'st-rom' : 'bootloader') : 'application';
    let memory:
      | {
          name: string;
          sectors: { start: number; size: number; access: string; partition: string }[];
        }
      | undefined;
    let application: Record<string, unknown> | undefined;
    if (dfu.mode === 'dfu' && dfu.dfuse) {
      const dfuse = dfu.layout;
      const partitionOf = (a: number) =>
        a >= layout.partitions.application.start && a < layout.partitions.application.end
          ? 'application'
          : a >= layout.partitions.bootloader.start && a < layout.partitions.bootloader.end
            ? 'bootloader'
            : '-';
      memory = {
        name: dfuse.name,
        sectors: dfuse.sectors.map((s) => ({
          start: s.start,
          size: s.size,
          access: `${s.readable ? 'r' : '-'}${s.erasable ? 'e' : '-'}${s.writable ? 'w' : '-'}`,
          partition: partitionOf(s.start),
        })),
      };
      const base = layout.partitions.application.start;
      const head = await upload(dfu, [{ address: base, length: 0x2c }]);
      const check = verifyStamp(head, layout);
      if (check.verdict === 'bad-magic') {
        application = { stamped: false, message: check.message };
      } else {
        const length = Math.min(check.stamp.length, layout.partitions.application.size);
        const whole = await upload(dfu, [{ address: base, length: length > 0 ? length : 0x2c }]);
        const full = verifyStamp(whole, layout);
        application = {
          stamped: true,
          version: formatVersion(full.stamp.version),
          length: full.stamp.length,
          crcGood: full.verdict === 'valid',
          ...(full.verdict === 'valid' ? {} : { message: full.message }),
        };
      }
    }
    await dfu.release();
    output.result(
      {
        command: 'info',
        ok: true,
        exitStatus: EXIT.OK,
        board: handle.label,
        mode,
        identity,
        ...(memory ? { memory } : {}),
        ...(application ? { application } : {}),
      },
      () => {
        const lines = [
          `${handle.label}`,
          `  ${identity.manufacturer ?? '?'} ${identity.product ?? '?'}  ${device.vendorId.toString(16).padStart(4, '0')}:${device.productId.toString(16).padStart(4, '0')}  serial ${identity.serialNumber}`,
          `  mode ${mode}, ${mode === 'application' ? 'application' : 'bootloader'} version ${identity.version}`,
        ];
        if (memory) {
          lines.push(`  memory "${memory.name}":`);
          for (const s of memory.sectors)
            lines.push(
              `    ${hex(s.start)}  ${formatSize(s.size).padStart(7)}  ${s.access}  ${s.partition}`,
            );
        }
        if (application) {
          lines.push(
            application.stamped
              ? `  application: version ${application.version}, ${application.length} bytes, CRC ${application.crcGood ? 'good' : 'BAD'}`
              : '  application: none stamped (the bootloader stays in DFU mode)',
          );
        } else if (mode === 'application') {
          lines.push('  the application is running (stm32dfu detach sends it into the bootloader)');
        }
        return lines.join('\n');
      },
    );
    return EXIT.OK;
  } finally {
    await handle.close();
  }
}
