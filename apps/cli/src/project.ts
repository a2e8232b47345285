/**
 * The project file, stm32dfu.json, found in the working directory or the nearest parent:
 * defaults for the board, the device filters, the image and flags. Options on the command
 * line override it. Every mistake is refused naming the file and the key.
 *
 *   { "board": "blackpill-f411", "image": "build/app.hex", "serial": "0123456789ABCDEF01234567",
 *     "verify": true, "stay": false }
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { CliError, EXIT } from './errors.js';

export const PROJECT_FILE_NAME = 'stm32dfu.json';

const hexOrNumber = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^(0x[0-9a-fA-F]+|\d+)$/),
]);

export const ProjectFileSchema = z
  .object({
    $schema: z.string().optional(),
    board: z.string().min(1).optional(),
    image: z.string().min(1).optional(),
    address: hexOrNumber.optional(),
    appVersion: z
      .string()
      .regex(/^\d+\.\d+\.\d+$/, 'a version like 1.2.3')
      .optional(),
    device: z
      .string()
      .regex(/^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$/, 'VID:PID in hex, e.g. 1209:0001')
      .optional(),
    serial: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
    path: z.string().min(1).optional(),
    sim: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
    verify: z.boolean().optional(),
    stamp: z.boolean().optional(),
    stay: z.boolean().optional(),
    full: z.boolean().optional(),
    /** Public key(s) the board holds (.pub files from `stm32dfu keygen`), for flash's check. */
    publicKey: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
  })
  .strict();

export type ProjectSettings = z.infer<typeof ProjectFileSchema>;

export interface ProjectFile {
  readonly path: string;
  readonly settings: ProjectSettings;
  /** Settings as command options, paths made absolute against the file's directory. */
  readonly defaults: Record<string, unknown>;
}

/** The nearest stm32dfu.json at or above `cwd`, validated; undefined when there is none. */
export function loadProjectFile(cwd: string): ProjectFile | undefined {
  let dir = resolve(cwd);
  for (;;) {
    const path = join(dir, PROJECT_FILE_NAME);
    if (existsSync(path)) return parseProjectFile(path, readFileSync(path, 'utf8'));
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function parseProjectFile(path: string, text: string): ProjectFile {
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new CliError(
      'PROJECT_FILE',
      `${path} is not valid JSON: ${(error as Error).message}.`,
      EXIT.USAGE,
    );
  }
  const parsed = ProjectFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.length > 0 ? issue.path.join('.') : undefined;
    const what =
      issue.code === 'unrecognized_keys'
        ? `unknown key "${issue.keys.join('", "')}" (known: ${Object.keys(ProjectFileSchema.shape).join(', ')})`
        : `"${key}": ${issue.message}`;
    throw new CliError('PROJECT_FILE', `${path}: ${what}.`, EXIT.USAGE);
  }
  const settings = parsed.data;
  const dir = dirname(path);
  const abs = (p: string) => resolve(dir, p);
  const defaults: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (key === '$schema' || value === undefined) continue;
    if (key === 'image') defaults[key] = abs(value as string);
    else if (key === 'sim')
      defaults[key] = Array.isArray(value) ? value.map(abs) : abs(value as string);
    else if (key === 'publicKey') {
      // A file relative to the project file, or the raw key's 64 hex digits as they are.
      const keyPath = (v: string) => (/^[0-9a-fA-F]{64}$/.test(v) ? v : abs(v));
      defaults[key] = Array.isArray(value) ? value.map(keyPath) : keyPath(value as string);
    } else defaults[key] = value;
  }
  return { path, settings, defaults };
}
