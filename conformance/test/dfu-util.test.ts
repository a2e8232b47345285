/**
 * The unmodified dfu-util (Debian's 0.11) against our bootloader's own C core, through the
 * libusb stand-in: each test is a command line a user types, and checks what the board
 * holds and does afterwards (flash file, mode, device), not only the exit status.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { readBinary, writeDfuse } from '@stm32dfu/image-tools';
import { dfuseLayoutFor } from '@stm32dfu/layout';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  APP_ADDRESS,
  APP_BASE,
  APP_BIN,
  appImage,
  bootloaderSectors,
  dfuUtilSuite,
  FLASH_BASE,
  inBootloader,
  LAYOUT,
  runsApplication,
  Workspace,
} from './harness.ts';

const suite = dfuUtilSuite();

const ids = `${hex4(LAYOUT.board.usbIdentity.vendorId)}:${hex4(LAYOUT.board.usbIdentity.productId)}`;

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

let ws: Workspace;
beforeEach(() => {
  ws = new Workspace();
});
afterEach(() => ws.dispose());

/** The application image as dfu-util leaves the flash: app bytes at the app base. */
function expectAppInFlash(app = appImage()): void {
  expect(Buffer.from(ws.read(APP_BASE, app.length)).equals(Buffer.from(app))).toBe(true);
}

function expectBootloaderUnchanged(): void {
  const sectors = ws.read(FLASH_BASE, LAYOUT.partitions.bootloader.size);
  expect(Buffer.from(sectors).equals(Buffer.from(bootloaderSectors()))).toBe(true);
}

suite('dfu-util -l', () => {
  it('lists the bootloader with its alt setting, DfuSe layout and serial', () => {
    const r = ws.dfuUtil(['-l']);
    expect(r.status).toBe(0);
    const serial = r.report.device?.serialNumber;
    expect(serial).toMatch(/^[0-9A-F]{24}$/);
    expect(r.output).toContain(
      `Found DFU: [${ids}] ver=0200, devnum=2, cfg=1, intf=0, path="1-1", alt=0, ` +
        `name="${dfuseLayoutFor(LAYOUT)}", serial="${serial}"`,
    );
    expect(r.output.match(/^Found /gm)).toHaveLength(1);
    expectBootloaderUnchanged();
  });

  it("lists ST's ROM bootloader, its four alt settings, when Boot0 is held", () => {
    const r = ws.dfuUtil(['-l'], { STM32DFU_VUSB_BOOT0: '1' });
    expect(r.status).toBe(0);
    const found = r.output.match(/^Found DFU: \[0483:df11\] ver=2200.*$/gm) ?? [];
    expect(found.map((l) => /alt=(\d)/.exec(l)?.[1])).toEqual(['3', '2', '1', '0']);
    expect(r.output).toContain('name="@Option Bytes  /0x1FFFC000/01*016 e"');
  });
});

suite('dfu-util -D: flash the example application', () => {
  for (const [label, extra] of [
    ['', []],
    [' with -R', ['-R']],
    [' with -t 64', ['-t', '64']],
    [' with -t 1024', ['-t', '1024']],
  ] as const) {
    it(`-a 0 -s ${APP_ADDRESS}:leave -D app.bin${label} → the application runs`, () => {
      const r = ws.dfuUtil(['-a', '0', '-s', `${APP_ADDRESS}:leave`, '-D', APP_BIN, ...extra]);
      expect(r.status, r.output).toBe(0);
      expect(r.output).toContain('File downloaded successfully');
      expectAppInFlash();
      expectBootloaderUnchanged();
      expect(runsApplication(r.report), r.report.mode).toBe(true);
      // ... and keeps running at the next power-on.
      const again = ws.dfuUtil(['-l']);
      expect(again.output).toContain(`Found Runtime: [${ids}] ver=0100`);
      expect(again.output).toContain('name="stm32dfu runtime DFU"');
    });
  }

  it('-a 0 -D app.dfu -s :leave with a DfuSe file from dfuse-pack → the application runs', () => {
    const dfu = ws.path('app.dfu');
    const pack = ws.run([
      'dfuse-pack',
      '-b',
      `${APP_ADDRESS}:${APP_BIN}`,
      '-D',
      `0x${ids.replace(':', ':0x')}`,
      dfu,
    ]);
    expect(pack.status, pack.output).toBe(0);
    const r = ws.dfuUtil(['-a', '0', '-D', dfu, '-s', ':leave']);
    expect(r.status, r.output).toBe(0);
    expectAppInFlash();
    expect(runsApplication(r.report)).toBe(true);
  });

  it('-a 0 -D app.dfu -s :leave with a DfuSe file from image-tools → the application runs', () => {
    const dfu = ws.path('app.dfu');
    const { vendorId, productId } = LAYOUT.board.usbIdentity;
    writeFileSync(
      dfu,
      writeDfuse(readBinary(appImage(), { base: APP_BASE }), { vendorId, productId }),
    );
    const r = ws.dfuUtil(['-a', '0', '-D', dfu, '-s', ':leave']);
    expect(r.status, r.output).toBe(0);
    expectAppInFlash();
    expect(runsApplication(r.report)).toBe(true);
  });

  it(`-a 0 -s ${APP_ADDRESS} -D app.bin without leave: the next power-on runs the application`, () => {
    const r = ws.dfuUtil(['-a', '0', '-s', APP_ADDRESS, '-D', APP_BIN]);
    expect(r.status, r.output).toBe(0);
    expect(inBootloader(r.report)).toBe(true); // told to stay
    expectAppInFlash(); // first block included: ABORT ended the download
    const next = ws.dfuUtil(['-l']);
    expect(runsApplication(next.report)).toBe(true);
  });

  it('-U right after a download without leave reads back what was sent, first block included', () => {
    const app = appImage();
    const out = ws.path('out.bin');
    const r = ws.shell(
      `dfu-util -a 0 -s ${APP_ADDRESS} -D ${APP_BIN} && dfu-util -a 0 -s ${APP_ADDRESS}:${app.length} -U ${out}`,
    );
    expect(r.status, r.output).toBe(0);
    const back = new Uint8Array(readFileSync(out));
    expect(Buffer.from(back).equals(Buffer.from(app))).toBe(true);
  });
});

suite('dfu-util -U: read the flash back', () => {
  function flashed(): Uint8Array {
    const r = ws.dfuUtil(['-a', '0', '-s', `${APP_ADDRESS}:leave`, '-D', APP_BIN]);
    expect(r.status, r.output).toBe(0);
    return ws.flashImage();
  }

  for (const length of [4096, 1023, 2049]) {
    it(`-s ${APP_ADDRESS}:${length} -U gives the flash's bytes`, () => {
      const flash = flashed();
      const out = ws.path('out.bin');
      // The board runs the application: dfu-util detaches it first, then uploads.
      const r = ws.dfuUtil(['-a', '0', '-s', `${APP_ADDRESS}:${length}`, '-U', out]);
      expect(r.status, r.output).toBe(0);
      const back = readFileSync(out);
      const offset = APP_BASE - FLASH_BASE;
      expect(back.length).toBe(length);
      expect(back.equals(Buffer.from(flash.subarray(offset, offset + length)))).toBe(true);
    });
  }

  it('an upload running past the end of flash stops at the end', () => {
    const end = FLASH_BASE + LAYOUT.chip.flash.size;
    const out = ws.path('tail.bin');
    const r = ws.dfuUtil(['-a', '0', '-s', `0x${(end - 1024).toString(16)}:4096`, '-U', out]);
    expect(r.status, r.output).toBe(0);
    expect(readFileSync(out).length).toBe(1024);
  });

  it('an upload starting outside the flash fails, and the board works on', () => {
    const end = FLASH_BASE + LAYOUT.chip.flash.size;
    const out = ws.path('outside.bin');
    const r = ws.dfuUtil(['-a', '0', '-s', `0x${end.toString(16)}:1024:force`, '-U', out]);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/LIBUSB_ERROR_PIPE/);
    const after = ws.dfuUtil(['-a', '0', '-s', `${APP_ADDRESS}:64`, '-U', ws.path('ok.bin')]);
    expect(after.status, after.output).toBe(0);
  });
});

suite('dfu-util: what the bootloader refuses', () => {
  for (const force of ['', ':force']) {
    it(`a download to 0x08000000${force} is refused and the bootloader's sectors stay`, () => {
      const r = ws.dfuUtil(['-a', '0', '-s', `0x08000000${force}`, '-D', APP_BIN]);
      expect(r.status).not.toBe(0);
      if (force) {
        // dfu-util skips erasing a sector the layout calls read-only, then sends the block:
        // the bootloader refuses it on arrival (errADDRESS), before anything is written.
        expect(r.output).toContain(
          'DFU state(10) = dfuERROR, status(8) = Cannot program memory due to received address that is out of range',
        );
        expect(r.report.events.some((e) => e.type === 'erase' || e.type === 'program')).toBe(false);
      } else {
        expect(r.output).toContain('is not writeable');
      }
      expectBootloaderUnchanged();
      expect(inBootloader(r.report)).toBe(true);
    });
  }

  it(':mass-erase:force erases the application region only', () => {
    expect(ws.dfuUtil(['-a', '0', '-s', `${APP_ADDRESS}:leave`, '-D', APP_BIN]).status).toBe(0);
    const r = ws.dfuUtil(['-a', '0', '-s', ':mass-erase:force']);
    expect(r.status, r.output).toBe(0);
    expectBootloaderUnchanged();
    const app = ws.read(APP_BASE, LAYOUT.partitions.application.size);
    expect(app.every((b) => b === 0xff)).toBe(true);
    expect(inBootloader(r.report)).toBe(true);
  });

  it(':unprotect:force is refused with errTARGET and nothing is erased', () => {
    expect(ws.dfuUtil(['-a', '0', '-s', `${APP_ADDRESS}:leave`, '-D', APP_BIN]).status).toBe(0);
    const before = ws.flashImage();
    const r = ws.dfuUtil(['-a', '0', '-s', ':unprotect:force']);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('Wrong state after command "READ_UNPROTECT" download');
    expect(Buffer.from(ws.flashImage()).equals(Buffer.from(before))).toBe(true);
    expect(r.report.events.some((e) => e.type === 'erase')).toBe(false);
    // The device clears its error for the next command.
    const next = ws.dfuUtil(['-a', '0', '-s', `${APP_ADDRESS}:64`, '-U', ws.path('ok.bin')]);
    expect(next.status, next.output).toBe(0);
  });
});

suite('dfu-util -e and -w: from the application to the bootloader', () => {
  it('-e detaches the running application into the bootloader, same serial', () => {
    const flashed = ws.dfuUtil(['-a', '0', '-s', `${APP_ADDRESS}:leave`, '-D', APP_BIN]);
    const serial = flashed.report.device?.serialNumber;
    const r = ws.dfuUtil(['-e']);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain('Device really in Run-Time Mode, send DFU detach request');
    expect(inBootloader(r.report)).toBe(true);
    expect(r.report.device?.serialNumber).toBe(serial);
    expect(r.report.events).toContainEqual(
      expect.objectContaining({ type: 'boot', verdict: 'requested' }),
    );
  });

  it('-w waits for the bootloader to come up after -e; without it the device is not there yet', () => {
    expect(ws.dfuUtil(['-a', '0', '-s', `${APP_ADDRESS}:leave`, '-D', APP_BIN]).status).toBe(0);
    const upload = `-a 0 -s ${APP_ADDRESS}:64 -U`;
    const hurried = ws.shell(`dfu-util -e && dfu-util ${upload} ${ws.path('a.bin')}`);
    expect(hurried.status).not.toBe(0);
    expect(hurried.output).toContain('No DFU capable USB device available');
    const waiting = ws.shell(`dfu-util -e && dfu-util -w ${upload} ${ws.path('b.bin')}`);
    expect(waiting.status, waiting.output).toBe(0);
    expect(readFileSync(ws.path('b.bin')).equals(Buffer.from(appImage().subarray(0, 64)))).toBe(
      true,
    );
  });
});

suite('dfu-util: power lost during a download', () => {
  it('the board comes back in the bootloader and a second dfu-util run succeeds', () => {
    // An older application first, so a cut that left it would show.
    expect(ws.dfuUtil(['-a', '0', '-s', `${APP_ADDRESS}:leave`, '-D', APP_BIN]).status).toBe(0);
    const app = appImage();
    const newer = new Uint8Array(app);
    const cut = ws.dfuUtil(['-a', '0', '-s', `${APP_ADDRESS}:leave`, '-D', APP_BIN], {
      STM32DFU_VUSB_POWER_CUT_AFTER_OPS: '20',
    });
    expect(cut.status).not.toBe(0);
    expect(cut.report.mode).toBe('off');
    const back = ws.dfuUtil(['-l']);
    expect(inBootloader(back.report)).toBe(true);
    // The first sector was erased and its first block is written last: nothing to boot.
    const boot = back.report.events.find((e) => e.type === 'boot');
    expect(['no-app', 'bad-stamp']).toContain(boot?.verdict);
    const again = ws.dfuUtil(['-a', '0', '-s', `${APP_ADDRESS}:leave`, '-D', APP_BIN]);
    expect(again.status, again.output).toBe(0);
    expectAppInFlash(newer);
    expect(runsApplication(again.report)).toBe(true);
  });
});
