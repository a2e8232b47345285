// Turn the firmware's test output into JUnit files the repository's test summary counts,
// one <testcase> per test a person would name:
//   node scripts/junit.mjs cmocka reports/ctest.xml > reports/cmocka.xml
//     expands each ctest program into its cmocka cases ("[       OK ] name" / "[  FAILED  ] name");
//   node scripts/junit.mjs lines suite reports/qemu.log > reports/qemu.xml
//     one case per "PASS description" / "FAIL description" line.
import { readFileSync } from 'node:fs';

const esc = (s) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const unesc = (s) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');

function suite(name, cases) {
  const failures = cases.filter((c) => !c.ok).length;
  const body = cases
    .map(
      (c) =>
        `  <testcase classname="${esc(c.group)}" name="${esc(c.name)}">${
          c.ok ? '' : `<failure message="${esc(c.message ?? 'failed')}"/>`
        }</testcase>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="${esc(name)}" tests="${cases.length}" failures="${failures}">\n${body}\n</testsuite>\n`;
}

const [mode, ...args] = process.argv.slice(2);
const cases = [];
if (mode === 'cmocka') {
  const xml = readFileSync(args[0], 'utf8');
  for (const m of xml.matchAll(/<testcase name="([^"]*)"[^>]*>([\s\S]*?)<\/testcase>/g)) {
    const group = m[1];
    const out = unesc(m[2]);
    const before = cases.length;
    for (const line of out.split('\n')) {
      const r = /^\[\s*(OK|FAILED)\s*\]\s+(\S+)\s*$/.exec(line.trim());
      if (r) cases.push({ group, name: r[2], ok: r[1] === 'OK' });
    }
    // A program that crashed before reporting its cases still counts, as one failure.
    if (cases.length === before) {
      const failed = /<failure\b/.test(m[2]) || /status="fail"/.test(m[0]);
      cases.push({ group, name: group, ok: !failed, message: 'no cmocka results' });
    }
  }
  process.stdout.write(suite('firmware host unit tests', cases));
} else if (mode === 'lines') {
  const [name, file] = args;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const r = /^(PASS|FAIL) (.+)$/.exec(line);
    if (r) cases.push({ group: name, name: r[2], ok: r[1] === 'PASS' });
  }
  process.stdout.write(suite(name, cases));
} else {
  console.error('usage: junit.mjs cmocka <ctest.xml> | lines <suite> <log>');
  process.exit(2);
}
