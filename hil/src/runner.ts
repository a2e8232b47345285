/** Runs scenarios on a rig: one line per step, a summary, and a JUnit report. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type CaseResult, junitXmlSuites, type SuiteResult } from './junit.js';
import type { Rig } from './rig.js';
import { lastPowerCut, type Scenario, SkipScenario } from './scenarios/index.js';

export interface RunOptions {
  /** Where the JUnit XML goes. */
  readonly junit?: string;
  /** Only these scenarios (by name). */
  readonly only?: readonly string[];
  /** Lines of progress (default: console.log). */
  readonly print?: (line: string) => void;
}

export interface RunReport {
  readonly cases: readonly CaseResult[];
  readonly ok: boolean;
  readonly powerCut: { tried: number; recovered: number } | undefined;
}

export async function runScenarios(
  rig: Rig,
  scenarios: readonly Scenario[],
  options: RunOptions = {},
): Promise<RunReport> {
  const print = options.print ?? ((line: string) => console.log(line));
  const chosen = options.only?.length
    ? scenarios.filter((s) => options.only!.includes(s.name))
    : scenarios;
  const cases: CaseResult[] = [];
  lastPowerCut.tried = 0;
  lastPowerCut.recovered = 0;
  print(
    `rig ${rig.name} (${rig.kind}, ${rig.layout.board.id}, serial ${rig.serialNumber}, relay: ${rig.relay.description})`,
  );
  for (const scenario of chosen) {
    const dir = mkdtempSync(join(tmpdir(), `stm32dfu-hil-${scenario.name}-`));
    const output: string[] = [];
    const started = performance.now();
    let result: CaseResult;
    try {
      await scenario.run({ rig, dir, log: (line) => output.push(line) });
      result = { name: scenario.name, status: 'passed', seconds: 0, output };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      result =
        error instanceof SkipScenario
          ? { name: scenario.name, status: 'skipped', seconds: 0, message, output }
          : { name: scenario.name, status: 'failed', seconds: 0, message, output };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    result = { ...result, seconds: (performance.now() - started) / 1000 };
    cases.push(result);
    const mark = { passed: 'ok  ', failed: 'FAIL', skipped: 'skip' }[result.status];
    print(`${mark} ${scenario.name} — ${scenario.title} (${result.seconds.toFixed(2)} s)`);
    for (const line of output) print(`       ${line}`);
    if (result.message)
      print(`       ${result.status === 'failed' ? 'failed' : 'skipped'}: ${result.message}`);
  }
  if (options.junit) writeJunit(options.junit, [{ name: rig.name, cases }]);
  const count = (s: CaseResult['status']) => cases.filter((c) => c.status === s).length;
  const powerCut = lastPowerCut.tried > 0 ? { ...lastPowerCut } : undefined;
  if (powerCut) print(`power-cut: ${powerCut.recovered}/${powerCut.tried} recovered`);
  print(
    `hil: ${count('passed')} passed, ${count('failed')} failed${count('skipped') ? `, ${count('skipped')} skipped` : ''}`,
  );
  return { cases, ok: count('failed') === 0, powerCut };
}

/** Write the JUnit report of one or more rigs' runs (one `<testsuite>` each). */
export function writeJunit(path: string, suites: readonly SuiteResult[]): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, junitXmlSuites(suites));
}
