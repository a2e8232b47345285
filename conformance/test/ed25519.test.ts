/**
 * The bootloader's Ed25519 verification (firmware/src/crypto, verify only, written for size)
 * against OpenSSL through Node's crypto: RFC 8032's test vectors, 10,000 random keys and
 * messages, and tampered signatures — bit flips in R, S and the message, truncation, a
 * non-canonical S (S + L), the wrong key. Every answer must be OpenSSL's. Also its SHA-512
 * and SHA-256 (the signed image's digest) against OpenSSL's, at every length to 300 bytes.
 */
import { spawn } from 'node:child_process';
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './harness.ts';

const TOOL = join(ROOT, 'firmware/build/host/tests/ed25519_check');
const missing = existsSync(TOOL)
  ? undefined
  : `${TOOL} is not built (bash firmware/scripts/build.sh)`;
if (missing && process.env.CI) throw new Error(missing);

/** L, the group order (RFC 8032 §5.1). */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/** Run the C tool over `lines` in two processes (two cores); answers in order. */
async function tool(lines: readonly string[]): Promise<string[]> {
  const half = Math.ceil(lines.length / 2);
  const run = (part: readonly string[]) =>
    new Promise<string[]>((resolve, reject) => {
      const child = spawn(TOOL, [], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        out += chunk;
      });
      child.on('error', reject);
      child.on('close', () => resolve(out.split('\n').filter((l) => l !== '')));
      child.stdin.end(`${part.join('\n')}\n`);
    });
  const [a, b] = await Promise.all([run(lines.slice(0, half)), run(lines.slice(half))]);
  return [...a, ...b];
}

function rawPublicKey(key: ReturnType<typeof generateKeyPairSync>['publicKey']): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(12);
}

/** OpenSSL's verdict on a raw 32-byte key. */
function opensslVerify(publicKey: Buffer, signature: Buffer, message: Buffer): boolean {
  const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), publicKey]);
  try {
    return verify(
      null,
      message,
      createPublicKey({ key: der, format: 'der', type: 'spki' }),
      signature,
    );
  } catch {
    return false;
  }
}

interface Case {
  readonly what: string;
  readonly key: Buffer;
  readonly signature: Buffer;
  readonly message: Buffer;
}

const line = (c: Case) =>
  `verify ${c.key.toString('hex')} ${c.signature.toString('hex')} ${c.message.toString('hex')}`;

async function expectOpenSslAnswers(cases: readonly Case[]): Promise<{ accepted: number }> {
  const answers = await tool(cases.map(line));
  expect(answers).toHaveLength(cases.length);
  let accepted = 0;
  cases.forEach((c, i) => {
    const ours = answers[i] === '1';
    const theirs = opensslVerify(c.key, c.signature, c.message);
    if (ours !== theirs) {
      throw new Error(`${c.what}: ours ${ours}, OpenSSL ${theirs}\n${line(c)}`);
    }
    if (ours) accepted++;
  });
  return { accepted };
}

function flipBit(bytes: Buffer, bit: number): Buffer {
  const out = Buffer.from(bytes);
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

describe.skipIf(missing !== undefined)(
  "the bootloader's Ed25519 verification against OpenSSL",
  () => {
    it("accepts RFC 8032's test vectors (§7.1 TEST 1–3) and refuses them altered", async () => {
      const vectors = [
        [
          'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
          '',
          'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
        ],
        [
          '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
          '72',
          '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
        ],
        [
          'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
          'af82',
          '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
        ],
      ] as const;
      const cases: Case[] = vectors.flatMap(([key, message, signature], n) => {
        const c = {
          key: Buffer.from(key, 'hex'),
          message: Buffer.from(message, 'hex'),
          signature: Buffer.from(signature, 'hex'),
        };
        return [
          { what: `TEST ${n + 1}`, ...c },
          {
            what: `TEST ${n + 1}, signature bit 7 flipped`,
            ...c,
            signature: flipBit(c.signature, 7),
          },
          {
            what: `TEST ${n + 1}, message extended`,
            ...c,
            message: Buffer.concat([c.message, Buffer.of(0)]),
          },
        ];
      });
      const { accepted } = await expectOpenSslAnswers(cases);
      expect(accepted).toBe(3);
    });

    it('agrees with OpenSSL on 10,000 random keys and messages, all valid', async () => {
      const cases: Case[] = [];
      for (let i = 0; i < 10_000; i++) {
        const { publicKey, privateKey } = generateKeyPairSync('ed25519');
        const message = randomBytes(i % 300);
        cases.push({
          what: `random #${i}`,
          key: rawPublicKey(publicKey),
          message,
          signature: sign(null, message, privateKey),
        });
      }
      const { accepted } = await expectOpenSslAnswers(cases);
      expect(accepted).toBe(10_000);
    }, 300_000); // about 15 s alone on 2 cores; much more when every package tests at once

    it('agrees with OpenSSL on tampered signatures: R, S and message bits, truncation, S + L, the wrong key', async () => {
      const cases: Case[] = [];
      for (let i = 0; i < 1_000; i++) {
        const { publicKey, privateKey } = generateKeyPairSync('ed25519');
        const other = rawPublicKey(generateKeyPairSync('ed25519').publicKey);
        const key = rawPublicKey(publicKey);
        const message = randomBytes(1 + (i % 200));
        const signature = sign(null, message, privateKey);
        const s = BigInt(`0x${Buffer.from(signature.subarray(32)).reverse().toString('hex')}`) + L;
        const nonCanonical = Buffer.concat([
          signature.subarray(0, 32),
          Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse(),
        ]);
        cases.push(
          { what: `#${i} R bit`, key, message, signature: flipBit(signature, i % 256) },
          { what: `#${i} S bit`, key, message, signature: flipBit(signature, 256 + (i % 253)) },
          {
            what: `#${i} message bit`,
            key,
            signature,
            message: flipBit(message, i % (message.length * 8)),
          },
          {
            what: `#${i} message truncated`,
            key,
            signature,
            message: message.subarray(0, message.length - 1),
          },
          { what: `#${i} S + L`, key, message, signature: nonCanonical },
          { what: `#${i} wrong key`, key: other, message, signature },
        );
      }
      const { accepted } = await expectOpenSslAnswers(cases);
      expect(accepted).toBe(0);
    }, 300_000);

    it('computes SHA-256 as OpenSSL does, at every length to 300 bytes and on 100 kB', async () => {
      const messages: Buffer[] = [];
      for (let n = 0; n <= 300; n++) messages.push(randomBytes(n));
      messages.push(randomBytes(100 * 1024));
      const answers = await tool(messages.map((m) => `sha256 ${m.toString('hex')}`));
      for (const [i, m] of messages.entries()) {
        expect(answers[i], `${m.length} bytes`).toBe(createHash('sha256').update(m).digest('hex'));
      }
    });

    it('computes SHA-512 as OpenSSL does, at every length around the 112- and 128-byte block edges', async () => {
      const messages: Buffer[] = [];
      for (let n = 0; n <= 300; n++) messages.push(randomBytes(n));
      const answers = await tool(messages.map((m) => `sha512 ${m.toString('hex')}`));
      for (const [i, m] of messages.entries()) {
        expect(answers[i], `${m.length} bytes`).toBe(createHash('sha512').update(m).digest('hex'));
      }
    });
  },
);
