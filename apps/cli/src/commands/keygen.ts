/**
 * stm32dfu keygen <name>: an Ed25519 key pair for signing firmware (docs/signed-firmware.md)
 * as PEM files, <name>.key (PKCS #8, readable by its owner only) and <name>.pub (SPKI). The
 * private key is never printed unless --print-private asks for it.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { keyIdOf, rawPublicKey } from '@stm32dfu/image-tools/node';
import type { CommandContext, GlobalOptions } from '../cli.js';
import { CliError, EXIT, type ExitStatus } from '../errors.js';

export async function run(
  args: unknown[],
  options: GlobalOptions,
  { output }: CommandContext,
): Promise<ExitStatus> {
  const name = String(args[0]);
  const keyFile = `${name}.key`;
  const pubFile = `${name}.pub`;
  for (const file of [keyFile, pubFile]) {
    if (existsSync(file) && !options.force) {
      throw new CliError(
        'USAGE',
        `${file} exists: keep it, or overwrite it with --force.`,
        EXIT.USAGE,
      );
    }
  }
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const privatePem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  writeFileSync(keyFile, privatePem, { mode: 0o600 });
  writeFileSync(pubFile, publicKey.export({ format: 'pem', type: 'spki' }).toString());
  const raw = rawPublicKey(publicKey);
  const keyId = keyIdOf(raw).toString(16).padStart(8, '0');
  output.result(
    {
      command: 'keygen',
      ok: true,
      exitStatus: EXIT.OK,
      privateKeyFile: keyFile,
      publicKeyFile: pubFile,
      keyId,
      publicKey: Buffer.from(raw).toString('hex'),
      ...(options.printPrivate ? { privateKey: privatePem } : {}),
    },
    () =>
      [
        `${keyFile}: the private key (keep it secret; only you can read the file)`,
        `${pubFile}: the public key, key id ${keyId}, raw ${Buffer.from(raw).toString('hex')}`,
        ...(options.printPrivate ? [privatePem.trimEnd()] : []),
      ].join('\n'),
  );
  return EXIT.OK;
}
