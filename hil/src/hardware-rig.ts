/**
 * A rig on the bench: a real board on node-usb, its relay from the config, its console on
 * a UART. Nothing here is board-specific; the config says what is wired where.
 */
import { getLayout } from '@stm32dfu/layout';
import { realClock } from '@stm32dfu/protocol';
import { NodeUsbTransport } from '@stm32dfu/transport-node';
import type { RigConfig } from './config.js';
import { HilError } from './errors.js';
import { openRelay } from './relay/index.js';
import { RelayRig } from './relay-rig.js';
import { type CliRun, installed, runCli, runProgram, type ToolRun } from './rig.js';

export class HardwareRig extends RelayRig {
  readonly kind = 'hardware' as const;
  readonly powerCutUnit = 'ms' as const;
  readonly serialNumber: string;
  /** No probe on a bench yet: scenarios check what the board shows on USB. */
  readonly probe = undefined;

  constructor(init: ConstructorParameters<typeof RelayRig>[0]) {
    super(init);
    this.serialNumber = init.config.serial;
  }

  armPowerCut(ms: number): { cancel(): void } {
    const timer = setTimeout(() => {
      void this.setPower(false);
    }, ms);
    return { cancel: () => clearTimeout(timer) };
  }

  async applicationEvidence(timeoutMs: number): Promise<string> {
    const uart = this.config.uart;
    if (!uart) {
      const { waitForState } = await import('./strategies.js');
      const device = await waitForState(this, 'application', timeoutMs);
      return `application on USB: "${device.productName}" serial ${device.serialNumber}`;
    }
    return readBanner(uart.path, uart.baud, new RegExp(uart.banner), timeoutMs);
  }

  cli(args: readonly string[]): Promise<CliRun> {
    return runCli([...args, '--serial', this.serialNumber, '--json']);
  }

  async dfuUtil(args: readonly string[]): Promise<ToolRun | undefined> {
    if (!(await installed('dfu-util'))) return undefined;
    const ids = this.layout.board.usbIdentity;
    const id = `${ids.vendorId.toString(16).padStart(4, '0')}:${ids.productId.toString(16).padStart(4, '0')}`;
    const argv = ['dfu-util', '-d', id, '-S', this.serialNumber, ...args];
    const r = await runProgram(argv);
    return { argv, status: r.status, output: r.stdout + r.stderr };
  }
}

/** Wait for a console line matching `banner`; the error quotes what the console did print. */
async function readBanner(
  path: string,
  baudRate: number,
  banner: RegExp,
  timeoutMs: number,
): Promise<string> {
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({ path, baudRate });
  let text = '';
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new HilError(
              'WRONG_STATE',
              `No line matching /${banner.source}/ on ${path} within ${timeoutMs} ms; it printed: ${JSON.stringify(text.slice(-200))}. Check uart.path, uart.baud and the TX wire.`,
            ),
          ),
        timeoutMs,
      );
      port.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        const line = text.split(/\r?\n/).find((l) => banner.test(l));
        if (line) {
          clearTimeout(timer);
          resolve(`console: ${line.trim()}`);
        }
      });
      port.on('error', (e) => {
        clearTimeout(timer);
        reject(
          new HilError('RELAY_IO', `${path}: ${e.message}: check uart.path.`, {
            field: 'uart.path',
          }),
        );
      });
    });
  } finally {
    if (port.isOpen) port.close();
  }
}

export async function createHardwareRig(config: RigConfig): Promise<HardwareRig> {
  const relay = await openRelay(config.relay);
  return new HardwareRig({
    config,
    layout: getLayout(config.board),
    clock: realClock,
    usb: new NodeUsbTransport().usb,
    relay,
  });
}
