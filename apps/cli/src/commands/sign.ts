/**
 * stm32dfu sign <in> <out> --key K --counter N: a signed application image
 * (docs/signed-firmware.md): stamped first if it is not (--app-version), then the 128-byte
 * trailer with the image's SHA-256, version, security counter, board id and key id, signed
 * with the Ed25519 private key in K (PEM, as stm32dfu keygen writes it).
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { stampImage, validateImage } from '@stm32dfu/image-tools';
import {
  checkSignature,
  rawPublicKey,
  readImageFile,
  signImage,
  writeImageFile,
} from '@stm32dfu/image-tools/node';
import { getLayout } from '@stm32dfu/layout';
import type { CommandContext, GlobalOptions } from '../cli.js';
import { hex, parseNumber } from '../dfu.js';
import { CliError, EXIT, type ExitStatus } from '../errors.js';
import { formatForPath } from './convert.js';

export async function run(
  args: unknown[],
  options: GlobalOptions,
  { output }: CommandContext,
): Promise<ExitStatus> {
  const [input, out] = args as [string, string];
  const format = formatForPath(out);
  if (options.key === undefined)
    throw new CliError(
      'USAGE',
      'Give the private key to sign with: --key firmware.key.',
      EXIT.USAGE,
    );
  if (options.counter === undefined) {
    throw new CliError(
      'USAGE',
      'Give the security counter: --counter N (a board refuses images below its own).',
      EXIT.USAGE,
    );
  }
  const counter = parseNumber(String(options.counter), 'The security counter');
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(readFileSync(String(options.key)));
  } catch (cause) {
    throw new CliError(
      'USAGE',
      `${options.key}: not a readable private key (${(cause as Error).message}); make one with stm32dfu keygen.`,
      EXIT.USAGE,
    );
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new CliError(
      'USAGE',
      `${options.key} holds a ${privateKey.asymmetricKeyType} key; firmware is signed with Ed25519.`,
      EXIT.USAGE,
    );
  }
  const layout = getLayout(options.board ?? 'blackpill-f411');
  const region = layout.partitions.application;
  const base =
    options.address !== undefined
      ? parseNumber(options.address as string, 'The address')
      : region.start;
  const read = await readImageFile(input, { base });
  const report = validateImage(read.image, layout, { file: input });
  const stamped =
    report.stamp?.verdict === 'valid'
      ? read.image
      : stampImage(read.image, layout, {
          version: (options.appVersion as string | undefined) ?? '0.0.0',
        });
  const signed = signImage(stamped, region, {
    privateKey,
    securityCounter: counter,
    boardId: layout.board.id,
  });
  const check = checkSignature(signed, region, {
    publicKeys: [rawPublicKey(privateKey)],
    boardId: layout.board.id,
  });
  const { vendorId, productId } = layout.board.usbIdentity;
  await writeImageFile(
    out,
    signed,
    format,
    format === 'dfuse' ? { vendorId, productId } : undefined,
  );
  const trailer = check.trailer!;
  output.result(
    {
      command: 'sign',
      ok: true,
      exitStatus: EXIT.OK,
      input,
      output: out,
      board: layout.board.id,
      keyId: trailer.keyId.toString(16).padStart(8, '0'),
      securityCounter: trailer.securityCounter,
      version: trailer.version,
      trailerAddress: trailer.address,
      digest: Buffer.from(trailer.digest).toString('hex'),
    },
    () =>
      `${out}: signed for ${layout.board.id} with key ${trailer.keyId.toString(16).padStart(8, '0')}, ` +
      `security counter ${counter}; trailer at ${hex(trailer.address)}`,
  );
  return EXIT.OK;
}
