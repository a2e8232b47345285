/**
 * USB full-speed timing model for control transfers (USB 2.0 §5.5 and §8).
 *
 * - The bus runs at 12 Mb/s: one byte takes 8 / 12 000 µs ≈ 0.667 µs. Bit stuffing is not
 *   modelled (it adds at most 1/6 on all-ones data).
 * - A control transfer is a SETUP transaction (8 bytes of data), one transaction per
 *   max-packet-size (64 bytes) data packet, and a zero-length status transaction. Each
 *   transaction costs 37/3 bytes of framing (SYNC, PID, token address/CRC5, data CRC16,
 *   handshake and inter-packet gaps): with one data packet that is the 45 bytes of protocol
 *   overhead of USB 2.0 table 5-5.
 * - Host controllers pick new control transfers up at a start of frame (every 1 ms at full
 *   speed), so a transfer starts at the next whole millisecond, then takes its bus time. A
 *   transfer therefore costs at least one frame, as synchronous libusb or WebUSB calls do.
 * - A device busy with a flash operation NAKs every packet (the chip's bus is stalled), so
 *   a transfer issued then starts at the first frame after the operation ends.
 */

export const FULL_SPEED_BITS_PER_MS = 12_000;
/** A full-speed frame, ms: control transfers start at a frame boundary. */
export const FRAME_MS = 1;
/** Max packet size of endpoint 0, bytes: the data stage is split into packets of this size. */
export const EP0_MAX_PACKET = 64;
export const SETUP_DATA_BYTES = 8;
export const TRANSACTION_OVERHEAD_BYTES = 37 / 3;

/** After the pull-up appears the host waits 100 ms (TATTDB, USB 2.0 §7.1.7.3). */
export const ATTACH_DEBOUNCE_MS = 100;
/** Bus reset (TDRST ≥ 10 ms) followed by reset recovery (TRSTRCY 10 ms), §7.1.7.5. */
export const BUS_RESET_MS = 20;
/** SET_ADDRESS recovery interval (TDSETADDR 2 ms), §9.2.6.3. */
export const SET_ADDRESS_RECOVERY_MS = 2;

/** Bus time of one control transfer with `dataLength` bytes in its data stage, ms. */
export function controlTransferBusMs(dataLength: number, maxPacket = EP0_MAX_PACKET): number {
  const dataPackets = dataLength === 0 ? 0 : Math.ceil(dataLength / maxPacket);
  const transactions = 1 + dataPackets + 1;
  const bytes = SETUP_DATA_BYTES + dataLength + transactions * TRANSACTION_OVERHEAD_BYTES;
  return (bytes * 8) / FULL_SPEED_BITS_PER_MS;
}

/** The start of the first frame at or after `t`. */
export function nextFrame(t: number): number {
  // Round first so float noise (e.g. 12.000000000001) does not cost a whole frame.
  const rounded = Math.round(t * 1e6) / 1e6;
  return Math.ceil(rounded / FRAME_MS) * FRAME_MS;
}

/**
 * The F4's CRC unit computing the application CRC (contract 4), as firmware/src/port/stm32f4/
 * crc.c counts it, conservatively: per word one flash load taken as a full flash access (at
 * 96 MHz the F411 has 3 wait states, 4 cycles, with no credit for prefetch or ART hits),
 * the store to CRC_DR held until the unit's previous word is done (4 HCLK cycles, RM0383
 * §4.3), and 4 cycles of loop. 12 cycles: 8000 words (31.25 kB) per ms at 96 MHz, 1333 at
 * the reset clock (HSI, 16 MHz) on which the boot decision checks the stamp.
 */
export const CRC_UNIT_CYCLES_PER_WORD = 12;
/** HSI: the clock every STM32F4 runs from out of reset (RM0383 §6.2.2). */
export const HSI_HZ = 16_000_000;

/** Words per millisecond the CRC unit is sure to reach with HCLK at `hclkHz`. */
export function crcWordsPerMs(hclkHz: number): number {
  return Math.max(1, Math.floor(hclkHz / 1000 / CRC_UNIT_CYCLES_PER_WORD));
}
