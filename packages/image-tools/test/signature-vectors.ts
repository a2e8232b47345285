/**
 * fixtures/signature-vectors.txt as the signature tests read it: the test key, the board,
 * one signed image per verdict and the counter cases (written by `pnpm signature-vectors`).
 */
import { readFileSync } from 'node:fs';
import { readBinary, type SparseImage } from '../src/index.ts';

/** The Black Pill's application region, where the vectors' images live. */
export const REGION = { start: 0x08008000, size: 480 * 1024 };

const lines = readFileSync(new URL('../fixtures/signature-vectors.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => l.split(' '));

/** The raw public key the vectors are signed with (a fixed test key). */
export const key = Uint8Array.from(Buffer.from(lines.find((l) => l[0] === 'key')![1]!, 'hex'));
/** The board id string and its id word (8 hex digits). */
export const [, board, boardWord] = lines.find((l) => l[0] === 'board')! as [
  string,
  string,
  string,
];
/** `signed <name> <base> <verdict> <counter> <hex image>` lines, split. */
export const vectors = lines.filter((l) => l[0] === 'signed');
/** `counter <name> <board counter> <capacity> <verdict>` lines, split. */
export const onBoard = lines.filter((l) => l[0] === 'counter');

/** A vector's image at its base. */
export function imageOf(base: string, image: string): SparseImage {
  return readBinary(Buffer.from(image, 'hex'), { base: Number.parseInt(base, 16) });
}
