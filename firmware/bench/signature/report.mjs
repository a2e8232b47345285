#!/usr/bin/env node
// report.mjs — the signature benchmark's table, from the QEMU run (instruction counts), the
// instruction mix (mix.mjs: cycles per instruction at the low and high end of the Cortex-M4
// TRM's timings) and callgrind (host instructions). Prints; asserts nothing about the numbers.
//
//   node bench/signature/report.mjs --qemu <log> --mix <json> --callgrind <callgrind_annotate output> --params <bench_params.h>
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    qemu: { type: 'string' },
    mix: { type: 'string' },
    callgrind: { type: 'string' },
    params: { type: 'string' },
  },
});
for (const key of ['qemu', 'mix', 'callgrind', 'params']) {
  if (!values[key]) {
    process.stderr.write(`report: --${key} is required\n`);
    process.exit(2);
  }
}

const qemuLog = readFileSync(values.qemu, 'utf8');
const m4 = {};
for (const match of qemuLog.matchAll(/^(\S+) tim2 (\d+) systick (\d+)$/gm)) {
  m4[match[1]] = { tim2: Number(match[2]), systick: Number(match[3]) };
}
const loops = [
  ...qemuLog.matchAll(/^known-loop (\d+) instructions tim2 (\d+) systick (\d+)$/gm),
].map((m) => ({
  expected: Number(m[1]),
  tim2: Number(m[2]),
  systick: Number(m[3]),
}));
const mix = JSON.parse(readFileSync(values.mix, 'utf8'));
const host = {};
for (const match of readFileSync(values.callgrind, 'utf8').matchAll(
  /^\s*([\d,]+) \([^)]*\)\s+\S*:phase_(\w+) /gm,
)) {
  host[match[2]] = Number(match[1].replaceAll(',', ''));
}
const params = readFileSync(values.params, 'utf8');
const param = (name) =>
  Number(params.match(new RegExp(`#define BENCH_${name} (0x[0-9a-f]+|\\d+)u`))[1]);
const smallLength = param('SMALL_LENGTH');
const largeLength = param('LARGE_LENGTH');

const SYSTICK_PER_INSTRUCTION = 0.168; // QEMU's netduinoplus2 processor clock, 168 MHz, at 1 ns per instruction
const WAIT_STATES_96 = 3; // FLASH_ACR latency at 96 MHz, 2.7-3.6 V
const LINE_BYTES = 16; // the flash reads 128 bits at a time
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const ms = (cycles, hz) => ((cycles / hz) * 1000).toFixed(1);
const kb = (bytes) => `${(bytes / 1024).toFixed(bytes % 1024 ? 1 : 0)} kB`;

function check(key) {
  if (!m4[key]) {
    process.stderr.write(`report: no "${key}" line in ${values.qemu}\n`);
    process.exit(1);
  }
  return m4[key].tim2;
}

console.log('Counter check: a loop of a known instruction count (QEMU, -icount shift=0)');
console.log('  expected       TIM2 (1/instruction)   SysTick (0.168/instruction)');
for (const loop of loops) {
  console.log(
    `  ${fmt(loop.expected).padStart(12)}   ${fmt(loop.tim2).padStart(12)}           ${fmt(loop.systick).padStart(12)} = ${fmt(loop.systick / SYSTICK_PER_INSTRUCTION)}`,
  );
}
console.log('  (the few extra counts are the call into the loop and its return)\n');

const rows = [
  ['SHA-256, 100 kB image', 'sha256-small', 'sha256_small', smallLength],
  ['SHA-256, 480 kB image', 'sha256-large', 'sha256_large', largeLength],
  ['Ed25519 verify (signature 1)', 'ed25519-small', 'ed25519_small', 0],
  ['Ed25519 verify (signature 2)', 'ed25519-large', 'ed25519_large', 0],
  ['sig_check_image, 100 kB image', 'check-small', 'check_small', smallLength],
  ['sig_check_image, 480 kB image', 'check-large', 'check_large', largeLength],
];
console.log('Instruction counts');
console.log(
  '| phase | Cortex-M4 instructions (QEMU) | SysTick cross-check | host instructions (callgrind) |',
);
console.log('|---|--:|--:|--:|');
for (const [label, key, hostKey] of rows) {
  const systick = m4[key] ? fmt(m4[key].systick / SYSTICK_PER_INSTRUCTION) : '?';
  console.log(
    `| ${label} | ${fmt(check(key))} | ${systick} | ${host[hostKey] ? fmt(host[hostKey]) : 'not measured'} |`,
  );
}
const perByte = check('sha256-large') / largeLength;
console.log(
  `\nSHA-256: ${perByte.toFixed(1)} Cortex-M4 instructions per byte (${fmt(check('sha256-large') / (largeLength / 64))} per 64-byte block)\n`,
);

const cpi = (phase, end) => mix[phase][end] / mix[phase].instructions;
const takenPerInstruction = (phase) => mix[phase].takenBranches / mix[phase].instructions;
console.log(
  'Cycles per instruction from the executed instruction mix and the Cortex-M4 timings (zero wait states)',
);
for (const phase of ['sha256', 'ed25519']) {
  const p = mix[phase];
  const classes = Object.entries(p.classes)
    .sort((a, b) => b[1] - a[1])
    .map(([cls, n]) => `${cls} ${((100 * n) / p.instructions).toFixed(1)}%`)
    .join(', ');
  console.log(
    `  ${phase.padEnd(8)} CPI ${cpi(phase, 'low').toFixed(2)}-${cpi(phase, 'high').toFixed(2)}; taken branches ${(100 * takenPerInstruction(phase)).toFixed(1)}% of instructions; ${classes}`,
  );
}

// Cycles of a phase: its SHA-256-like part (hashing and reading the image) at SHA-256's CPI,
// its Ed25519 part at Ed25519's. At 96 MHz the worst case adds 3 wait states to every taken
// branch (the ART accelerator missing each one) and to every 16 bytes of image read.
function cycles(shaInstructions, edInstructions, imageBytes) {
  const low = shaInstructions * cpi('sha256', 'low') + edInstructions * cpi('ed25519', 'low');
  const high = shaInstructions * cpi('sha256', 'high') + edInstructions * cpi('ed25519', 'high');
  const taken =
    shaInstructions * takenPerInstruction('sha256') +
    edInstructions * takenPerInstruction('ed25519');
  const worst96 = high + WAIT_STATES_96 * (taken + imageBytes / LINE_BYTES);
  return { low, high, worst96 };
}

const ed = check('ed25519-small');
const cases = [
  ['SHA-256 of 100 kB', cycles(check('sha256-small'), 0, smallLength)],
  ['SHA-256 of 480 kB', cycles(check('sha256-large'), 0, largeLength)],
  ['one Ed25519 verify', cycles(0, ed, 0)],
  ['whole check, 100 kB app', cycles(check('check-small') - ed, ed, smallLength)],
  [
    'whole check, 480 kB app',
    cycles(check('check-large') - check('ed25519-large'), check('ed25519-large'), largeLength),
  ],
];
console.log('\nTime on the STM32F411 (cycles = instructions x CPI above)');
console.log(
  '| what | cycles | 16 MHz HSI, 0 wait states | 96 MHz, 3 wait states, ART on | 96 MHz, ART missing every branch |',
);
console.log('|---|--:|--:|--:|--:|');
for (const [label, c] of cases) {
  console.log(
    `| ${label} | ${(c.low / 1e6).toFixed(1)}-${(c.high / 1e6).toFixed(1)} M | ${ms(c.low, 16e6)}-${ms(c.high, 16e6)} ms | ${ms(c.low, 96e6)}-${ms(c.high, 96e6)} ms | up to ${ms(c.worst96, 96e6)} ms |`,
  );
}
console.log(
  `\n(100 kB = ${fmt(smallLength)} bytes; 480 kB = ${fmt(largeLength)} bytes + the 128-byte trailer, the whole region of ${kb(param('REGION_SIZE'))})`,
);
