import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ProductIdentity } from './classify.js';
import { type HostPlatform, setupAdvice } from './errors.js';
import { UDEV_RULES_FILE, UDEV_RULES_PATH } from './udev-paths.js';

export { UDEV_RULES_FILE, UDEV_RULES_PATH };

const HEADER = `# stm32dfu: let the logged-in user (TAG uaccess) and the plugdev group open these DFU devices
# without root. The 70- prefix puts the rule before systemd's 73-seat-late.rules, which turns
# the uaccess tag into an ACL for the user at the seat.
# Install: copy to /etc/udev/rules.d/70-stm32dfu.rules, then run
#   udevadm control --reload-rules && udevadm trigger
# and replug the board. A product with its own USB ids adds a line for them.
`;

const hex4 = (n: number) => n.toString(16).padStart(4, '0');

function rule(vendorId: number, productId: number): string {
  return (
    `SUBSYSTEM=="usb", ATTR{idVendor}=="${hex4(vendorId)}", ATTR{idProduct}=="${hex4(productId)}", ` +
    'MODE="0660", GROUP="plugdev", TAG+="uaccess"'
  );
}

/** Which devices the generated udev rules let users open. */
export interface UdevRulesOptions {
  /** More VID:PIDs to allow (a product's own `usbIdentity`), after ours and ST's ROM. */
  readonly identities?: readonly ProductIdentity[];
}

/**
 * The udev rules text: stm32dfu's 1209:0001 and ST's ROM 0483:df11 (and `identities`), each
 * `MODE="0660", GROUP="plugdev", TAG+="uaccess"`. With no options it is exactly the shipped
 * `udev/70-stm32dfu.rules`.
 */
export function udevRules(options: UdevRulesOptions = {}): string {
  let text =
    HEADER +
    '\n# stm32dfu bootloader and example application (pid.codes test ids)\n' +
    `${rule(0x1209, 0x0001)}\n` +
    "# ST's ROM DfuSe bootloader (Boot0)\n" +
    `${rule(0x0483, 0xdf11)}\n`;
  const seen = new Set(['1209:0001', '0483:df11']);
  for (const id of options.identities ?? []) {
    const key = `${hex4(id.vendorId)}:${hex4(id.productId)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    text += `# ${id.manufacturer ?? 'product'} (${key})\n${rule(id.vendorId, id.productId)}\n`;
  }
  return text;
}

/**
 * Where and how `installUdevRules` writes the rules and reloads udev; the OS, root check and
 * command runner can be replaced for tests.
 */
export interface InstallUdevRulesOptions extends UdevRulesOptions {
  /** Where to write; default `/etc/udev/rules.d/70-stm32dfu.rules`. */
  readonly path?: string;
  /** Run `udevadm control --reload-rules` and `udevadm trigger` after writing (default true). */
  readonly reload?: boolean;
  /** Default `process.platform`; elsewhere than Linux nothing is written. */
  readonly platform?: HostPlatform;
  /** Default: the effective user id is 0. */
  readonly isRoot?: boolean;
  /** Runs a command (tests replace it); default `execFile`. */
  readonly run?: (command: string, args: readonly string[]) => Promise<void>;
}

/** What `installUdevRules` did and what is left to do by hand. */
export interface UdevInstallReport {
  readonly path: string;
  /** The rules file was written. */
  readonly written: boolean;
  /** udev re-read its rules and re-applied them to present devices. */
  readonly reloaded: boolean;
  /** What was done, as the shell commands it amounts to. */
  readonly done: readonly string[];
  /** What is left to do by hand: the exact commands (with sudo when not root). */
  readonly todo: readonly string[];
  /** One paragraph for people. */
  readonly message: string;
}

const RELOAD = ['udevadm', ['control', '--reload-rules']] as const;
const TRIGGER = ['udevadm', ['trigger']] as const;

function runFile(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, [...args], (error, _stdout, stderr) => {
      if (error)
        reject(new Error(`${command} ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve();
    });
  });
}

function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Install the udev rules so a normal user can open the boards (Linux). As root: write the
 * file, reload udev and re-trigger the present devices, and report each step. Not root:
 * write nothing and report the exact sudo commands. On other systems: nothing is needed
 * or possible; the report says what is (`setupAdvice`).
 */
export async function installUdevRules(
  options: InstallUdevRulesOptions = {},
): Promise<UdevInstallReport> {
  const path = options.path ?? UDEV_RULES_PATH;
  const platform = options.platform ?? process.platform;
  const reload = options.reload ?? true;
  const rules = udevRules(options);
  if (platform !== 'linux') {
    return {
      path,
      written: false,
      reloaded: false,
      done: [],
      todo: [],
      message: `udev rules are for Linux only. ${setupAdvice(platform)}`,
    };
  }
  const isRoot = options.isRoot ?? process.getuid?.() === 0;
  const shipped = rules === udevRules();
  const reloadCommands = reload
    ? [`${RELOAD[0]} ${RELOAD[1].join(' ')}`, `${TRIGGER[0]} ${TRIGGER[1].join(' ')}`]
    : [];
  if (!isRoot) {
    const copy = shipped
      ? `sudo install -D -m 0644 ${shellQuote(UDEV_RULES_FILE)} ${shellQuote(path)}`
      : `printf '%s' ${shellQuote(rules)} | sudo tee ${shellQuote(path)} > /dev/null`;
    const todo = [copy, ...reloadCommands.map((c) => `sudo ${c}`)];
    return {
      path,
      written: false,
      reloaded: false,
      done: [],
      todo,
      message:
        `Writing ${path} needs root. Run:\n  ${todo.join('\n  ')}\n` +
        'then unplug and replug the board.',
    };
  }
  const run = options.run ?? runFile;
  const done: string[] = [];
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, rules, { mode: 0o644 });
  done.push(`wrote ${path}`);
  if (!reload) {
    return {
      path,
      written: true,
      reloaded: false,
      done,
      todo: [],
      message: `Wrote ${path}; udev reads it for devices plugged in after its next rules reload.`,
    };
  }
  try {
    await run(RELOAD[0], RELOAD[1]);
    done.push(reloadCommands[0]!);
    await run(TRIGGER[0], TRIGGER[1]);
    done.push(reloadCommands[1]!);
  } catch (error) {
    const todo = reloadCommands.slice(done.length - 1);
    return {
      path,
      written: true,
      reloaded: false,
      done,
      todo,
      message:
        `Wrote ${path}, but udev could not be told (${error instanceof Error ? error.message : String(error)}). ` +
        `Run ${todo.join(' && ')} where udev runs, or replug the board after a reboot.`,
    };
  }
  return {
    path,
    written: true,
    reloaded: true,
    done,
    todo: [],
    message: `Wrote ${path} and reloaded udev; unplug and replug the board if it was already connected.`,
  };
}
