/**
 * The board's security record (GET_SECURITY, firmware/src/core/bootloader.h): what our
 * bootloader says about its signing policy, its keys and its anti-rollback counter. Read
 * with @stm32dfu/protocol's `DfuDevice.readSecurity()` (a vendor request to the DFU
 * interface), so it works on any rig, locked or not.
 */
import { keyIdOf } from '@stm32dfu/image-tools/node';
import { type DfuDevice, formatId, type SecurityRecord } from '@stm32dfu/protocol';
import type { RigSigning } from './config.js';
import { HilAssertionError } from './errors.js';

/**
 * Ask the bootloader for its security record (protocol's `readSecurity`; the device must be in
 * DFU mode, opened). A bootloader that stalls the request fails the scenario.
 */
export async function requireSecurity(dfu: DfuDevice): Promise<SecurityRecord> {
  const record = await dfu.readSecurity();
  if (!record) {
    throw new HilAssertionError(
      'the bootloader did not answer GET_SECURITY (it stalled the request): it is a build without signed-firmware support; flash a bootloader built from a board JSON with signing (docs/hil.md, "Signed boards")',
    );
  }
  return record;
}

/**
 * Check that the board runs the policy the rig config declares: signatures required, the
 * check built in, the same keys, the same lock-upload and verify-at-boot options. A bench
 * whose bootloader was built otherwise fails here, not in a later, puzzling step.
 */
export function checkPolicy(rig: string, record: SecurityRecord, signing: RigSigning): void {
  const problems: string[] = [];
  if (!record.checkBuiltIn) problems.push('its bootloader was built without the signature check');
  if (!record.signaturesRequired) problems.push('it does not require signatures');
  const want = signing.publicKeys.map((key) => formatId(keyIdOf(key))).sort();
  const have = [...record.keyIds].sort();
  if (want.join() !== have.join())
    problems.push(`it holds key ids [${have.join(', ')}], the config [${want.join(', ')}]`);
  if (record.uploadLocked !== signing.lockUpload)
    problems.push(
      `it ${record.uploadLocked ? 'locks' : 'does not lock'} UPLOAD, the config says lockUpload: ${signing.lockUpload}`,
    );
  if (record.verifyAtBoot !== signing.verifyAtBoot)
    problems.push(
      `it ${record.verifyAtBoot ? 'verifies' : 'does not verify'} at boot, the config says verifyAtBoot: ${signing.verifyAtBoot}`,
    );
  if (record.counterCapacity === 0) problems.push('it keeps no anti-rollback counter');
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
