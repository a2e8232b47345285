/**
 * stm32dfu doctor: what stands between this machine and a board — the usb module, the udev
 * rule (Linux), driver binding (Windows), the boards seen and any that cannot be opened —
 * each with what to do.
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadNodeUsb, setupAdvice, UDEV_RULES_PATH, udevRules } from '@stm32dfu/transport-node';
import type { CommandContext, GlobalOptions } from '../cli.js';
import { EXIT, type ExitStatus } from '../errors.js';

interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export async function run(
  _args: unknown[],
  _options: GlobalOptions,
  { output }: CommandContext,
): Promise<ExitStatus> {
  const checks: Check[] = [];
  let moduleLoads = true;
  try {
    await loadNodeUsb();
    checks.push({ name: 'usb module', ok: true, detail: 'node-usb (libusb) loads' });
  } catch (error) {
    moduleLoads = false;
    checks.push({
      name: 'usb module',
      ok: false,
      detail: `node-usb does not load: ${(error as Error).message}; reinstall stm32dfu (npm rebuild usb)`,
    });
  }
  if (process.platform === 'linux') {
    const installed = existsSync(UDEV_RULES_PATH)
      ? readFileSync(UDEV_RULES_PATH, 'utf8')
      : undefined;
    checks.push(
      installed === undefined
        ? {
            name: 'udev rule',
            ok: false,
            detail: `${UDEV_RULES_PATH} is missing: run stm32dfu udev --install (or as root) so users can open the boards`,
          }
        : installed === udevRules()
          ? { name: 'udev rule', ok: true, detail: `${UDEV_RULES_PATH} is installed` }
          : {
              name: 'udev rule',
              ok: false,
              detail: `${UDEV_RULES_PATH} differs from this version's rule: run stm32dfu udev --install`,
            },
    );
  }
  checks.push({
    name: 'drivers',
    ok: true,
    detail: setupAdvice(
      process.platform === 'win32' ? 'win32' : process.platform === 'darwin' ? 'darwin' : 'linux',
    ),
  });
  if (moduleLoads) {
    const { transportFor } = await import('../usb-boards.js');
    const listing = await transportFor(output).list();
    checks.push({
      name: 'boards',
      ok: listing.diagnostics.length === 0,
      detail:
        `${listing.devices.length} DFU-capable device(s) among ${listing.usbDeviceCount} USB device(s)` +
        listing.diagnostics.map((d) => `; ${d.message}`).join(''),
    });
  }
  const ok = checks.every((c) => c.ok);
  output.result({ command: 'doctor', ok, exitStatus: EXIT.OK, checks }, () =>
    checks.map((c) => `${c.ok ? 'ok  ' : 'FIX '} ${c.name}: ${c.detail}`).join('\n'),
  );
  return EXIT.OK;
}
