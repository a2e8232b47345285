/**
 * The board's security record (GET_SECURITY, firmware/src/core/bootloader.h): what our
 * bootloader says about its signing policy, its keys and its anti-rollback counter. Read
 * with a vendor request to the DFU interface, so it works on any rig, locked or not.
 */
import { keyIdOf } from '@stm32dfu/image-tools/node';
import type { DfuDevice } from '@stm32dfu/protocol';
import type { RigSigning } from './config.js';
import { HilAssertionError } from './errors.js';

export const GET_SECURITY = 0x53;
export const SECURITY_RECORD_LENGTH = 32;

export const SECURITY_FLAGS = {
  required: 0x01,
  verifyAtBoot: 0x02,
  lockUpload: 0x04,
  protectFlash: 0x08,
  checkBuilt: 0x80,
} as const;

/** The last manifestation's signature verdict (record byte 3, verdict + 1; 0: none yet). */
export const VERDICTS: Record<number, string> = {
  0: 'none yet',
  1: 'valid',
  2: 'missing',
  3: 'bad-format',
  4: 'wrong-length',
  5: 'wrong-board',
  6: 'unknown-key',
  7: 'bad-digest',
  8: 'bad-signature',
  9: 'rolled-back',
  10: 'counter-too-high',
};

export interface SecurityRecord {
  readonly flags: number;
  readonly keyCount: number;
  /** The last manifestation's verdict, by name (`VERDICTS`). */
  readonly verdict: string;
  readonly boardWord: number;
  /** The anti-rollback counter (OTP thermometer). */
  readonly counter: number;
  /** How far the counter can go (0: the board keeps none). */
  readonly capacity: number;
  /** Key ids: the first word of SHA-256 of each raw public key. */
  readonly keyIds: readonly number[];
}

/** Ask the bootloader for its security record (the device must be in DFU mode, opened). */
export async function readSecurity(dfu: DfuDevice): Promise<SecurityRecord> {
  const r = await dfu.usb.controlTransferIn(
    {
      requestType: 'vendor',
      recipient: 'interface',
      request: GET_SECURITY,
      value: 0,
      index: dfu.interfaceNumber,
    },
    SECURITY_RECORD_LENGTH,
  );
  if (r.status !== 'ok' || !r.data || r.data.byteLength < SECURITY_RECORD_LENGTH) {
    throw new HilAssertionError(
      `the bootloader did not answer GET_SECURITY (status ${r.status}, ${r.data?.byteLength ?? 0} bytes): it is a build without signed-firmware support; flash a bootloader built from a board JSON with signing (docs/hil.md, "Signed boards")`,
    );
  }
  const d = r.data;
  const keyCount = d.getUint8(2);
  return {
    flags: d.getUint8(1),
    keyCount,
    verdict: VERDICTS[d.getUint8(3)] ?? `unknown (${d.getUint8(3)})`,
    boardWord: d.getUint32(4, true),
    counter: d.getUint32(8, true),
    capacity: d.getUint32(12, true),
    keyIds: Array.from({ length: Math.min(keyCount, 4) }, (_, i) => d.getUint32(16 + 4 * i, true)),
  };
}

const hex8 = (n: number) => n.toString(16).padStart(8, '0');

/**
 * Check that the board runs the policy the rig config declares: signatures required, the
 * check built in, the same keys, the same lock-upload and verify-at-boot options. A bench
 * whose bootloader was built otherwise fails here, not in a later, puzzling step.
 */
export function checkPolicy(rig: string, record: SecurityRecord, signing: RigSigning): void {
  const problems: string[] = [];
  if (!(record.flags & SECURITY_FLAGS.checkBuilt))
    problems.push('its bootloader was built without the signature check');
  if (!(record.flags & SECURITY_FLAGS.required)) problems.push('it does not require signatures');
  const want = signing.publicKeys.map(keyIdOf).sort((a, b) => a - b);
  const have = [...record.keyIds].sort((a, b) => a - b);
  if (want.join() !== have.join())
    problems.push(
      `it holds key ids [${have.map(hex8).join(', ')}], the config [${want.map(hex8).join(', ')}]`,
    );
  const flag = (bit: number) => (record.flags & bit) !== 0;
  if (flag(SECURITY_FLAGS.lockUpload) !== signing.lockUpload)
    problems.push(
      `it ${flag(SECURITY_FLAGS.lockUpload) ? 'locks' : 'does not lock'} UPLOAD, the config says lockUpload: ${signing.lockUpload}`,
    );
  if (flag(SECURITY_FLAGS.verifyAtBoot) !== signing.verifyAtBoot)
    problems.push(
      `it ${flag(SECURITY_FLAGS.verifyAtBoot) ? 'verifies' : 'does not verify'} at boot, the config says verifyAtBoot: ${signing.verifyAtBoot}`,
    );
  if (record.capacity === 0) problems.push('it keeps no anti-rollback counter');
  if (problems.length > 0) {
    throw new HilAssertionError(
      `rig ${rig}: the board does not run the signing policy its config declares: ${problems.join('; ')}. Build and flash its bootloader from a board JSON with that signing (docs/hil.md, "Signed boards"), or fix the rig's signing section.`,
    );
  }
}

/** The counter as the OTP thermometer holds it: cleared bits of the last 64 bytes, lowest first. */
export function otpCounter(otp: Uint8Array): number {
  const bytes = otp.subarray(otp.length - 64);
  let steps = 0;
  for (const byte of bytes) {
    for (let bit = 0; bit < 8; bit++, steps++) if ((byte >> bit) & 1) return steps;
  }
  return steps;
}
