#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
/**
 * pnpm hil --rig virtual | --rig <config.yaml> [--only a,b] [--junit path] [--soak N]
 * Exit 0 when every scenario passed, 1 when one failed, 2 for a bad command line or config.
 */
import { parseArgs } from 'node:util';
import { loadRigConfig } from './config.js';
import { HilError } from './errors.js';
import { createHardwareRig } from './hardware-rig.js';
import { lockRig } from './lock.js';
import type { Rig } from './rig.js';
import { runScenarios } from './runner.js';
import { scenarios } from './scenarios/index.js';
import { createVirtualRig } from './virtual-rig.js';

const USAGE = `usage: pnpm hil --rig virtual|<rig.yaml> [--only name,name] [--junit file] [--soak cycles]
scenarios: ${scenarios.map((s) => s.name).join(', ')}`;

async function main(argv: string[]): Promise<number> {
  let values: { rig?: string; only?: string; junit?: string; soak?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        rig: { type: 'string' },
        only: { type: 'string' },
        junit: { type: 'string' },
        soak: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`hil: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.rig) {
    console.error(`hil: --rig is required.\n${USAGE}`);
    return 2;
  }
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only?.filter((n) => !scenarios.some((s) => s.name === n)) ?? [];
  if (unknown.length > 0) {
    console.error(`hil: unknown scenario ${unknown.join(', ')}.\n${USAGE}`);
    return 2;
  }
  const soak = values.soak === undefined ? undefined : Number(values.soak);
  if (soak !== undefined && !(Number.isInteger(soak) && soak >= 1)) {
    console.error('hil: --soak takes a number of cycles, at least 1.');
    return 2;
  }
  const junit = values.junit ?? fileURLToPath(new URL('../reports/junit.xml', import.meta.url));
  let rig: Rig;
  let release = () => {};
  try {
    if (values.rig === 'virtual') {
      rig = await createVirtualRig(soak ? { soak: { cycles: soak } } : {});
    } else {
      const config = loadRigConfig(values.rig);
      if (soak) config.soak.cycles = soak;
      release = lockRig(config.name).release;
      rig = await createHardwareRig(config);
    }
  } catch (error) {
    release();
    if (error instanceof HilError) {
      console.error(`hil: ${error.message}`);
      return 2;
    }
    throw error;
  }
  try {
    const report = await runScenarios(rig, scenarios, { junit, ...(only ? { only } : {}) });
    console.log(`JUnit report: ${junit}`);
    return report.ok ? 0 : 1;
  } finally {
    await rig.close();
    release();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('hil: unexpected error (please report it with this output):', error);
    process.exit(1);
  },
);
