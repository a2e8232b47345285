/**
 * Public keys given to the CLI (`--public-key`, "publicKey" in stm32dfu.json): a PEM file
 * as `stm32dfu keygen` writes it (<name>.pub), or 64 hex digits (the raw key keygen prints),
 * in a file or on the command line. Each becomes the 32 raw bytes the bootloader holds.
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { keyIdOf, rawPublicKey } from '@stm32dfu/image-tools/node';
import { formatId } from '@stm32dfu/protocol';
import { CliError, EXIT } from './errors.js';

export interface PublicKey {
  /** Where it came from: the file name or the hex given. */
  readonly source: string;
  readonly raw: Uint8Array;
  /** Its key id, 8 hex digits (as `stm32dfu keygen` prints it). */
  readonly keyId: string;
}

const RAW_HEX = /^[0-9a-fA-F]{64}$/;

export function readPublicKey(given: string): PublicKey {
  let raw: Uint8Array;
  if (RAW_HEX.test(given) && !existsSync(given)) {
    raw = Buffer.from(given, 'hex');
  } else {
    let text: string;
    try {
      text = readFileSync(given, 'utf8').trim();
    } catch (cause) {
      throw new CliError(
        'USAGE',
        `--public-key ${given}: cannot read it (${(cause as NodeJS.ErrnoException).code}); give the .pub file \`stm32dfu keygen\` wrote, or its 64 hex digits.`,
        EXIT.USAGE,
      );
    }
    if (RAW_HEX.test(text)) {
      raw = Buffer.from(text, 'hex');
    } else {
      try {
        const key = createPublicKey(text);
        if (key.asymmetricKeyType !== 'ed25519') {
          throw new Error(
            `it holds a ${key.asymmetricKeyType} key, and firmware is signed with Ed25519`,
          );
        }
        raw = rawPublicKey(key);
      } catch (cause) {
        throw new CliError(
          'USAGE',
          `--public-key ${given}: not an Ed25519 public key (${(cause as Error).message}); give the .pub file \`stm32dfu keygen\` wrote.`,
          EXIT.USAGE,
        );
      }
    }
  }
  return { source: given, raw: new Uint8Array(raw), keyId: formatId(keyIdOf(raw)) };
}

/** `--public-key` given once, several times or not at all. */
export function readPublicKeys(value: unknown): PublicKey[] {
  if (value === undefined || value === false) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((v) => readPublicKey(String(v)));
}
