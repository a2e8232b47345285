/**
 * stm32dfu info: who the board is, its mode and bootloader version, the memory map from the
 * device's own DfuSe layout string with the partitions, and the installed application:
 * stamped or not, its version, whether its CRC checks; our bootloader's security record
 * (signatures required, keys, counter, upload lock). Reads only; a running application is
 * described from its runtime interface and left running, unless --detach asks for the
 * bootloader's view: sent into the bootloader, described, then started again.
 */
import { formatVersion, verifyStamp } from '@stm32dfu/image-tools';
import { DfuDevice, detach, upload } from '@stm32dfu/protocol';
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
    let device = await handle.device();
    let dfu = await DfuDevice.open(device, { clock: handle.clock });
    const detached = dfu.mode === 'runtime' && Boolean(options.detach);
    if (detached) {
      dfu = await detach(dfu, { usb: handle.usb });
      device = dfu.usb;
    }
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
    // Our bootloader's security record; ST's ROM and older bootloaders stall the request.
    const record = dfu.mode === 'dfu' ? await dfu.readSecurity() : undefined;
    const security = record && {
      signaturesRequired: record.signaturesRequired,
      verifyAtBoot: record.verifyAtBoot,
      uploadLocked: record.uploadLocked,
      flashProtected: record.flashProtected,
      checkBuiltIn: record.checkBuiltIn,
      keyIds: [...record.keyIds],
      boardId: record.boardId,
      counter: record.counter,
      counterCapacity: record.counterCapacity,
      lastVerdict: record.lastVerdict,
    };
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
      if (record?.uploadLocked || !dfu.functional.canUpload) {
        application = {
          readable: false,
          message:
            'the board does not read its flash out (upload locked): compare an image with `stm32dfu verify`',
        };
      }
    }
    if (dfu.mode === 'dfu' && dfu.dfuse && !application) {
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
    // Sent into the bootloader only to be described: start the application again.
    if (detached) await dfu.leave({ usb: handle.usb });
    else await dfu.release();
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
        ...(security ? { security } : {}),
        ...(detached ? { restarted: true } : {}),
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
        if (security) lines.push(...securityLines(security));
        if (application?.readable === false) {
          lines.push(`  application: not readable (${application.message})`);
        } else if (application) {
          lines.push(
            application.stamped
              ? `  application: version ${application.version}, ${application.length} bytes, CRC ${application.crcGood ? 'good' : 'BAD'}`
              : '  application: none stamped (the bootloader stays in DFU mode)',
          );
        } else if (mode === 'application') {
          lines.push(
            '  the application is running (--detach describes the bootloader and the security record, then starts it again)',
          );
        }
        if (detached) lines.push('  the application was started again');
        return lines.join('\n');
      },
    );
    return EXIT.OK;
  } finally {
    await handle.close();
  }
}

/** The security record as `info` prints it. */
function securityLines(s: {
  signaturesRequired: boolean;
  verifyAtBoot: boolean;
  uploadLocked: boolean;
  flashProtected: boolean;
  keyIds: string[];
  boardId: string;
  counter: number;
  counterCapacity: number;
}): string[] {
  if (!s.signaturesRequired) {
    return ['  signatures: not required (the board installs any stamped image)'];
  }
  const keys = s.keyIds.length === 1 ? `key ${s.keyIds[0]}` : `keys ${s.keyIds.join(', ')}`;
  return [
    `  signatures: required, ${keys}; board id ${s.boardId}`,
    `  checked at install${s.verifyAtBoot ? ' and at every boot' : ' only (not at boot)'}; ` +
      `upload ${s.uploadLocked ? 'locked' : 'allowed'}${s.flashProtected ? '; flash read-protected (RDP 1)' : ''}`,
    s.counterCapacity > 0
      ? `  security counter ${s.counter} of ${s.counterCapacity}: images signed with a lower --counter are refused`
      : '  no security counter kept (no anti-rollback)',
  ];
}
