/**
 * The command registry: cac parses, each command's module is imported only when it runs,
 * so `stm32dfu --help` and `stm32dfu list` load little. One top-level catch turns every
 * error into its documented exit status (errors.ts).
 */
import { cac } from 'cac';
import {
  CliError,
  describeError,
  EXIT,
  type ExitStatus,
  errorCodeOf,
  exitStatusOf,
} from './errors.js';
import type { Output } from './output.js';
import type { ProjectFile } from './project.js';

export interface GlobalOptions {
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly verbose?: boolean;
  readonly sim?: string | string[];
  readonly board?: string;
  readonly device?: string;
  readonly serial?: string | string[];
  readonly path?: string;
  readonly wait?: number | boolean;
  readonly all?: boolean;
  readonly [key: string]: unknown;
}

export interface CommandContext {
  readonly output: Output;
  readonly project: ProjectFile | undefined;
}

type Handler = (
  args: unknown[],
  options: GlobalOptions,
  context: CommandContext,
) => Promise<ExitStatus>;

const VERSION = '0.1.0';

/** Run `argv` (without node and the script); resolves to the exit status. */
export async function main(argv: readonly string[]): Promise<ExitStatus> {
  const cli = cac('stm32dfu');
  let status: ExitStatus = EXIT.OK;
  let ran: Promise<void> | undefined;

  const run =
    (name: string, load: () => Promise<{ run: Handler }>) =>
    (...parsed: unknown[]) => {
      const options = parsed.pop() as GlobalOptions;
      ran = (async () => {
        // Loaded here, not at the top: `stm32dfu --help` must not pay for them.
        const { Output } = await import('./output.js');
        const output = new Output(options);
        try {
          const { loadProjectFile } = await import('./project.js');
          const project = loadProjectFile(process.cwd());
          const merged = project ? { ...project.defaults, ...stripUndefined(options) } : options;
          const module = await load();
          status = await module.run(parsed, merged as GlobalOptions, { output, project });
        } catch (error) {
          status = exitStatusOf(error);
          output.endProgress();
          if (options.json) {
            output.result(
              {
                command: name,
                ok: false,
                exitStatus: status,
                error: { code: errorCodeOf(error), message: describeError(error) },
              },
              () => undefined,
            );
          }
          output.warn(`stm32dfu ${name}: ${describeError(error)}`);
        }
      })();
    };

  const device = (c: ReturnType<typeof cli.command>) =>
    c
      .option(
        '--sim <file>',
        'Use a virtual board whose whole state lives in <file> (created when missing; repeat for several)',
      )
      .option('--board <id>', 'Board for a new --sim file (default blackpill-f411)')
      .option('--device <vid:pid>', 'Select USB boards by vendor and product id, e.g. 1209:0001')
      .option('--serial <serial>', 'Select a USB board by serial number (repeat for several)')
      .option('--path <bus-port>', 'Select a USB board by bus path, as dfu-util -p (e.g. 1-1.4)')
      .option('--wait [seconds]', 'Wait for a board to appear (default 10 s)')
      .option('--json', 'NDJSON progress and one result object on stdout; logs on stderr')
      .option('--quiet', 'Print only errors and the result')
      .option('--verbose', 'Print more detail');

  device(cli.command('list', 'List DFU-capable boards')).action(
    run('list', () => import('./commands/list.js')),
  );
  device(cli.command('info', 'Identity, mode, memory map, the installed application, security'))
    .option(
      '--detach',
      'A running application: describe its bootloader (security record, installed image), then start it again',
    )
    .action(run('info', () => import('./commands/info.js')));
  device(
    cli.command(
      'flash [file]',
      'Write an image (default: "image" in stm32dfu.json): stamped, differential, verified, then started',
    ),
  )
    .option('--address <address>', 'Load address of a raw binary (default: the application base)')
    .option('--no-stamp', 'Do not stamp an unstamped application')
    .option('--app-version <x.y.z>', 'Version to stamp (default 0.0.0)')
    .option('--no-verify', 'Do not verify what was written')
    .option('--full', 'Rewrite every sector, even those already holding the image')
    .option('--stay', 'Stay in the bootloader afterwards')
    .option(
      '--dry-run',
      'Print the plan (sectors to erase and skip, bytes, estimated time) and change nothing',
    )
    .option(
      '--public-key <file>',
      'The public key (.pub from keygen) the board holds: the signature is checked before sending (repeat for several)',
    )
    .option('--all', 'Flash every matching board')
    .action(run('flash', () => import('./commands/flash.js')));
  device(cli.command('read <out>', 'Read flash into a file (format from its extension)'))
    .option('--range <address:length>', 'What to read (default: the application region)')
    .action(run('read', () => import('./commands/read.js')));
  device(cli.command('verify <file>', 'Compare the board with an image; write nothing'))
    .option('--address <address>', 'Load address of a raw binary (default: the application base)')
    .action(run('verify', () => import('./commands/verify.js')));
  device(cli.command('erase', 'Erase the application region, or some sectors'))
    .option('--app', 'Every application sector (the default)')
    .option('--sectors <list>', 'Sector numbers, e.g. 2,3 or 4-7')
    .action(run('erase', () => import('./commands/erase.js')));
  device(cli.command('detach', 'Send a running application into the bootloader')).action(
    run('detach', () => import('./commands/detach.js')),
  );
  device(
    cli.command('reset', 'Reset the board (starts its application if it has a good one)'),
  ).action(run('reset', () => import('./commands/reset.js')));
  cli
    .command('convert <in> <out>', 'Convert an image between bin, hex, srec, elf, dfu, dfuse')
    .option('--address <address>', 'Load address of a raw binary input')
    .option('--vid <vid>', 'USB vendor id for a .dfu/.dfuse suffix')
    .option('--pid <pid>', 'USB product id for a .dfu/.dfuse suffix')
    .option('--json', 'Print the result as JSON')
    .action(run('convert', () => import('./commands/convert.js')));
  cli
    .command('stamp <in> <out>', 'Stamp an application image so the bootloader boots it')
    .option('--board <id>', 'Board (default blackpill-f411)')
    .option('--address <address>', 'Load address of a raw binary input')
    .option('--app-version <x.y.z>', 'Version to stamp (default 0.0.0)')
    .option('--json', 'Print the result as JSON')
    .action(run('stamp', () => import('./commands/stamp.js')));
  cli
    .command(
      'keygen <name>',
      'Make an Ed25519 key pair for signing firmware: <name>.key and <name>.pub',
    )
    .option('--force', 'Overwrite existing key files')
    .option('--print-private', 'Also print the private key')
    .option('--json', 'Print the result as JSON')
    .action(run('keygen', () => import('./commands/keygen.js')));
  cli
    .command('sign <in> <out>', 'Sign an application image (stamped first when it is not)')
    .option('--key <file>', 'The Ed25519 private key (PEM), from stm32dfu keygen')
    .option('--counter <n>', 'Security counter: a board refuses images below its own')
    .option('--board <id>', 'Board (default blackpill-f411)')
    .option('--address <address>', 'Load address of a raw binary input')
    .option('--app-version <x.y.z>', 'Version to stamp an unstamped image with (default 0.0.0)')
    .option('--json', 'Print the result as JSON')
    .action(run('sign', () => import('./commands/sign.js')));
  cli
    .command('layout', "Print a board's memory map, linker script, C header or DfuSe string")
    .option('--board <id>', 'Board (default blackpill-f411)')
    .option('--ld', 'Linker memory fragment for the application')
    .option('--header', 'The C header the firmware is built with')
    .option('--dfuse', 'The DfuSe layout string')
    .option('--json', 'The layout as JSON')
    .action(run('layout', () => import('./commands/layout.js')));
  cli
    .command('sim <action>', 'The virtual board: status | reset | power-cut | lock')
    .option('--sim <file>', 'The virtual board file')
    .option('--board <id>', 'Board for a new file (default blackpill-f411)')
    .option(
      '--boot0',
      'sim reset: hold Boot0 (ST ROM bootloader) from now on; --no-boot0 releases it',
    )
    .option(
      '--after-ops <n>',
      'sim power-cut: the next command loses power after n flash operations',
    )
    .option(
      '--public-key <file>',
      'sim lock: a public key (.pub from keygen) the board accepts (repeat for up to 4)',
    )
    .option('--verify-at-boot', 'sim lock: check the signature at every boot too')
    .option('--lock-upload', 'sim lock: refuse UPLOAD (no reading the flash out)')
    .option('--json', 'Print the result as JSON')
    .action(run('sim', () => import('./commands/sim.js')));
  cli
    .command('udev', 'Print the Linux udev rule that lets users reach the boards')
    .option('--install', 'Install it in /etc/udev/rules.d and reload udev')
    .option('--json', 'Print the result as JSON')
    .action(run('udev', () => import('./commands/udev.js')));
  cli
    .command('doctor', 'Check this machine: the usb module, permissions, udev rule, boards seen')
    .option('--json', 'Print the result as JSON')
    .action(run('doctor', () => import('./commands/doctor.js')));

  cli.help();
  cli.version(VERSION);
  try {
    cli.parse(['node', 'stm32dfu', ...argv], { run: false });
    if (!cli.matchedCommand) {
      if (cli.options.help || cli.options.version) return EXIT.OK;
      if (cli.args.length > 0) {
        throw new CliError(
          'USAGE',
          `Unknown command "${cli.args[0]}": run stm32dfu --help for the list.`,
          EXIT.USAGE,
        );
      }
      cli.outputHelp();
      return EXIT.USAGE;
    }
    await cli.runMatchedCommand();
    await ran;
  } catch (error) {
    // cac's own errors (an option without its value, an unknown option) are usage errors.
    const usage = (error as { name?: string } | null)?.name === 'CACError';
    const message = usage
      ? `${(error as Error).message}; run stm32dfu --help.`
      : describeError(error);
    process.stderr.write(`stm32dfu: ${message}\n`);
    return error instanceof CliError ? error.exitStatus : EXIT.USAGE;
  }
  return status;
}

function stripUndefined(options: GlobalOptions): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}
