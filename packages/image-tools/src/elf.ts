import { fail, hex } from './errors.js';
import { type ImagePiece, type OverlapPolicy, SparseImage } from './sparse-image.js';

/**
 * Options for `readElf`: the file name for messages and what to do when loaded segments overlap.
 */
export interface ElfReadOptions {
  readonly file?: string;
  readonly overlap?: OverlapPolicy;
}

/**
 * A section of an ELF file (`.text`, `.data`, `.bss`), for naming the part of an image a problem is
 * in.
 */
export interface ElfSection {
  readonly name: string;
  /** Run (virtual) address. */
  readonly address: number;
  /** Where the bytes are stored in flash (load address), when the section is loaded. */
  readonly loadAddress?: number;
  readonly size: number;
  /** SHT_NOBITS sections (.bss) occupy no file bytes and are never flashed. */
  readonly noBits: boolean;
}

/**
 * A PT_LOAD program header: where its bytes go in flash (`physicalAddress`) and run
 * (`virtualAddress`), sizes in bytes, and the sections it holds.
 */
export interface ElfSegment {
  readonly physicalAddress: number;
  readonly virtualAddress: number;
  readonly fileSize: number;
  readonly memorySize: number;
  readonly offset: number;
  /** Names of the allocated sections inside the segment. */
  readonly sections: readonly string[];
}

/**
 * What `readElf` finds: the bytes to flash at their load addresses, the entry point and the
 * segments and sections they came from.
 */
export interface ElfImage {
  readonly image: SparseImage;
  readonly entry: number;
  /** PT_LOAD segments with file bytes, as flashed. */
  readonly segments: readonly ElfSegment[];
  readonly sections: readonly ElfSection[];
}

const EM_ARM = 40;
const PT_LOAD = 1;
const SHT_NOBITS = 8;
const SHF_ALLOC = 2;

/**
 * ELF32 little-endian ARM executables (ELF spec, ARM AAELF). Every PT_LOAD segment with
 * file bytes is placed at its physical (load) address, so `.data`'s initial values land
 * where startup code copies them from, not at their RAM address.
 */
export function readElf(bytes: Uint8Array, options: ElfReadOptions = {}): ElfImage {
  const file = options.file ?? 'input';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (offset: number, length: number, what: string): void => {
    if (offset + length > bytes.length) {
      fail(
        'TRUNCATED',
        { file, offset },
        `${what} needs ${length} bytes at offset ${hex(offset, 1)}, but the file has ${bytes.length}; it is truncated.`,
      );
    }
  };
  need(0, 16, 'the ELF identification');
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    fail('ELF_MAGIC', { file, offset: 0 }, 'not an ELF file (no \\x7fELF magic).');
  }
  if (bytes[4] !== 1) {
    fail(
      'ELF_CLASS',
      { file, offset: 4 },
      `ELF class ${bytes[4] === 2 ? '64-bit' : String(bytes[4])}; only 32-bit ELF (Cortex-M) is supported.`,
    );
  }
  if (bytes[5] !== 1) {
    fail(
      'ELF_ENDIAN',
      { file, offset: 5 },
      `ELF data encoding ${bytes[5] === 2 ? 'big-endian' : String(bytes[5])}; Cortex-M images are little-endian.`,
    );
  }
  need(0, 52, 'the ELF header');
  const machine = view.getUint16(18, true);
  if (machine !== EM_ARM) {
    fail(
      'ELF_NOT_ARM',
      { file, offset: 18 },
      `e_machine is ${machine}, not ARM (40); this ELF was built for another processor.`,
    );
  }
  const entry = view.getUint32(24, true);
  const phoff = view.getUint32(28, true);
  const shoff = view.getUint32(32, true);
  const phentsize = view.getUint16(42, true);
  const phnum = view.getUint16(44, true);
  const shentsize = view.getUint16(46, true);
  const shnum = view.getUint16(48, true);
  const shstrndx = view.getUint16(50, true);

  // Section headers are optional (stripped files); they only serve to name things.
  const sections: ElfSection[] = [];
  const rawSections: {
    name: string;
    addr: number;
    size: number;
    offset: number;
    alloc: boolean;
    noBits: boolean;
  }[] = [];
  if (shoff !== 0 && shnum > 0 && shentsize >= 40 && shoff + shnum * shentsize <= bytes.length) {
    const strHeader = shoff + shstrndx * shentsize;
    const strOffset = shstrndx < shnum ? view.getUint32(strHeader + 16, true) : 0;
    const strSize = shstrndx < shnum ? view.getUint32(strHeader + 20, true) : 0;
    const nameAt = (index: number): string => {
      let s = '';
      for (
        let i = strOffset + index;
        i < strOffset + strSize && i < bytes.length && bytes[i] !== 0;
        i++
      ) {
        s += String.fromCharCode(bytes[i]!);
      }
      return s;
    };
    for (let i = 1; i < shnum; i++) {
      const h = shoff + i * shentsize;
      const flags = view.getUint32(h + 8, true);
      rawSections.push({
        name: nameAt(view.getUint32(h, true)),
        addr: view.getUint32(h + 12, true),
        offset: view.getUint32(h + 16, true),
        size: view.getUint32(h + 20, true),
        alloc: (flags & SHF_ALLOC) !== 0,
        noBits: view.getUint32(h + 4, true) === SHT_NOBITS,
      });
    }
  }

  const segments: ElfSegment[] = [];
  const pieces: ImagePiece[] = [];
  need(phoff, phnum * phentsize, 'the program header table');
  for (let i = 0; i < phnum; i++) {
    const h = phoff + i * phentsize;
    if (view.getUint32(h, true) !== PT_LOAD) continue;
    const offset = view.getUint32(h + 4, true);
    const vaddr = view.getUint32(h + 8, true);
    const paddr = view.getUint32(h + 12, true);
    const filesz = view.getUint32(h + 16, true);
    const memsz = view.getUint32(h + 20, true);
    if (filesz === 0) continue;
    // Sections inside the segment's file bytes: their load address keeps the same offset.
    const inside = rawSections.filter(
      (s) =>
        s.alloc &&
        !s.noBits &&
        s.size > 0 &&
        s.offset >= offset &&
        s.offset + s.size <= offset + filesz,
    );
    const names = inside.map((s) => s.name);
    const label = names.length > 0 ? `section ${names.join(', ')}` : `segment ${i}`;
    need(offset, filesz, `PT_LOAD ${label}`);
    segments.push({
      physicalAddress: paddr,
      virtualAddress: vaddr,
      fileSize: filesz,
      memorySize: memsz,
      offset,
      sections: names,
    });
    pieces.push({
      address: paddr,
      data: bytes.subarray(offset, offset + filesz),
      source: { file, label, offset },
    });
  }
  for (const s of rawSections) {
    if (!s.alloc) continue;
    const seg = segments.find(
      (g) =>
        !s.noBits &&
        s.offset >= g.offset &&
        s.offset + s.size <= g.offset + g.fileSize &&
        s.size > 0,
    );
    sections.push({
      name: s.name,
      address: s.addr,
      size: s.size,
      noBits: s.noBits,
      ...(seg && { loadAddress: seg.physicalAddress + (s.offset - seg.offset) }),
    });
  }
  if (pieces.length === 0) {
    fail(
      'ELF_NO_SEGMENTS',
      { file },
      'no PT_LOAD segment with file bytes; is this an object file (.o)? Flash the linked executable.',
    );
  }
  const image = SparseImage.fromPieces(pieces, options.overlap ? { overlap: options.overlap } : {});
  return { image, entry, segments, sections };
}

/** Options for `writeElf`: the entry point written to e_entry (default 0). */
export interface ElfWriteOptions {
  readonly entry?: number;
}

/**
 * A minimal ELF32 ARM executable: one PT_LOAD per image segment (load = run address), no
 * sections. Enough for debuggers and tools that want ELF, and for round-trip tests.
 */
export function writeElf(image: SparseImage, options: ElfWriteOptions = {}): Uint8Array {
  const segs = image.segments;
  const headerSize = 52 + segs.length * 32;
  let total = headerSize;
  for (const s of segs) total += s.data.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  view.setUint16(16, 2, true); // ET_EXEC
  view.setUint16(18, EM_ARM, true);
  view.setUint32(20, 1, true);
  view.setUint32(24, (options.entry ?? 0) >>> 0, true);
  view.setUint32(28, 52, true);
  view.setUint32(36, 0x05000200, true); // EF_ARM_EABI_VER5 | EF_ARM_ABI_FLOAT_SOFT
  view.setUint16(40, 52, true);
  view.setUint16(42, 32, true);
  view.setUint16(44, segs.length, true);
  view.setUint16(46, 40, true);
  let offset = headerSize;
  segs.forEach((s, i) => {
    const h = 52 + i * 32;
    view.setUint32(h, PT_LOAD, true);
    view.setUint32(h + 4, offset, true);
    view.setUint32(h + 8, s.address, true);
    view.setUint32(h + 12, s.address, true);
    view.setUint32(h + 16, s.data.length, true);
    view.setUint32(h + 20, s.data.length, true);
    view.setUint32(h + 24, 5, true); // PF_R | PF_X
    view.setUint32(h + 28, 4, true);
    out.set(s.data, offset);
    offset += s.data.length;
  });
  return out;
}
