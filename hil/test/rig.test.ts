import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateWorkflow } from '@action-validator/core';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadRigConfig } from '../src/config.ts';
import { junitXml, junitXmlSuites } from '../src/junit.ts';
import { lockRig } from '../src/lock.ts';
import { bootApplication, enterRom, waitForState } from '../src/strategies.ts';
import { createVirtualRig, type VirtualRig } from '../src/virtual-rig.ts';

const HERE = new URL('..', import.meta.url).pathname;

describe('strategies on the virtual rig', () => {
  let rig: VirtualRig;
  beforeAll(async () => {
    rig = await createVirtualRig();
  });
  afterAll(() => rig.close());

  it('a blank board is in the bootloader; waiting for the application says what was seen instead', async () => {
    await waitForState(rig, 'bootloader');
    await expect(waitForState(rig, 'application', 500)).rejects.toThrow(
      /waited 500 ms for board [0-9A-F]{24} in the application \(DFU runtime\), but it is our bootloader \(DFU mode\): 1209:0001 "stm32dfu bootloader"/,
    );
    await expect(bootApplication(rig)).rejects.toMatchObject({ code: 'WRONG_STATE' });
  });

  it("enters ST's ROM with BOOT0 high through a reset, and lets BOOT0 go again", async () => {
    const rom = await enterRom(rig);
    expect([rom.usb.vendorId, rom.usb.productId]).toEqual([0x0483, 0xdf11]);
    expect(rig.board.mode).toBe('rom');
    expect(rig.board.boot0).toBe(false);
    await rom.release();
    await rig.pulseReset();
    await waitForState(rig, 'bootloader');
  });
});

describe('JUnit report', () => {
  it('is valid XML with one testcase per scenario, failures and skips marked', () => {
    const xml = junitXml('virtual', [
      { name: 'a', status: 'passed', seconds: 1.5, output: ['$ stm32dfu flash <app> & "x"'] },
      {
        name: 'b',
        status: 'failed',
        seconds: 0.2,
        message: 'waited 5000 ms for <board>\u0007',
        output: [],
      },
      { name: 'c', status: 'skipped', seconds: 0, message: 'no power channel', output: [] },
    ]);
    expect(XMLValidator.validate(xml)).toBe(true);
    const suite = new XMLParser({ ignoreAttributes: false }).parse(xml).testsuites.testsuite;
    expect(suite['@_tests']).toBe('3');
    expect(suite['@_failures']).toBe('1');
    expect(suite['@_skipped']).toBe('1');
    expect(suite.testcase[1].failure['@_message']).toBe('waited 5000 ms for <board>');
  });
});

describe('JUnit report of several rigs', () => {
  it('has one testsuite per rig and the totals of all', () => {
    const xml = junitXmlSuites([
      { name: 'virtual', cases: [{ name: 'a', status: 'passed', seconds: 1, output: [] }] },
      {
        name: 'virtual-signed',
        cases: [
          { name: 'a', status: 'skipped', seconds: 0, message: 'needs an open board', output: [] },
          { name: 'b', status: 'failed', seconds: 2, message: 'counter moved', output: [] },
        ],
      },
    ]);
    expect(XMLValidator.validate(xml)).toBe(true);
    const root = new XMLParser({ ignoreAttributes: false }).parse(xml).testsuites;
    expect([root['@_tests'], root['@_failures'], root['@_skipped']]).toEqual(['3', '1', '1']);
    expect(root.testsuite.map((s: Record<string, string>) => s['@_name'])).toEqual([
      'virtual',
      'virtual-signed',
    ]);
    expect(root.testsuite[1].testcase[0].skipped['@_message']).toBe('needs an open board');
  });
});

describe('rig lock', () => {
  it('one job per rig: a second lock names the owner; a dead owner’s lock is taken over', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hil-lock-'));
    const lock = lockRig('bench-1', dir);
    expect(() => lockRig('bench-1', dir)).toThrow(new RegExp(`in use by process ${process.pid}`));
    lock.release();
    const again = lockRig('bench-1', dir);
    again.release();
  });
});

describe('the example nightly workflow and rig', () => {
  const text = readFileSync(join(HERE, 'workflows/hil-nightly.yml'), 'utf8');
  it('passes the workflow linter (GitHub workflow schema)', () => {
    const state = validateWorkflow(text);
    expect(state.errors).toEqual([]);
  });
  it('has a runner label and a concurrency group per rig, and uploads the JUnit file', () => {
    const job = parseYaml(text).jobs.hil;
    expect(job['runs-on']).toContain('${{ matrix.rig }}');
    expect(job.concurrency.group).toBe('hil-${{ matrix.rig }}');
    expect(job.steps.at(-1).with.path).toBe('hil/reports/junit.xml');
  });
  it('the linter does catch a broken workflow', () => {
    expect(validateWorkflow(text.replace('runs-on:', 'runs_on:')).errors.length).toBeGreaterThan(0);
  });
  it('the example rig config is valid', () => {
    expect(loadRigConfig(join(HERE, 'rigs/example.yaml')).relay.driver).toBe('ch340');
  });
});
