import type { Rig } from '../rig.js';

export interface ScenarioContext {
  readonly rig: Rig;
  /** A line of the scenario's log (printed, and kept in the JUnit report). */
  log(line: string): void;
  /** A scratch directory for image files. */
  readonly dir: string;
}

export interface Scenario {
  readonly name: string;
  /** What a user would check, in one line. */
  readonly title: string;
  run(context: ScenarioContext): Promise<void>;
}

/** Thrown to skip a scenario on a rig that cannot run it, with the reason. */
export class SkipScenario extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SkipScenario';
  }
}
