import { type ChipDefinition, hex, type Sector, sectorsOf } from '@stm32dfu/layout';
import { VirtualBoardError } from './errors.js';

/** What a flash operation did: the board logs it and stalls the bus for `durationMs`. */
export interface FlashOperation {
  readonly kind: 'erase' | 'program';
  readonly address: number;
  readonly size: number;
  readonly durationMs: number;
  /** The erase unit's index, for erases. */
  readonly sector?: number;
}

export type ProgramResult =
  | { readonly ok: true; readonly op: FlashOperation }
  | {
      readonly ok: false;
      readonly reason: 'alignment' | 'range' | 'verify';
      readonly op?: FlashOperation;
    };

/**
 * The chip's NOR flash: erased bytes read 0xFF, programming can only clear bits (a program
 * that would set one leaves the AND of old and new and fails its read-back, as on the chip).
 * Durations are the datasheet's typical values from `chip.timings`.
 */
export class FlashMemory {
  readonly base: number;
  readonly size: number;
  readonly bytes: Uint8Array;
  readonly sectors: readonly Sector[];
  readonly #chip: ChipDefinition;

  constructor(chip: ChipDefinition) {
    if (!chip.timings) {
      throw new VirtualBoardError(
        'NO_CHIP_TIMINGS',
        `Chip ${chip.name} has no flash timings in @stm32dfu/layout; the virtual board needs them to model erase and program durations.`,
        { value: chip.id },
      );
    }
    this.#chip = chip;
    this.base = chip.flash.base;
    this.size = chip.flash.size;
    this.bytes = new Uint8Array(this.size).fill(0xff);
    this.sectors = sectorsOf(chip.flash);
  }

  get programUnit(): number {
    return this.#chip.flash.programUnit;
  }

  contains(address: number, length: number): boolean {
    return address >= this.base && length >= 0 && address + length <= this.base + this.size;
  }

  eraseDurationMs(sector: Sector): number {
    return this.#chip.timings!.eraseMs[sector.size]!.typ;
  }

  programDurationMs(length: number): number {
    const units = Math.ceil(length / this.programUnit);
    return (units * this.#chip.timings!.programUs.typ) / 1000;
  }

  erase(sectorIndex: number): FlashOperation | undefined {
    const sector = this.sectors[sectorIndex];
    if (!sector) return undefined;
    this.bytes.fill(0xff, sector.start - this.base, sector.end - this.base);
    return {
      kind: 'erase',
      address: sector.start,
      size: sector.size,
      durationMs: this.eraseDurationMs(sector),
      sector: sector.index,
    };
  }

  program(address: number, data: Uint8Array): ProgramResult {
    if (address % this.programUnit !== 0 || data.length % this.programUnit !== 0) {
      return { ok: false, reason: 'alignment' };
    }
    if (!this.contains(address, data.length)) return { ok: false, reason: 'range' };
    const offset = address - this.base;
    let verified = true;
    for (let i = 0; i < data.length; i++) {
      const merged = this.bytes[offset + i]! & data[i]!;
      this.bytes[offset + i] = merged;
      if (merged !== data[i]) verified = false;
    }
    const op: FlashOperation = {
      kind: 'program',
      address,
      size: data.length,
      durationMs: this.programDurationMs(data.length),
    };
    return verified ? { ok: true, op } : { ok: false, reason: 'verify', op };
  }

  /** Set bytes directly, as a debug probe erasing and writing would (test setup). */
  write(address: number, data: Uint8Array): void {
    this.#checkRange(address, data.length, 'writeFlash');
    this.bytes.set(data, address - this.base);
  }

  read(address: number, length: number): Uint8Array {
    this.#checkRange(address, length, 'readFlash');
    return this.bytes.slice(address - this.base, address - this.base + length);
  }

  load(image: Uint8Array, source: string): void {
    if (image.length !== this.size) {
      throw new VirtualBoardError(
        'FLASH_IMAGE_SIZE',
        `Flash image ${source} is ${image.length} bytes, but ${this.#chip.name} flash is ${this.size} bytes: ` +
          'save a full image with board.saveFlash() or pad it with 0xFF to the flash size.',
        { value: source },
      );
    }
    this.bytes.set(image);
  }

  #checkRange(address: number, length: number, what: string): void {
    if (
      !Number.isInteger(address) ||
      !Number.isInteger(length) ||
      !this.contains(address, length)
    ) {
      throw new VirtualBoardError(
        'ADDRESS_OUTSIDE_FLASH',
        `${what}(${hex(address)}, ${length} bytes) reaches outside ${this.#chip.name} flash ` +
          `(${hex(this.base)}–${hex(this.base + this.size - 1)}): use an absolute address inside it.`,
        { address },
      );
    }
  }
}
