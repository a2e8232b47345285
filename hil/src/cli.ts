#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
/**
 * pnpm hil --rig virtual|virtual-signed|<config.yaml> [--rig …] [--only a,b] [--junit path]
 * [--soak N]. Each rig runs in turn; the JUnit report has one testsuite per rig.
 * Exit 0 when every scenario passed, 1 when one failed, 2 for a bad command line or config.
 */
import { parseArgs } from 'node:util';
import { loadRigConfig, type RigConfig } from './config.js';
import { HilError } from './errors.js';
import { createHardwareRig } from './hardware-rig.js';
import type { SuiteResult } from './junit.js';
import { lockRig } from './lock.js';
import type { Rig } from './rig.js';
import { runScenarios, writeJunit } from './runner.js';
import { scenarios } from './scenarios/index.js';
import { createVirtualRig, createVirtualRigFrom } from './virtual-rig.js';

/** Rig names that need no file: the virtual board, open or locked with the HIL test key. */
const BUILT_IN: Record<string, string | undefined> = {
  virtual: undefined,
  'virtual-signed': fileURLToPath(new URL('../rigs/virtual-signed.yaml', import.meta.url)),
};

const USAGE = `usage: pnpm hil --rig virtual|virtual-signed|<rig.yaml> [--rig …] [--only name,name] [--junit file] [--soak cycles]
scenarios: ${scenarios.map((s) => s.name).join(', ')}`;

/** The rig a config names (undefined: the built-in virtual one), with the release of its lock. */
async function openRig(
  config: RigConfig | undefined,
  soak: number | undefined,
): Promise<{ rig: Rig; release: () => void }> {
  if (!config)
    return {
      rig: await createVirtualRig(soak ? { soak: { cycles: soak } } : {}),
      release: () => {},
    };
  if (soak) config.soak.cycles = soak;
  // A file with the virtual relay driver is a virtual rig: no bench to lock.
  if (config.relay.driver === 'virtual')
    return { rig: await createVirtualRigFrom(config), release: () => {} };
  const { release } = lockRig(config.name);
  try {
    return { rig: await createHardwareRig(config), release };
  } catch (error) {
    release();
    throw error;
  }
}

async function main(argv: string[]): Promise<number> {
  let values: { rig?: string[]; only?: string; junit?: string; soak?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        rig: { type: 'string', multiple: true },
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
  if (!values.rig?.length) {
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
  const suites: SuiteResult[] = [];
  let ok = true;
  let configs: (RigConfig | undefined)[];
  try {
    // Every config checked before any rig runs: a typo in the second fails at once.
    configs = values.rig.map((spec) =>
      spec === 'virtual' ? undefined : loadRigConfig(BUILT_IN[spec] ?? spec),
    );
  } catch (error) {
    if (error instanceof HilError) {
      console.error(`hil: ${error.message}`);
      return 2;
    }
    throw error;
  }
  for (const config of configs) {
    let opened: { rig: Rig; release: () => void };
    try {
      opened = await openRig(config, soak);
    } catch (error) {
      if (error instanceof HilError) {
        console.error(`hil: ${error.message}`);
        return 2;
      }
      throw error;
    }
    const { rig, release } = opened;
    try {
      const report = await runScenarios(rig, scenarios, only ? { only } : {});
      suites.push({ name: rig.name, cases: report.cases });
      ok &&= report.ok;
    } finally {
      await rig.close();
      release();
    }
  }
  writeJunit(junit, suites);
  console.log(`JUnit report: ${junit}`);
  return ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('hil: unexpected error (please report it with this output):', error);
    process.exit(1);
  },
);
