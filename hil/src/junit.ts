/** JUnit XML as CI systems read it: one <testsuite> per rig, one <testcase> per scenario. */
export interface CaseResult {
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'skipped';
  readonly seconds: number;
  /** Why it failed, or why it was skipped. */
  readonly message?: string;
  /** The scenario's log lines. */
  readonly output: readonly string[];
}

export function escapeXml(text: string): string {
  // XML 1.0 allows no control characters but tab, newline and carriage return.
  const printable = [...text]
    .filter((c) => c.charCodeAt(0) >= 0x20 || c === '\t' || c === '\n' || c === '\r')
    .join('');
  return printable
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

/** One rig's run: its name and its scenarios' results. */
export interface SuiteResult {
  readonly name: string;
  readonly cases: readonly CaseResult[];
}

export function junitXml(
  suite: string,
  cases: readonly CaseResult[],
  timestamp = new Date(),
): string {
  return junitXmlSuites([{ name: suite, cases }], timestamp);
}

const countOf = (cases: readonly CaseResult[], s: CaseResult['status']) =>
  cases.filter((c) => c.status === s).length;
const timeOf = (cases: readonly CaseResult[]) => cases.reduce((t, c) => t + c.seconds, 0);

/** One `<testsuite>` per rig, in one report. */
export function junitXmlSuites(suites: readonly SuiteResult[], timestamp = new Date()): string {
  const all = suites.flatMap((s) => s.cases);
  const count = countOf;
  const time = timeOf;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="stm32dfu-hil" tests="${all.length}" failures="${count(all, 'failed')}" skipped="${count(all, 'skipped')}" time="${time(all).toFixed(3)}">`,
  ];
  for (const { name, cases } of suites) lines.push(...suiteXml(name, cases, timestamp));
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

function suiteXml(suite: string, cases: readonly CaseResult[], timestamp: Date): string[] {
  const count = (s: CaseResult['status']) => countOf(cases, s);
  const total = timeOf(cases);
  const lines = [
    `  <testsuite name="${escapeXml(suite)}" tests="${cases.length}" failures="${count('failed')}" errors="0" skipped="${count('skipped')}" time="${total.toFixed(3)}" timestamp="${timestamp.toISOString().slice(0, 19)}">`,
  ];
  for (const c of cases) {
    lines.push(
      `    <testcase classname="hil.${escapeXml(suite)}" name="${escapeXml(c.name)}" time="${c.seconds.toFixed(3)}">`,
    );
    if (c.status === 'failed')
      lines.push(
        `      <failure message="${escapeXml(c.message ?? 'failed')}">${escapeXml(c.message ?? '')}</failure>`,
      );
    if (c.status === 'skipped')
      lines.push(`      <skipped message="${escapeXml(c.message ?? '')}"/>`);
    if (c.output.length > 0)
      lines.push(`      <system-out>${escapeXml(c.output.join('\n'))}</system-out>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>');
  return lines;
}
