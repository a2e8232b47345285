/**
 * The virtual rig: a virtual board in this process (pins, power, faults, virtual clock)
 * behind a virtual relay. A CLI or dfu-util step hands the board to that program the way a
 * lab hands a board to a tool: the board is switched off here, its flash goes into a file
 * the program powers on (`--sim`, `scripts/with-virtual-usb`), and what the program left in
 * flash is the board's flash when it is switched on here again. A locked board goes over
 * locked: its keys, its policy and its OTP area (the anti-rollback counter) go along.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLayout } from '@stm32dfu/layout';
import { hasRuntimeInterface } from '@stm32dfu/protocol';
import { createVirtualBoard, type NodeVirtualBoard } from '@stm32dfu/virtual-board/node';
import { parseRigConfig, type RigConfig, readRigSigning } from './config.js';
import { HilError } from './errors.js';
import { firmwareFiles, REPO_ROOT } from './images.js';
import { VirtualRelay } from './relay/virtual.js';
import { RelayRig } from './relay-rig.js';
import { type CliRun, installed, type RigProbe, runCli, runProgram, type ToolRun } from './rig.js';

const SIM_MAGIC = 'STM32SIM';

export const VIRTUAL_RIG_CONFIG = {
  name: 'virtual',
  board: 'blackpill-f411',
  serial: '000000000000000000000000', // replaced by the board's own
  relay: { driver: 'virtual', channels: { boot0: 1, nrst: 2, power: 3 } },
  timings: { resetPulseMs: 50, settleMs: 200, enumerateTimeoutMs: 3000 },
  powerCut: { samples: 50 },
  soak: { cycles: 3 },
};

export class VirtualRig extends RelayRig {
  readonly kind = 'virtual' as const;
  readonly powerCutUnit = 'flash-ops' as const;
  readonly serialNumber: string;
  readonly board: NodeVirtualBoard;
  readonly probe: RigProbe;
  readonly #dir = mkdtempSync(join(tmpdir(), 'stm32dfu-hil-'));

  constructor(board: NodeVirtualBoard, config: RigConfig) {
    super({
      config,
      layout: board.layout,
      clock: board.clock,
      usb: board.usb,
      relay: new VirtualRelay(board, config.relay.channels),
    });
    this.board = board;
    this.serialNumber = board.serialNumber;
    this.probe = {
      readFlash: (address, length) => board.readFlash(address, length),
      readOtp: () => board.otpImage(),
      flashOperations: () =>
        board.events.filter((e) => e.type === 'erase' || e.type === 'program').length,
    };
  }

  armPowerCut(ops: number): { cancel(): void } {
    this.board.faults.cutPowerAfterFlashOps(ops);
    return { cancel: () => this.board.faults.clear() };
  }

  async applicationEvidence(timeoutMs: number): Promise<string> {
    const until = this.clock.now() + timeoutMs;
    for (;;) {
      const device = this.board.device;
      if (device && this.board.mode === 'application' && hasRuntimeInterface(device)) {
        const bcd =
          device.deviceVersionMajor * 0x100 +
          device.deviceVersionMinor * 0x10 +
          device.deviceVersionSubminor;
        return `application model on USB: "${device.productName}" bcdDevice 0x${bcd.toString(16).padStart(4, '0')} serial ${device.serialNumber}`;
      }
      if (this.clock.now() >= until) {
        throw new HilError(
          'WRONG_STATE',
          `The application did not show up on USB within ${timeoutMs} ms: the board is ${this.board.mode}.`,
        );
      }
      await this.clock.sleep(10);
    }
  }

  /**
   * The board into a file, the board off here; what the program left there is the board's
   * when it is switched on again. A `--sim` file (`sim`) holds the flash, BOOT0 and a locked
   * board's lock and OTP area in its trailer (apps/cli/src/sim-file.ts); a flash dump for
   * `scripts/with-virtual-usb` (`dump`) keeps the OTP beside it in `<file>.otp`, the lock
   * going on its command line.
   */
  async #handOver<T>(path: string, kind: 'sim' | 'dump', run: () => Promise<T>): Promise<T> {
    const flash = this.board.flashImage();
    const signing = this.board.signing;
    const otp = this.board.otpImage();
    const otpFile = `${path}.otp`;
    if (kind === 'sim') {
      const state = {
        board: this.layout.board.id,
        boot0: this.board.boot0,
        ...(signing && { signing }),
        // Left out while blank, as the CLI writes it.
        ...(otp.some((b) => b !== 0xff) && { otp: Buffer.from(otp).toString('hex') }),
      };
      const json = Buffer.from(JSON.stringify(state));
      const length = Buffer.alloc(4);
      length.writeUInt32LE(json.length);
      writeFileSync(path, Buffer.concat([flash, json, length, Buffer.from(SIM_MAGIC)]));
    } else {
      writeFileSync(path, flash);
      if (signing) writeFileSync(otpFile, otp);
    }
    this.board.power(false);
    try {
      return await run();
    } finally {
      const file = new Uint8Array(readFileSync(path));
      this.board.loadFlash(file.slice(0, flash.length), path);
      // OTP bits only clear: what the program's board programmed stays programmed here.
      const after =
        kind === 'sim' ? simTrailerOtp(file, flash.length) : signing && readFileSync(otpFile);
      if (after) this.board.loadOtp(new Uint8Array(after), path);
      this.board.power(true);
    }
  }

  cli(args: readonly string[]): Promise<CliRun> {
    const file = join(this.#dir, 'board.sim');
    return this.#handOver(file, 'sim', () => runCli([...args, '--sim', file, '--json']));
  }

  async dfuUtil(args: readonly string[]): Promise<ToolRun | undefined> {
    if (!(await installed('dfu-util'))) return undefined;
    const file = join(this.#dir, 'board.bin');
    // A locked board is locked there too: its keys and policy (its OTP is `<file>.otp`).
    const signing = this.board.signing;
    const lock = signing
      ? [
          ...signing.keys.flatMap((key) => ['--signing-key', key]),
          ...(signing.lockUpload ? ['--lock-upload'] : []),
          ...(signing.verifyAtBoot ? ['--verify-at-boot'] : []),
        ]
      : [];
    const argv = [`${REPO_ROOT}scripts/with-virtual-usb`, file, ...lock, '--', 'dfu-util', ...args];
    return this.#handOver(file, 'dump', async () => {
      const r = await runProgram(argv);
      return { argv, status: r.status, output: r.stdout + r.stderr };
    });
  }

  override async close(): Promise<void> {
    await super.close();
    this.board.power(false);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** The OTP area a `--sim` file's trailer holds after `flashLength` bytes of flash; undefined: blank. */
function simTrailerOtp(file: Uint8Array, flashLength: number): Uint8Array | undefined {
  const magic = Buffer.from(SIM_MAGIC);
  const end = file.length - magic.length;
  if (end - 4 < flashLength || !magic.equals(file.subarray(end))) return undefined;
  const json = Buffer.from(file.subarray(flashLength, end - 4)).toString('utf8');
  const otp = (JSON.parse(json) as { otp?: string }).otp;
  return otp === undefined ? undefined : new Uint8Array(Buffer.from(otp, 'hex'));
}

/** A virtual Black Pill with our bootloader in its first sectors, as it leaves the lab. */
export async function createVirtualRig(overrides: Partial<RigConfig> = {}): Promise<VirtualRig> {
  return createVirtualRigFrom(
    parseRigConfig({ ...VIRTUAL_RIG_CONFIG, ...overrides }, 'the virtual rig'),
  );
}

/**
 * The virtual rig a config describes (`relay.driver: virtual`): with `signing`, its board is
 * created locked with those keys and that policy, as a chip built from a board JSON with them.
 */
export async function createVirtualRigFrom(base: RigConfig): Promise<VirtualRig> {
  if (base.relay.driver !== 'virtual') {
    throw new HilError(
      'INVALID_RIG_CONFIG',
      `Rig ${base.name} has relay.driver ${base.relay.driver}: only a rig with the virtual driver runs on the virtual board.`,
      { field: 'relay.driver' },
    );
  }
  const signing = readRigSigning(base, `rig ${base.name}`);
  const layout = getLayout(base.board);
  const flash = new Uint8Array(layout.chip.flash.size).fill(0xff);
  try {
    flash.set(
      readFileSync(firmwareFiles(layout.board.id).bootloader).subarray(
        0,
        layout.partitions.bootloader.size,
      ),
    );
  } catch {
    // Without a firmware build the core still runs; only the flash dump lacks the bootloader.
  }
  const board = await createVirtualBoard({
    board: layout.board.id,
    flash,
    ...(signing && {
      signing: {
        keys: signing.publicKeys,
        required: true,
        verifyAtBoot: signing.verifyAtBoot,
        lockUpload: signing.lockUpload,
      },
    }),
  });
  await board.clock.sleep(base.timings.settleMs);
  return new VirtualRig(board, { ...base, serial: board.serialNumber });
}
