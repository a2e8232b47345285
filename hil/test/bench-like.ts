/**
 * A locked virtual board made to look like a bench: `virtual-signed.yaml`'s config, no probe,
 * and the supply dropping `ms` after a power cut is armed (a relay's timer), so scenarios take
 * the path a real rig takes.
 */
import { join } from 'node:path';
import { createVirtualBoard, type NodeVirtualBoard } from '@stm32dfu/virtual-board/node';
import { loadRigConfig } from '../src/config.ts';
import { VIRTUAL_RIG_CONFIG, VirtualRig } from '../src/virtual-rig.ts';

export const HERE = new URL('..', import.meta.url).pathname;
/** The public half of rigs/keys/hil-test.key. */
export const TEST_KEY_HEX = '9528ffc64da81550f16547cd9075ca088c1cef57cf4e421fd1056b74a3e8637d';

export async function benchLikeRig(options: {
  samples: number;
  /** The board's OTP area (its counter); blank when left out. */
  otp?: Uint8Array;
}): Promise<{ rig: VirtualRig; board: NodeVirtualBoard }> {
  const config = loadRigConfig(join(HERE, 'rigs/virtual-signed.yaml'));
  const board = await createVirtualBoard({
    board: 'blackpill-f411',
    signing: { keys: [TEST_KEY_HEX], lockUpload: true },
    ...(options.otp && { otp: options.otp }),
  });
  await board.clock.sleep(VIRTUAL_RIG_CONFIG.timings.settleMs);
  const rig = new VirtualRig(board, {
    ...config,
    serial: board.serialNumber,
    powerCut: { samples: options.samples },
  });
  Object.defineProperty(rig, 'probe', { value: undefined });
  Object.defineProperty(rig, 'powerCutUnit', { value: 'ms' });
  Object.defineProperty(rig, 'armPowerCut', {
    value: (ms: number) => board.clock.schedule(board.clock.now() + ms, () => board.power(false)),
  });
  return { rig, board };
}
