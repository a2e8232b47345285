import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addDfuSuffix,
  crc32Stm32Words,
  readBinary,
  readDfuSuffix,
  readDfuse,
  readElf,
  readImage,
  readIntelHex,
  readSrec,
  SparseImage,
  stripDfuSuffix,
  writeBinary,
  writeDfuse,
  writeElf,
  writeIntelHex,
  writeSrec,
} from '../src/index.ts';

/** Images of a few segments anywhere in the 32-bit space, gaps and 64 kB crossings included. */
const imageArb = (maxAddress = 0xffff_f000) =>
  fc
    .array(
      fc.record({
        address: fc.oneof(
          fc.integer({ min: 0, max: maxAddress }),
          fc.integer({ min: 0x0800_fff0, max: 0x0801_0010 }),
          fc.integer({ min: 0, max: 0x200 }),
        ),
        data: fc.uint8Array({ minLength: 1, maxLength: 300 }),
      }),
      { minLength: 0, maxLength: 5 },
    )
    .map((pieces) => SparseImage.fromPieces(pieces, { overlap: 'last-wins' }));

describe('round trips (fast-check)', () => {
  it('Intel HEX, 16- and 32-byte records, with a start address', () => {
    fc.assert(
      fc.property(
        imageArb(),
        fc.constantFrom(16 as const, 32 as const),
        fc.nat(),
        (img, recordSize, entry) => {
          const back = readIntelHex(writeIntelHex(img, { recordSize, startLinear: entry >>> 0 }));
          expect(back.image.equals(img)).toBe(true);
          expect(back.startLinear).toBe(entry >>> 0);
        },
      ),
    );
  });

  it('S-records of every address width', () => {
    fc.assert(
      fc.property(imageArb(), fc.integer({ min: 1, max: 64 }), (img, recordSize) => {
        const back = readSrec(writeSrec(img, { recordSize, start: img.start, header: 'x' }));
        expect(back.image.equals(img)).toBe(true);
        expect(back.start).toBe(img.start);
      }),
    );
  });

  it('ELF', () => {
    fc.assert(
      fc.property(imageArb(), fc.nat(), (img, entry) => {
        fc.pre(!img.isEmpty);
        const back = readElf(writeElf(img, { entry }));
        expect(back.image.equals(img)).toBe(true);
        expect(back.entry).toBe(entry);
      }),
    );
  });

  it('DfuSe with several targets', () => {
    fc.assert(
      fc.property(fc.array(imageArb(), { minLength: 1, maxLength: 3 }), (images) => {
        const file = writeDfuse(
          images.map((image, i) => ({ alternateSetting: i, name: `t${i}`, image })),
        );
        const back = readDfuse(file);
        expect(back.targets.map((t) => t.alternateSetting)).toEqual(images.map((_, i) => i));
        for (const [i, t] of back.targets.entries()) expect(t.image.equals(images[i]!)).toBe(true);
      }),
    );
  });

  it('raw binary and DFU suffix', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.integer({ min: 0, max: 0xffff }),
        (bytes, vid) => {
          const withSuffix = addDfuSuffix(bytes, { vendorId: vid });
          expect(readDfuSuffix(withSuffix).vendorId).toBe(vid);
          expect(stripDfuSuffix(withSuffix)).toEqual(bytes);
          const img = readBinary(bytes, { base: 0x08008000 });
          expect(writeBinary(img).bytes).toEqual(bytes);
        },
      ),
    );
  });

  it('readImage detects what each writer produced', () => {
    fc.assert(
      fc.property(imageArb(0x0fff_0000), (img) => {
        fc.pre(!img.isEmpty);
        expect(readImage(writeIntelHex(img)).format).toBe('ihex');
        expect(readImage(writeSrec(img)).format).toBe('srec');
        expect(readImage(writeElf(img)).format).toBe('elf');
        const dfuse = readImage(writeDfuse(img));
        expect(dfuse.format).toBe('dfuse');
        expect(dfuse.image.equals(img)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('one flipped byte always changes the STM32 CRC', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 4, maxLength: 256 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (raw, at, mask) => {
          const data = raw.subarray(0, raw.length - (raw.length % 4));
          const flipped = data.slice();
          const i = at % data.length;
          flipped[i] = flipped[i]! ^ mask;
          expect(crc32Stm32Words(flipped)).not.toBe(crc32Stm32Words(data));
        },
      ),
    );
  });
});
