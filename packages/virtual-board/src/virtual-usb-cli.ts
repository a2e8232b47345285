/**
 * with-virtual-usb: run a libusb-1.0 program (dfu-util, …) against a virtual board whose
 * whole flash lives in a file. Started by `scripts/with-virtual-usb` at the repository
 * root, which passes the paths of the libusb stand-in and the bootloader image.
 *
 *   with-virtual-usb <flash-file> [options] -- <command> [args...]
 *
 * Each run is a power-on of the same board: the flash file is loaded (or created blank with
 * the bootloader's sectors), the board boots and enumerates, the command runs with the
 * stand-in in front of the system's libusb, then the board runs on for a few virtual
 * seconds (an application it was told to start starts), and the flash is saved. The exit
 * status is the command's. docs/virtual-usb.md describes it all.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveLayout } from './board.js';
import { createVirtualBoard } from './node.js';
import { VirtualUsbHost } from './virtual-usb-host.js';

const USAGE = `usage: with-virtual-usb <flash-file> [options] -- <command> [args...]

Runs <command> with a libusb-1.0 that talks to a virtual board instead of a USB bus.
The board's flash lives in <flash-file> (created blank, with the bootloader, when missing).

options (each also read from the environment variable named after it):
  --board ID              board id (STM32DFU_VUSB_BOARD, default blackpill-f411)
  --boot0                 hold Boot0 high: ST's ROM bootloader answers (STM32DFU_VUSB_BOOT0=1)
  --button                hold the bootloader's button at power-on: it stays in DFU mode
                          (STM32DFU_VUSB_BUTTON=1)
  --power-cut-after-ops N the supply drops after the board's N-th flash operation
                          (an erase or a program slice) (STM32DFU_VUSB_POWER_CUT_AFTER_OPS)
  --transfer-size N       wTransferSize the bootloader announces (STM32DFU_VUSB_TRANSFER_SIZE)
  --signing-key HEX       lock the board: install only images signed with this raw Ed25519
                          public key (64 hex digits; repeat for up to 4; STM32DFU_VUSB_SIGNING_KEYS,
                          comma-separated). Its OTP (the anti-rollback counter) lives in
                          <flash-file>.otp
  --verify-at-boot        a locked board checks the signature at every boot too
                          (STM32DFU_VUSB_VERIFY_AT_BOOT=1)
  --lock-upload           a locked board refuses UPLOAD (STM32DFU_VUSB_LOCK_UPLOAD=1)
  --report FILE           write what happened as JSON (STM32DFU_VUSB_REPORT)
  --library-dir DIR       where libusb-1.0.so.0 (the stand-in) is (STM32DFU_VUSB_LIBRARY_DIR)
  --bootloader FILE       bootloader image for a new flash file (STM32DFU_VUSB_BOOTLOADER)
`;

/** Virtual time the board runs before the command starts: boot, stamp check, enumeration. */
const SETTLE_BEFORE_MS = 1000;
/** ... and after it ends: long enough for the bootloader's 1 s idle leave and the app's start. */
const SETTLE_AFTER_MS = 3000;

class UsageError extends Error {}

interface Options {
  flashFile: string;
  command: string[];
  board: string;
  boot0: boolean;
  button: boolean;
  powerCutAfterOps: number | undefined;
  transferSize: number | undefined;
  signingKeys: string[];
  verifyAtBoot: boolean;
  lockUpload: boolean;
  report: string | undefined;
  libraryDir: string;
  bootloader: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const split = argv.indexOf('--');
  if (split < 0 || split === argv.length - 1)
    throw new UsageError('give the command to run after --');
  const { values, positionals } = parseArgs({
    args: argv.slice(0, split),
    allowPositionals: true,
    options: {
      board: { type: 'string' },
      boot0: { type: 'boolean' },
      button: { type: 'boolean' },
      'power-cut-after-ops': { type: 'string' },
      'transfer-size': { type: 'string' },
      'signing-key': { type: 'string', multiple: true },
      'verify-at-boot': { type: 'boolean' },
      'lock-upload': { type: 'boolean' },
      report: { type: 'string' },
      'library-dir': { type: 'string' },
      bootloader: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('give exactly one flash file before --');
  const env = process.env;
  const count = (name: string, text: string | undefined, min: number) => {
    if (text === undefined || text === '') return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) {
      throw new UsageError(`${name} must be a whole number ≥ ${min}, not "${text}"`);
    }
    return n;
  };
  const libraryDir = values['library-dir'] ?? env.STM32DFU_VUSB_LIBRARY_DIR;
  if (!libraryDir) throw new UsageError('say where the libusb stand-in is (--library-dir)');
  return {
    flashFile: positionals[0]!,
    command: argv.slice(split + 1),
    board: values.board ?? env.STM32DFU_VUSB_BOARD ?? 'blackpill-f411',
    boot0: values.boot0 ?? env.STM32DFU_VUSB_BOOT0 === '1',
    button: values.button ?? env.STM32DFU_VUSB_BUTTON === '1',
    powerCutAfterOps: count(
      'the power cut (--power-cut-after-ops, STM32DFU_VUSB_POWER_CUT_AFTER_OPS)',
      values['power-cut-after-ops'] ?? env.STM32DFU_VUSB_POWER_CUT_AFTER_OPS,
      1,
    ),
    transferSize: count(
      'the transfer size (--transfer-size, STM32DFU_VUSB_TRANSFER_SIZE)',
      values['transfer-size'] ?? env.STM32DFU_VUSB_TRANSFER_SIZE,
      1,
    ),
    signingKeys:
      values['signing-key'] ??
      (env.STM32DFU_VUSB_SIGNING_KEYS ? env.STM32DFU_VUSB_SIGNING_KEYS.split(',') : []),
    verifyAtBoot: values['verify-at-boot'] ?? env.STM32DFU_VUSB_VERIFY_AT_BOOT === '1',
    lockUpload: values['lock-upload'] ?? env.STM32DFU_VUSB_LOCK_UPLOAD === '1',
    report: values.report ?? (env.STM32DFU_VUSB_REPORT || undefined),
    libraryDir,
    bootloader: values.bootloader ?? (env.STM32DFU_VUSB_BOOTLOADER || undefined),
  };
}

/** A new board's flash: erased, with the bootloader image at the start of flash. */
function blankFlash(boardId: string, bootloader: string | undefined): Uint8Array {
  const layout = resolveLayout(boardId);
  const flash = new Uint8Array(layout.chip.flash.size).fill(0xff);
  if (bootloader === undefined) return flash;
  if (!existsSync(bootloader)) {
    throw new UsageError(
      `the bootloader image ${bootloader} does not exist: build the firmware (bash firmware/scripts/build.sh)`,
    );
  }
  const image = readFileSync(bootloader);
  const room = layout.partitions.bootloader.size;
  if (image.length > room) {
    throw new UsageError(
      `the bootloader image ${bootloader} (${image.length} bytes) exceeds its ${room}-byte partition`,
    );
  }
  flash.set(image, 0);
  return flash;
}

/** The bootloader's anti-rollback counter: cleared bits of the OTP's last 64 bytes, in order. */
function securityCounterOf(otp: Uint8Array): number {
  let steps = 0;
  for (const byte of otp.subarray(otp.length - 64)) {
    for (let bit = 0; bit < 8; bit++, steps++) if ((byte >> bit) & 1) return steps;
  }
  return steps;
}

function run(command: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env });
    child.once('error', (error) =>
      reject(
        new UsageError(
          `cannot run ${command[0]}: ${(error as NodeJS.ErrnoException).code ?? error.message}`,
        ),
      ),
    );
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + 1 : 1)));
  });
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') && !argv.slice(0, argv.indexOf('--') >>> 0).includes('--')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const options = parseOptions(argv);
  const library = join(options.libraryDir, 'libusb-1.0.so.0');
  if (!existsSync(library)) {
    throw new UsageError(
      `the libusb stand-in ${library} is missing: build the firmware (bash firmware/scripts/build.sh)`,
    );
  }
  const layout = resolveLayout(options.board);
  if (existsSync(options.flashFile)) {
    const size = statSync(options.flashFile).size;
    if (size !== layout.chip.flash.size) {
      throw new UsageError(
        `${options.flashFile} holds ${size} bytes, but the ${layout.board.id} flash is ${layout.chip.flash.size}: give another file, or delete it to start blank`,
      );
    }
  } else {
    writeFileSync(options.flashFile, blankFlash(layout.board.id, options.bootloader));
  }

  if (!options.signingKeys.length && (options.verifyAtBoot || options.lockUpload)) {
    throw new UsageError(
      '--verify-at-boot and --lock-upload need the board locked: give --signing-key',
    );
  }
  const otpFile = `${options.flashFile}.otp`;
  const signed = options.signingKeys.length > 0;
  const board = await createVirtualBoard({
    board: layout.board.id,
    flash: options.flashFile,
    boot0: options.boot0,
    powered: false,
    ...(options.transferSize !== undefined ? { transferSize: options.transferSize } : {}),
    ...(signed && {
      signing: {
        keys: options.signingKeys,
        verifyAtBoot: options.verifyAtBoot,
        lockUpload: options.lockUpload,
      },
    }),
    ...(signed && existsSync(otpFile) && { otp: new Uint8Array(readFileSync(otpFile)) }),
  });
  board.setButton(options.button);
  board.power(true);
  await board.clock.sleep(SETTLE_BEFORE_MS);
  board.setButton(false);
  if (options.powerCutAfterOps !== undefined)
    board.faults.cutPowerAfterFlashOps(options.powerCutAfterOps);

  const host = new VirtualUsbHost(board);
  const dir = mkdtempSync(join(tmpdir(), 'stm32dfu-vusb-'));
  const socket = join(dir, 'bus.sock');
  const start = board.clock.now();
  let exitCode = 1;
  try {
    await host.listen(socket);
    const env = {
      ...process.env,
      STM32DFU_VUSB_SOCKET: socket,
      LD_LIBRARY_PATH: [options.libraryDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
      LD_PRELOAD: [library, process.env.LD_PRELOAD].filter(Boolean).join(':'),
    };
    exitCode = await run(options.command, env);
  } finally {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const commandMs = board.clock.now() - start;
  await board.clock.sleep(SETTLE_AFTER_MS);
  board.saveFlash(options.flashFile);
  if (signed) writeFileSync(otpFile, board.otpImage());

  const device = board.device;
  const report = {
    board: layout.board.id,
    flashFile: options.flashFile,
    exitCode,
    commandMs,
    mode: board.mode,
    ...(signed && { securityCounter: securityCounterOf(board.otp) }),
    device: device
      ? {
          vendorId: device.vendorId,
          productId: device.productId,
          serialNumber: device.serialNumber,
          interfaces: device.configuration?.interfaces.flatMap((i) =>
            i.alternates.map((a) => ({
              interface: i.interfaceNumber,
              alternate: a.alternateSetting,
              protocol: a.interfaceProtocol,
              name: a.interfaceName,
            })),
          ),
        }
      : null,
    events: board.events,
  };
  if (options.report) writeFileSync(options.report, `${JSON.stringify(report, null, 2)}\n`);
  return exitCode;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`with-virtual-usb: ${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`with-virtual-usb: ${message}\n`);
    process.exit(1);
  },
);
