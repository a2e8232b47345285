import { detachByCli } from './detach.js';
import { flashBoot } from './flash-boot.js';
import { powerCut } from './power-cut.js';
import { badImageRefused, bootloaderProtected } from './refusals.js';
import { bootloaderUpdateViaRom } from './rom-update.js';
import {
  signedInstall,
  signedPowerCut,
  signedRefusals,
  signedRevocation,
  signedUploadLocked,
} from './signed.js';
import { soak } from './soak.js';
import type { Scenario } from './types.js';

/** Every scenario, in the order a run takes them. */
export const scenarios: readonly Scenario[] = [
  flashBoot,
  detachByCli,
  bootloaderProtected,
  badImageRefused,
  bootloaderUpdateViaRom,
  powerCut,
  soak,
  signedInstall,
  signedRefusals,
  signedUploadLocked,
  signedRevocation,
  signedPowerCut,
];

export { lastPowerCut, type PowerCutTally } from './power-cut.js';
export { type Scenario, type ScenarioContext, SkipScenario } from './types.js';
