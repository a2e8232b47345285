import { describe, expect, it } from 'vitest';
import {
  addDfuSuffix,
  detectFormat,
  readDfuSuffix,
  readDfuse,
  readElf,
  readImage,
  readIntelHex,
  readSrec,
  SparseImage,
  stripDfuSuffix,
  verifyDfuSuffix,
  writeDfuse,
  writeElf,
  writeIntelHex,
  writeSrec,
} from '../src/index.ts';
import { ascii, bytesOf, expectImageError } from './helpers.ts';

const HEX = [
  ':020000040800F2',
  ':108000000000022009810008118100081981000880',
  ':04801000DEADBEEF34',
  ':04000005080081016D',
  ':00000001FF',
].join('\n');

describe('Intel HEX', () => {
  it('reads extended linear addresses and the start address', () => {
    const r = readIntelHex(HEX);
    expect(r.image.segments).toHaveLength(1);
    expect(r.image.start).toBe(0x08008000);
    expect(r.image.size).toBe(20);
    expect([...r.image.read(0x08008010, 4)]).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect(r.startLinear).toBe(0x08008101);
  });

  it('reads extended segment addresses (type 02) and CS:IP (type 03), with segment wrap-around', () => {
    const r = readIntelHex(
      [
        ':020000021000EC',
        ':0400100001020304E2',
        ':02FFFF00AABB9B',
        ':0400000312345678E5',
        ':00000001FF',
      ].join('\r\n'),
    );
    expect([...r.image.read(0x10010, 4)]).toEqual([1, 2, 3, 4]);
    // Byte 0xBB wraps to the start of the 64 kB segment.
    expect(r.image.byteAt(0x1ffff)).toBe(0xaa);
    expect(r.image.byteAt(0x10000)).toBe(0xbb);
    expect(r.startSegment).toEqual({ cs: 0x1234, ip: 0x5678 });
  });

  it('names file, line and both checksums on a bad checksum', () => {
    const bad = HEX.replace(':04801000DEADBEEF34', ':04801000DEADBEEF35');
    const e = expectImageError(() => readIntelHex(bad, { file: 'app.hex' }), 'HEX_CHECKSUM');
    expect(e.message).toBe('app.hex line 3: checksum 0x35, expected 0x34; the record is corrupt.');
    expect(e.details).toMatchObject({ file: 'app.hex', line: 3 });
  });

  it('reports syntax errors with line and column', () => {
    let e = expectImageError(
      () => readIntelHex(HEX.replace(':04801000DEAD', ':04801000DEXD'), { file: 'a.hex' }),
      'HEX_SYNTAX',
    );
    expect(e.message).toContain("a.hex line 3: 'X' at column 12 is not a hex digit");
    e = expectImageError(() => readIntelHex(`garbage\n${HEX}`, { file: 'a.hex' }), 'HEX_SYNTAX');
    expect(e.message).toContain("a.hex line 1: expected ':'");
    e = expectImageError(
      () =>
        readIntelHex(HEX.replace(':04801000DEADBEEF34', ':04801000DEADBE34'), { file: 'a.hex' }),
      'HEX_SYNTAX',
    );
    expect(e.details.line).toBe(3);
    expect(e.message).toMatch(/cut short|not a hex digit|checksum/);
    e = expectImageError(
      () =>
        readIntelHex(HEX.replace(':04801000DEADBEEF34', ':04801000DEADBEEF3400'), {
          file: 'a.hex',
        }),
      'HEX_SYNTAX',
    );
    expect(e.message).toContain('goes on after its checksum');
  });

  it('refuses unknown record types and a missing end-of-file record', () => {
    const e1 = expectImageError(
      () => readIntelHex(':00000006FA\n:00000001FF', { file: 'a.hex' }),
      'HEX_RECORD_TYPE',
    );
    expect(e1.message).toContain('a.hex line 1');
    const e2 = expectImageError(
      () => readIntelHex(HEX.split('\n').slice(0, 3).join('\n'), { file: 'a.hex' }),
      'TRUNCATED',
    );
    expect(e2.message).toContain('a.hex line 3');
    expect(e2.message).toContain('end-of-file record');
    expectImageError(() => readIntelHex(':1080000000', { file: 'a.hex' }), 'TRUNCATED');
  });

  it('reports duplicated records as overlaps naming both lines', () => {
    const dup = HEX.replace(':00000001FF', ':04801000DEADBEEF34\n:00000001FF');
    const e = expectImageError(() => readIntelHex(dup, { file: 'a.hex' }), 'OVERLAP');
    expect(e.message).toContain('a.hex line 5');
    expect(e.message).toContain('lines 2–3');
    expect(e.details.address).toBe(0x08008010);
    expect(readIntelHex(dup, { overlap: 'last-wins' }).image.size).toBe(20);
  });

  it('writes 04 + 00 records that never cross 64 kB and reads back identically', () => {
    const img = SparseImage.fromPieces([
      { address: 0x0800fff8, data: new Uint8Array(40).map((_, i) => i) },
      { address: 0x20000000, data: bytesOf(1, 2, 3) },
    ]);
    const text = writeIntelHex(img, { recordSize: 32, startLinear: 0x08008101 });
    expect(text).toContain(':020000040800F2');
    expect(text).toContain(':020000040801F1');
    expect(text.trimEnd().endsWith(':00000001FF')).toBe(true);
    const back = readIntelHex(text);
    expect(back.image.equals(img)).toBe(true);
    expect(back.startLinear).toBe(0x08008101);
  });
});

describe('S-records', () => {
  it('picks S1/S2/S3 by address width, counts with S5 and terminates with S9/S8/S7', () => {
    for (const [address, data, term] of [
      [0x1000, 'S1', 'S9'],
      [0x123456, 'S2', 'S8'],
      [0x08008000, 'S3', 'S7'],
    ] as const) {
      const img = SparseImage.fromBytes(address, bytesOf(1, 2, 3));
      const text = writeSrec(img, { header: 'app', start: address });
      const lines = text.trim().split('\n');
      expect(lines[0]!.startsWith('S0')).toBe(true);
      expect(lines[1]!.startsWith(data)).toBe(true);
      expect(lines[2]!.startsWith('S5')).toBe(true);
      expect(lines[3]!.startsWith(term)).toBe(true);
      const back = readSrec(text);
      expect(back.image.equals(img)).toBe(true);
      expect(back.header).toBe('app');
      expect(back.start).toBe(address);
      expect(back.recordCount).toBe(1);
    }
  });

  it('names file, line and checksums on a bad checksum', () => {
    const text = writeSrec(SparseImage.fromBytes(0x08008000, bytesOf(1, 2, 3, 4)));
    const lines = text.trim().split('\n');
    const last2 = lines[1]!.slice(-2);
    lines[1] = lines[1]!.slice(0, -2) + (last2 === '00' ? '01' : '00');
    const e = expectImageError(
      () => readSrec(lines.join('\n'), { file: 'app.srec' }),
      'SREC_CHECKSUM',
    );
    expect(e.message).toMatch(/^app\.srec line 2: checksum 0x[0-9A-F]{2}, expected 0x[0-9A-F]{2}/);
  });

  it('refuses S4, a wrong S5 count, bad syntax and a missing termination record', () => {
    expectImageError(() => readSrec('S4030000FC\n'), 'SREC_RECORD_TYPE');
    const text = writeSrec(SparseImage.fromBytes(0x1000, bytesOf(1, 2)));
    const wrongCount = text.replace(/^S5.*$/m, 'S5030002FA');
    const e = expectImageError(() => readSrec(wrongCount, { file: 'a.s19' }), 'SREC_COUNT');
    expect(e.message).toContain('a.s19 line 3');
    const cut = text.split('\n').slice(0, 2).join('\n');
    expect(expectImageError(() => readSrec(cut, { file: 'a.s19' }), 'TRUNCATED').message).toContain(
      'termination record',
    );
    expect(
      expectImageError(() => readSrec(`X${text}`, { file: 'a.s19' }), 'SREC_SYNTAX').details.line,
    ).toBe(1);
  });
});

describe('ELF', () => {
  const img = SparseImage.fromPieces([
    { address: 0x08008000, data: bytesOf(0, 0, 2, 0x20, 0x01, 0x81, 0, 8) },
    { address: 0x08009000, data: bytesOf(7, 7) },
  ]);

  it('reads PT_LOAD segments and the entry point', () => {
    const r = readElf(writeElf(img, { entry: 0x08008101 }));
    expect(r.image.equals(img)).toBe(true);
    expect(r.entry).toBe(0x08008101);
  });

  it('refuses other classes, endianness and machines, naming the offset', () => {
    const elf = writeElf(img);
    const c64 = elf.slice();
    c64[4] = 2;
    expect(expectImageError(() => readElf(c64, { file: 'a.elf' }), 'ELF_CLASS').message).toContain(
      'a.elf offset 0x4',
    );
    const be = elf.slice();
    be[5] = 2;
    expect(expectImageError(() => readElf(be, { file: 'a.elf' }), 'ELF_ENDIAN').message).toContain(
      'big-endian',
    );
    const x86 = elf.slice();
    x86[18] = 3;
    expect(
      expectImageError(() => readElf(x86, { file: 'a.elf' }), 'ELF_NOT_ARM').message,
    ).toContain('a.elf offset 0x12');
    expectImageError(
      () => readElf(ascii('not an elf at all, really'), { file: 'a.elf' }),
      'ELF_MAGIC',
    );
  });

  it('reports truncation with the offset', () => {
    const elf = writeElf(img);
    const e = expectImageError(
      () => readElf(elf.subarray(0, elf.length - 1), { file: 'a.elf' }),
      'TRUNCATED',
    );
    expect(e.message).toMatch(/a\.elf offset 0x[0-9A-F]+: PT_LOAD segment 1 needs 2 bytes/);
    expectImageError(() => readElf(elf.subarray(0, 30)), 'TRUNCATED');
  });

  it('reports overlapping PT_LOAD segments with both positions and the address', () => {
    const elf = writeElf(img);
    new DataView(elf.buffer).setUint32(52 + 32 + 12, 0x08008004, true); // second p_paddr into the first
    const e = expectImageError(() => readElf(elf, { file: 'a.elf' }), 'OVERLAP');
    expect(e.message).toContain('a.elf segment 1');
    expect(e.message).toContain('a.elf segment 0');
    expect(e.details.address).toBe(0x08008004);
  });

  it('ignores segments without file bytes and refuses files with none', () => {
    const elf = writeElf(img);
    const view = new DataView(elf.buffer);
    view.setUint32(52 + 16, 0, true); // first segment p_filesz = 0, like .bss
    expect(readElf(elf).image.start).toBe(0x08009000);
    view.setUint32(52 + 32 + 16, 0, true);
    expectImageError(() => readElf(elf, { file: 'a.o' }), 'ELF_NO_SEGMENTS');
  });
});

describe('DFU suffix and DfuSe', () => {
  it('adds, reads, verifies and strips a suffix', () => {
    const body = ascii('firmware bytes');
    const withSuffix = addDfuSuffix(body, {
      vendorId: 0x1209,
      productId: 0x0001,
      deviceVersion: 0x0200,
    });
    expect(withSuffix.length).toBe(body.length + 16);
    expect(readDfuSuffix(withSuffix)).toMatchObject({
      vendorId: 0x1209,
      productId: 1,
      deviceVersion: 0x200,
      dfuVersion: 0x100,
    });
    expect([...stripDfuSuffix(withSuffix)]).toEqual([...body]);
    const corrupt = withSuffix.slice();
    corrupt[0] = corrupt[0]! ^ 1;
    const e = expectImageError(() => readDfuSuffix(corrupt, { file: 'app.dfu' }), 'DFU_SUFFIX_CRC');
    expect(e.message).toContain(
      `app.dfu offset 0x${(withSuffix.length - 4).toString(16).toUpperCase()}`,
    );
    expect(verifyDfuSuffix(corrupt).ok).toBe(false);
    expectImageError(() => readDfuSuffix(body), 'DFU_SUFFIX_MISSING');
  });

  it('writes and reads several targets with several elements', () => {
    const flash = SparseImage.fromPieces([
      { address: 0x08008000, data: bytesOf(1, 2, 3, 4) },
      { address: 0x08010000, data: bytesOf(5) },
    ]);
    const options = SparseImage.fromBytes(0x1fffc000, bytesOf(0xaa, 0x55));
    const file = writeDfuse(
      [
        { alternateSetting: 0, name: 'Internal Flash', image: flash },
        { alternateSetting: 1, name: 'Option Bytes', image: options },
      ],
      { vendorId: 0x1209, productId: 0x0001 },
    );
    const r = readDfuse(file);
    expect(r.targets.map((t) => [t.alternateSetting, t.name, t.elements.length])).toEqual([
      [0, 'Internal Flash', 2],
      [1, 'Option Bytes', 1],
    ]);
    expect(r.targets[0]!.image.equals(flash)).toBe(true);
    expect(r.targets[1]!.image.equals(options)).toBe(true);
    expect(r.suffix).toMatchObject({ vendorId: 0x1209, productId: 1, dfuVersion: 0x011a });
    const viaReadImage = readImage(file, { fileName: 'fw.dfu' });
    expect(viaReadImage.format).toBe('dfuse');
    expect(viaReadImage.image.equals(flash)).toBe(true);
    expect(viaReadImage.targets).toHaveLength(2);
  });

  it('refuses size mismatches, bad versions and bad suffix CRCs with offsets', () => {
    const good = writeDfuse(SparseImage.fromBytes(0x08008000, bytesOf(1, 2, 3, 4)));
    const reCrc = (bytes: Uint8Array): Uint8Array =>
      addDfuSuffix(bytes.subarray(0, bytes.length - 16), { dfuVersion: 0x011a });
    const sized = good.slice();
    new DataView(sized.buffer).setUint32(6, 12345, true);
    const e1 = expectImageError(
      () => readDfuse(reCrc(sized), { file: 'a.dfu' }),
      'DFUSE_SIZE_MISMATCH',
    );
    expect(e1.message).toContain('a.dfu offset 0x6');
    const element = good.slice();
    new DataView(element.buffer).setUint32(11 + 274 + 4, 400, true); // element size
    const e2 = expectImageError(
      () => readDfuse(reCrc(element), { file: 'a.dfu' }),
      'DFUSE_SIZE_MISMATCH',
    );
    expect(e2.details.address).toBe(0x08008000);
    const version = good.slice();
    version[5] = 2;
    expectImageError(() => readDfuse(reCrc(version)), 'DFUSE_VERSION');
    const flipped = good.slice();
    flipped[300] = flipped[300]! ^ 0xff;
    expectImageError(() => readDfuse(flipped), 'DFU_SUFFIX_CRC');
    const targets = good.slice();
    targets[10] = 2;
    expectImageError(() => readDfuse(reCrc(targets), { file: 'a.dfu' }), 'TRUNCATED');
  });
});

describe('detection and readImage', () => {
  const img = SparseImage.fromBytes(0x08008000, bytesOf(1, 2, 3, 4, 5));

  it('detects every format from content', () => {
    expect(detectFormat(writeIntelHex(img))).toBe('ihex');
    expect(detectFormat(writeSrec(img))).toBe('srec');
    expect(detectFormat(writeElf(img))).toBe('elf');
    expect(detectFormat(writeDfuse(img))).toBe('dfuse');
    expect(detectFormat(addDfuSuffix(bytesOf(1, 2, 3)))).toBe('dfu');
    expect(detectFormat(bytesOf(0, 1, 2, 0xff))).toBe('binary');
    // Content wins over a misleading extension.
    expect(detectFormat(writeIntelHex(img), 'app.bin')).toBe('ihex');
    // The extension breaks the tie for content that looks like nothing in particular.
    expect(detectFormat(bytesOf(0, 1, 2, 0xff), 'app.hex')).toBe('ihex');
  });

  it('reads each format to the same image', () => {
    expect(readImage(writeIntelHex(img)).image.equals(img)).toBe(true);
    expect(readImage(writeSrec(img, { start: 0x08008101 })).entry).toBe(0x08008101);
    expect(readImage(writeElf(img, { entry: 0x08008101 })).entry).toBe(0x08008101);
    expect(readImage(bytesOf(1, 2, 3, 4, 5), { base: 0x08008000 }).image.equals(img)).toBe(true);
    const dfu = readImage(
      addDfuSuffix(bytesOf(1, 2, 3, 4, 5), { vendorId: 0x1209, productId: 1 }),
      { base: 0x08008000 },
    );
    expect(dfu.format).toBe('dfu');
    expect(dfu.image.equals(img)).toBe(true);
    expect(dfu.dfu).toMatchObject({ vendorId: 0x1209, productId: 1 });
  });

  it('asks for a base for raw binaries and refuses unknown text', () => {
    expect(
      expectImageError(() => readImage(bytesOf(1, 2), { fileName: 'app.bin' }), 'BASE_REQUIRED')
        .message,
    ).toContain('app.bin');
    const e = expectImageError(
      () => readImage(ascii('Memory map of app\n.text 0x08008000\n'), { fileName: 'app.map' }),
      'UNKNOWN_FORMAT',
    );
    expect(e.message).toContain('app.map');
    expect(readImage(':00000001FF\n', { fileName: 'empty.hex' }).image.isEmpty).toBe(true);
  });
});
