import { describe, expect, it } from 'vitest';
import {
  detectFormat,
  readImage,
  readIntelHex,
  readSrec,
  SparseImage,
  writeIntelHex,
  writeSrec,
} from '../src/index.ts';
import { bytesOf, expectImageError } from './helpers.ts';

// Notepad and other Windows editors start a UTF-8 file with EF BB BF; read as a JS string
// (fs.readFileSync(path, 'utf8'), File.text()) the same mark is the character U+FEFF.
const UTF8_BOM = bytesOf(0xef, 0xbb, 0xbf);
const BOM_CHAR = '\uFEFF';

function withBom(text: string): Uint8Array {
  const out = new Uint8Array(UTF8_BOM.length + text.length);
  out.set(UTF8_BOM);
  out.set(Buffer.from(text, 'latin1'), UTF8_BOM.length);
  return out;
}

const image = SparseImage.fromBytes(0x08008000, bytesOf(0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4));
const hexText = writeIntelHex(image, { startLinear: 0x08008101 });
const srecText = writeSrec(image, { header: 'app', start: 0x08008101 });

describe('a leading UTF-8 byte-order mark', () => {
  it('Intel HEX: read from bytes and from a string, same image and start address', () => {
    for (const input of [withBom(hexText), BOM_CHAR + hexText]) {
      const read = readIntelHex(input, { file: 'app.hex' });
      expect(read.image.equals(image)).toBe(true);
      expect(read.startLinear).toBe(0x08008101);
    }
  });

  it('S-records: read from bytes and from a string, same image, header and start', () => {
    for (const input of [withBom(srecText), BOM_CHAR + srecText]) {
      const read = readSrec(input, { file: 'app.srec' });
      expect(read.image.equals(image)).toBe(true);
      expect(read.header).toBe('app');
      expect(read.start).toBe(0x08008101);
    }
  });

  it('detection and readImage see Intel HEX and S-records behind the mark', () => {
    for (const [text, format] of [
      [hexText, 'ihex'],
      [srecText, 'srec'],
    ] as const) {
      expect(detectFormat(withBom(text))).toBe(format);
      expect(detectFormat(BOM_CHAR + text)).toBe(format);
      // Content decides, not a misleading extension.
      expect(detectFormat(withBom(text), 'app.bin')).toBe(format);
      const read = readImage(withBom(text), { fileName: `app.${format}` });
      expect(read.format).toBe(format);
      expect(read.image.equals(image)).toBe(true);
      expect(read.entry).toBe(0x08008101);
    }
    // A text file that is no image is still recognised as text, not taken as a binary.
    const notes = expectImageError(
      () => detectFormat(withBom('flash me at 0x08008000\n'), 'notes.txt'),
      'UNKNOWN_FORMAT',
    );
    expect(notes.message).toContain('notes.txt: the file is text');
  });

  it('columns on the first line count from the first visible character, as an editor shows them', () => {
    // Column 4 of line 1 is the first digit of the address ("X" replaces it).
    const badHex = `:02X0000408`.padEnd(15, '0') + hexText.slice(15);
    const lineOne = badHex.split('\n')[0]!;
    expect(lineOne.indexOf('X') + 1).toBe(4);
    for (const input of [withBom(badHex), BOM_CHAR + badHex, badHex]) {
      const e = expectImageError(() => readIntelHex(input, { file: 'app.hex' }), 'HEX_SYNTAX');
      expect(e.message).toContain("app.hex line 1: 'X' at column 4 is not a hex digit");
      expect(e.details).toMatchObject({ file: 'app.hex', line: 1, offset: 4 });
    }
    const badSrec = `S0${'Z'}${srecText.slice(3)}`;
    for (const input of [withBom(badSrec), BOM_CHAR + badSrec, badSrec]) {
      const e = expectImageError(() => readSrec(input, { file: 'app.srec' }), 'SREC_SYNTAX');
      expect(e.message).toContain("app.srec line 1: 'Z' at column 3 is not a hex digit");
      expect(e.details).toMatchObject({ line: 1, offset: 3 });
    }
  });

  it('line numbers further down are unchanged by the mark', () => {
    const lines = srecText.trim().split('\n');
    const last = lines[1]!.slice(-2);
    lines[1] = lines[1]!.slice(0, -2) + (last === '00' ? '01' : '00');
    const e = expectImageError(
      () => readSrec(withBom(lines.join('\n')), { file: 'app.srec' }),
      'SREC_CHECKSUM',
    );
    expect(e.details.line).toBe(2);
    const hexLines = hexText.trim().split('\n');
    hexLines[1] = `${hexLines[1]!.slice(0, -2)}00`;
    const h = expectImageError(
      () => readIntelHex(BOM_CHAR + hexLines.join('\n'), { file: 'app.hex' }),
      'HEX_CHECKSUM',
    );
    expect(h.message).toMatch(/^app\.hex line 2: checksum 0x00/);
  });

  it('a mark anywhere but the very start is still an error, at its own line and column', () => {
    const text = hexText.replace('\n', `\n${BOM_CHAR}`);
    const e = expectImageError(() => readIntelHex(text, { file: 'app.hex' }), 'HEX_SYNTAX');
    expect(e.details).toMatchObject({ line: 2, offset: 1 });
    expect(e.message).toContain("app.hex line 2: expected ':' to start a record");
  });
});
