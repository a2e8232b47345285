import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { installUdevRules, UDEV_RULES_FILE, UDEV_RULES_PATH, udevRules } from '../src/index.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('udev rules', () => {
  it('ships exactly what udevRules() returns', async () => {
    expect(await readFile(UDEV_RULES_FILE, 'utf8')).toBe(udevRules());
  });

  it("covers our ids and ST's ROM, for the seat user and plugdev", () => {
    const lines = udevRules()
      .split('\n')
      .filter((l) => l.startsWith('SUBSYSTEM'));
    expect(lines).toEqual([
      'SUBSYSTEM=="usb", ATTR{idVendor}=="1209", ATTR{idProduct}=="0001", MODE="0660", GROUP="plugdev", TAG+="uaccess"',
      'SUBSYSTEM=="usb", ATTR{idVendor}=="0483", ATTR{idProduct}=="df11", MODE="0660", GROUP="plugdev", TAG+="uaccess"',
    ]);
  });

  it("adds a product's own ids once", () => {
    const text = udevRules({
      identities: [
        { vendorId: 0x1209, productId: 0xbeef, manufacturer: 'Acme' },
        { vendorId: 0x1209, productId: 0x0001 },
      ],
    });
    expect(text).toContain(
      '# Acme (1209:beef)\nSUBSYSTEM=="usb", ATTR{idVendor}=="1209", ATTR{idProduct}=="beef"',
    );
    expect(text.match(/idProduct}=="0001"/g)).toHaveLength(1);
  });
});

describe('installUdevRules', () => {
  it('without root writes nothing and gives the exact sudo commands', async () => {
    const report = await installUdevRules({ platform: 'linux', isRoot: false });
    expect(report.written).toBe(false);
    expect(report.path).toBe(UDEV_RULES_PATH);
    expect(report.todo).toEqual([
      `sudo install -D -m 0644 ${UDEV_RULES_FILE} /etc/udev/rules.d/70-stm32dfu.rules`,
      'sudo udevadm control --reload-rules',
      'sudo udevadm trigger',
    ]);
    expect(report.message).toContain('needs root');
  });

  it('without root and with extra ids pipes the generated rules through sudo tee', async () => {
    const report = await installUdevRules({
      platform: 'linux',
      isRoot: false,
      identities: [{ vendorId: 0x1209, productId: 0xbeef }],
    });
    expect(report.todo[0]).toMatch(/^printf '%s' '# stm32dfu/);
    expect(report.todo[0]).toContain('| sudo tee /etc/udev/rules.d/70-stm32dfu.rules > /dev/null');
  });

  it('as root writes the file, reloads udev and re-triggers, and reports each step', async () => {
    dir = await mkdtemp(join(tmpdir(), 'udev-'));
    const path = join(dir, 'rules.d', '70-stm32dfu.rules');
    const ran: string[] = [];
    const report = await installUdevRules({
      platform: 'linux',
      isRoot: true,
      path,
      run: async (command, args) => {
        ran.push([command, ...args].join(' '));
      },
    });
    expect(await readFile(path, 'utf8')).toBe(udevRules());
    expect(ran).toEqual(['udevadm control --reload-rules', 'udevadm trigger']);
    expect(report).toMatchObject({ written: true, reloaded: true, todo: [] });
    expect(report.done).toEqual([
      `wrote ${path}`,
      'udevadm control --reload-rules',
      'udevadm trigger',
    ]);
  });

  it('as root without udev running says what is left to do', async () => {
    dir = await mkdtemp(join(tmpdir(), 'udev-'));
    const path = join(dir, '70-stm32dfu.rules');
    const report = await installUdevRules({
      platform: 'linux',
      isRoot: true,
      path,
      run: async () => {
        throw new Error('Failed to send reload request: No such file or directory');
      },
    });
    expect(report.written).toBe(true);
    expect(report.reloaded).toBe(false);
    expect(report.todo).toEqual(['udevadm control --reload-rules', 'udevadm trigger']);
    expect(report.message).toContain('No such file or directory');
  });

  it('with reload off only writes', async () => {
    dir = await mkdtemp(join(tmpdir(), 'udev-'));
    const path = join(dir, '70-stm32dfu.rules');
    const report = await installUdevRules({ platform: 'linux', isRoot: true, path, reload: false });
    expect(report).toMatchObject({ written: true, reloaded: false, done: [`wrote ${path}`] });
  });

  it('elsewhere than Linux does nothing and says what is needed instead', async () => {
    const mac = await installUdevRules({ platform: 'darwin' });
    expect(mac.written).toBe(false);
    expect(mac.message).toContain('macOS');
    const windows = await installUdevRules({ platform: 'win32' });
    expect(windows.message).toContain('WinUSB');
  });
});
