/**
 * Rig config: what is wired to the board (relay and channels, USB serial, UART) and how long
 * things take. YAML or JSON, validated with zod; an error names the field and the file.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { rawPublicKey } from '@stm32dfu/image-tools/node';
import { boardIds } from '@stm32dfu/layout';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { HilError } from './errors.js';

const channel = z
  .number({ error: 'expected a relay channel number (1 to 8)' })
  .int({ error: 'expected a whole channel number' })
  .min(1, { error: 'channels are numbered from 1' })
  .max(8, { error: 'relay boards have at most 8 channels' });

const channels = z
  .object({
    boot0: channel,
    nrst: channel,
    power: channel.optional(),
  })
  .strict()
  .refine(
    (c) =>
      new Set([c.boot0, c.nrst, c.power].filter((x) => x !== undefined)).size ===
      [c.boot0, c.nrst, c.power].filter((x) => x !== undefined).length,
    {
      error: 'boot0, nrst and power need a channel each (two lines share one)',
    },
  );

const hex16 = z
  .union([z.number().int(), z.string().regex(/^(0x)?[0-9a-fA-F]{1,4}$/)], {
    error: 'expected a 16-bit USB id (0x16c0 or a number)',
  })
  .transform((v) => (typeof v === 'number' ? v : Number.parseInt(v.replace(/^0x/, ''), 16)))
  .pipe(z.number().min(0).max(0xffff));

const relay = z.discriminatedUnion(
  'driver',
  [
    z
      .object({
        driver: z.literal('hid'),
        vendorId: hex16.default(0x16c0),
        productId: hex16.default(0x05df),
        /** The relay board's own 5-character serial (in its feature report), to pick one of several. */
        serial: z.string().min(1).optional(),
        channels,
      })
      .strict(),
    z
      .object({
        driver: z.literal('ch340'),
        path: z.string().min(1, { error: 'give the serial device, e.g. /dev/ttyUSB0' }),
        baud: z.number().int().positive().default(9600),
        channels,
      })
      .strict(),
    z
      .object({
        driver: z.literal('gpio'),
        chip: z.string().min(1, { error: 'give the gpiochip, e.g. gpiochip0' }),
        /** Relay channel n drives lines[n − 1] (a line offset on the chip). */
        lines: z.array(z.number().int().min(0)).min(1).max(8),
        activeLow: z.boolean().default(false),
        channels,
      })
      .strict(),
    z
      .object({
        driver: z.literal('command'),
        /** argv to close a channel; `{channel}` is replaced by its number. */
        on: z.array(z.string()).min(1, { error: 'give the command as a list: [program, args...]' }),
        off: z
          .array(z.string())
          .min(1, { error: 'give the command as a list: [program, args...]' }),
        channels,
      })
      .strict(),
    z.object({ driver: z.literal('virtual'), channels }).strict(),
  ],
  { error: 'expected driver to be one of hid, ch340, gpio, command, virtual' },
);

const publicKeyHex = z.string().regex(/^[0-9a-fA-F]{64}$/, {
  error: 'expected a raw Ed25519 public key: 64 hex digits, as `stm32dfu keygen` prints it',
});

/**
 * The board's signing policy, as its bootloader was built (a board JSON's `signing`): the keys
 * it accepts, the test key the scenarios sign their images with, and what it enforces.
 */
const signing = z
  .object({
    /** The board's public keys, 64 hex digits each. */
    publicKeys: z.array(publicKeyHex).optional(),
    /** Or files holding them: `.pub` (PEM) from `stm32dfu keygen`, or 64 hex digits. */
    publicKeyFiles: z.array(z.string().min(1, { error: 'give a file path' })).optional(),
    /** The private key (PEM) the scenarios sign test images with: a test key the board holds. */
    privateKeyFile: z.string({
      error:
        'give the private key (PEM, from `stm32dfu keygen`) the scenarios sign their test images with: a test key the board holds, never a product key',
    }),
    /** The board refuses UPLOAD and CRCs of partial sectors (its board JSON's lockUpload). */
    lockUpload: z.boolean().default(false),
    /** The board checks the signature at every boot (its board JSON's verifyAtBoot). */
    verifyAtBoot: z.boolean().default(false),
  })
  .strict()
  .refine(
    (s) => {
      const n = (s.publicKeys?.length ?? 0) + (s.publicKeyFiles?.length ?? 0);
      return n >= 1 && n <= 4;
    },
    {
      error:
        "give the board's 1 to 4 public keys, in publicKeys (hex) and/or publicKeyFiles (.pub files)",
      path: ['publicKeys'],
    },
  );

export const rigConfigSchema = z
  .object({
    /** Names the rig in reports and its lock. */
    name: z.string().regex(/^[A-Za-z0-9._-]+$/, {
      error:
        'use letters, digits, ".", "_" or "-" (it names the lock file and the CI runner label)',
    }),
    board: z.enum(boardIds as unknown as [string, ...string[]], {
      error: `expected one of the boards in @stm32dfu/layout: ${boardIds.join(', ')}`,
    }),
    /** The chip's UID as the bootloader shows it: its USB serial, 24 hex digits. */
    serial: z.string().regex(/^[0-9A-F]{24}$/, {
      error: "expected the board's USB serial: 24 uppercase hex digits (see `stm32dfu list`)",
    }),
    relay,
    uart: z
      .object({
        path: z.string().min(1),
        baud: z.number().int().positive().default(115200),
        /** A line the application prints at start (a regular expression). */
        banner: z.string().min(1).default('stm32dfu example'),
      })
      .strict()
      .optional(),
    timings: z
      .object({
        resetPulseMs: z.number().positive().default(100),
        settleMs: z.number().nonnegative().default(300),
        enumerateTimeoutMs: z.number().positive().default(5000),
      })
      .strict()
      .default({ resetPulseMs: 100, settleMs: 300, enumerateTimeoutMs: 5000 }),
    powerCut: z
      .object({
        /** Power-cut points tried on a real rig (spread over the download). */
        samples: z.number().int().min(1).default(8),
      })
      .strict()
      .default({ samples: 8 }),
    soak: z
      .object({ cycles: z.number().int().min(1).default(3) })
      .strict()
      .default({ cycles: 3 }),
    /** Absent: the board installs any stamped image (the signed scenarios are skipped). */
    signing: signing.optional(),
  })
  .strict();

export type RigConfig = z.infer<typeof rigConfigSchema>;
export type RelayConfig = RigConfig['relay'];
export type ChannelMap = RelayConfig['channels'];

/**
 * Validate a parsed config; `source` names the file in errors. Key files are resolved
 * against `baseDir` (the config file's folder) and read, so a missing or wrong key is an
 * error here, naming its field.
 */
export function parseRigConfig(
  value: unknown,
  source = 'rig config',
  baseDir = process.cwd(),
): RigConfig {
  const result = rigConfigSchema.safeParse(value);
  if (result.success) {
    const config = result.data;
    if (config.signing) {
      const s = config.signing;
      s.privateKeyFile = resolve(baseDir, s.privateKeyFile);
      if (s.publicKeyFiles) s.publicKeyFiles = s.publicKeyFiles.map((f) => resolve(baseDir, f));
      readRigSigning(config, source);
    }
    return config;
  }
  const issue = result.error.issues[0]!;
  const field = issue.path.map(String).join('.') || '(top level)';
  const unknown =
    issue.code === 'unrecognized_keys'
      ? ` (unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')})`
      : '';
  throw new HilError(
    'INVALID_RIG_CONFIG',
    `${source}: ${field}: ${issue.message}${unknown}. Fix that field; docs/hil.md lists every key.`,
    { field },
  );
}

/** Read a rig config file (.yaml, .yml or .json). */
export function loadRigConfig(path: string): RigConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new HilError(
      'RIG_CONFIG_FILE',
      `Cannot read the rig config ${path} (${(cause as NodeJS.ErrnoException).code}): give the path of a .yaml or .json file, or --rig virtual.`,
      { cause },
    );
  }
  let value: unknown;
  try {
    value = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (cause) {
    throw new HilError(
      'RIG_CONFIG_FILE',
      `${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(cause as Error).message}`,
      { cause },
    );
  }
  return parseRigConfig(value, path, dirname(resolve(path)));
}

/** A rig's signing policy with its keys read: what the scenarios check the board against. */
export interface RigSigning {
  /** The raw 32-byte Ed25519 public keys the board accepts. */
  readonly publicKeys: readonly Uint8Array[];
  /** The test key the scenarios sign their images with (one of `publicKeys`'). */
  readonly privateKey: KeyObject;
  readonly lockUpload: boolean;
  readonly verifyAtBoot: boolean;
}

const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Read the key files of `config.signing` (undefined without one); errors name the field. */
export function readRigSigning(config: RigConfig, source = 'rig config'): RigSigning | undefined {
  const s = config.signing;
  if (!s) return undefined;
  const fail = (field: string, message: string, cause?: unknown): never => {
    throw new HilError(
      'INVALID_RIG_CONFIG',
      `${source}: ${field}: ${message}. Fix that field; docs/hil.md ("Signed boards") says what it takes.`,
      { field, cause },
    );
  };
  const read = (file: string, field: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (cause) {
      return fail(field, `cannot read ${file} (${(cause as NodeJS.ErrnoException).code})`, cause);
    }
  };
  const publicKeys: Uint8Array[] = (s.publicKeys ?? []).map(
    (key) => new Uint8Array(Buffer.from(key, 'hex')),
  );
  (s.publicKeyFiles ?? []).forEach((file, i) => {
    const field = `signing.publicKeyFiles.${i}`;
    const text = read(file, field).trim();
    if (/^[0-9a-fA-F]{64}$/.test(text)) {
      publicKeys.push(new Uint8Array(Buffer.from(text, 'hex')));
      return;
    }
    if (text.includes('PRIVATE KEY')) {
      fail(
        field,
        `${file} holds a private key: give its public half, the .pub file \`stm32dfu keygen\` wrote (the private one goes in signing.privateKeyFile)`,
      );
    }
    try {
      const key = createPublicKey(text);
      if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key`);
      publicKeys.push(rawPublicKey(key));
    } catch (cause) {
      fail(
        field,
        `${file} is not an Ed25519 public key (${(cause as Error).message}): give the .pub file \`stm32dfu keygen\` wrote, or 64 hex digits`,
        cause,
      );
    }
  });
  if (new Set(publicKeys.map(hexOf)).size !== publicKeys.length)
    fail('signing.publicKeys', 'the same key is given twice');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(read(s.privateKeyFile, 'signing.privateKeyFile'));
  } catch (cause) {
    if (cause instanceof HilError) throw cause;
    return fail(
      'signing.privateKeyFile',
      `${s.privateKeyFile} is not a private key (${(cause as Error).message}): give the .key file \`stm32dfu keygen\` wrote`,
      cause,
    );
  }
  if (privateKey.asymmetricKeyType !== 'ed25519')
    fail(
      'signing.privateKeyFile',
      `${s.privateKeyFile} holds a ${privateKey.asymmetricKeyType} key, not Ed25519`,
    );
  const own = hexOf(rawPublicKey(privateKey));
  if (!publicKeys.some((k) => hexOf(k) === own)) {
    fail(
      'signing.privateKeyFile',
      `its public key ${own} is not one of the board's keys, so the board would refuse every image the scenarios sign: add it to signing.publicKeys (and to the board's JSON), or give the key the board holds`,
    );
  }
  return {
    publicKeys,
    privateKey,
    lockUpload: s.lockUpload,
    verifyAtBoot: s.verifyAtBoot,
  };
}
