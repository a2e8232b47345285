#!/usr/bin/env node
// mix.mjs — the executed Cortex-M4 instruction mix of one SHA-256 and one Ed25519 phase,
// from QEMU's translation and execution log (`-d in_asm,exec,nochain`, the benchmark run
// with arg=mix), turned into a cycle range with the Cortex-M4 TRM's instruction timings
// (Table 3-1, zero wait states). Prints one JSON object: per phase, instructions, cycles
// at the low and high end, taken branches, and the mix by class.
//
//   node bench/signature/mix.mjs <qemu log>
//
// Timings (P = pipeline refill after a branch, 1 to 3 cycles):
//   data processing, MUL/MLA/MLS, UMULL/SMULL/UMLAL/SMLAL/UMAAL, IT: 1
//   LDR/LDRB/LDRH/LDRSB/LDRSH: 2, or 1 when it follows another single load or store
//     (the TRM: neighbouring loads and stores pipeline) — 1 counted only at the low end
//   STR/STRB/STRH: 1 (buffered) at the low end, 2 at the high end
//   LDRD/STRD: 1 + 2; LDM/STM/PUSH/POP: 1 + N (N registers); + P when PC is loaded
//   B/BL/BX/BLX/CBZ/CBNZ and conditional branches: taken 1 + P, not taken 1
//   UDIV/SDIV: 2 to 12
// The low end takes P = 1, the high end P = 3. The log cannot tell whether an instruction
// in an IT block was skipped (a skipped one costs 1), so those are costed as executed.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

const path = process.argv[2];
if (!path) {
  process.stderr.write('usage: mix.mjs <qemu in_asm,exec log>\n');
  process.exit(2);
}

const insnRe = /^0x([0-9a-f]+):\s+([0-9a-f]{4})(?: ([0-9a-f]{4}))?\s+(\S+)\s*(.*)$/;
const traceRe = /^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+\/([0-9a-f]+)\/[0-9a-f]+\/[0-9a-f]+\] (\S*)/;
const COND = '(?:eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le|al)?';
const strip = (m) => m.replace(/\.(w|n)$/, '');

function classify(mnemonic, operands) {
  const m = strip(mnemonic);
  const writesPc = /\bpc\b/.test(operands.split(',')[0]) || /\{[^}]*\bpc\b[^}]*\}/.test(operands);
  if (new RegExp(`^(b|bl|blx|bx)${COND}$`).test(m) || /^cbn?z$/.test(m)) return { cls: 'branch' };
  if (/^(pop|ldm(ia|db|fd|ea)?)$/.test(m)) return { cls: 'ldm', n: regCount(operands), writesPc };
  if (/^(push|stm(ia|db|fd|ea)?)$/.test(m)) return { cls: 'stm', n: regCount(operands) };
  if (new RegExp(`^(ldrd|strd)${COND}$`).test(m)) return { cls: 'ldst-double' };
  if (new RegExp(`^ldr(b|h|sb|sh)?${COND}$`).test(m)) return { cls: 'load', writesPc };
  if (new RegExp(`^str(b|h)?${COND}$`).test(m)) return { cls: 'store' };
  if (/^(mul|mla|mls|umull|smull|umlal|smlal|umaal)s?/.test(m)) return { cls: 'multiply' };
  if (/^[us]div/.test(m)) return { cls: 'divide' };
  if (/^tb[bh]/.test(m)) return { cls: 'table-branch' };
  return { cls: 'alu' };
}

function regCount(operands) {
  const list = operands.match(/\{([^}]*)\}/);
  if (!list) return 1;
  let n = 0;
  for (const part of list[1].split(',')) {
    const range = part.trim().match(/^r(\d+)\s*-\s*r(\d+)$/);
    n += range ? Number(range[2]) - Number(range[1]) + 1 : 1;
  }
  return n;
}

const blocks = new Map(); // TB start pc -> [{ pc, size, info }]
const phases = {};
let phase = 'other';
let pending = null; // the block being read from in_asm
let previous = null; // the last instruction of the previous executed block
let previousWasLoadStore = false;

function phaseFor(fn) {
  if (fn === 'bench_sha256') return 'sha256';
  if (fn === 'bench_ed25519') return 'ed25519';
  if (fn === 'bench_main' && phase !== 'other') return 'other';
  return phase;
}

function account(block) {
  if (!phases[phase])
    phases[phase] = { instructions: 0, low: 0, high: 0, takenBranches: 0, classes: {} };
  const p = phases[phase];
  for (const insn of block) {
    const { info } = insn;
    p.instructions++;
    p.classes[info.cls] = (p.classes[info.cls] ?? 0) + 1;
    let low = 1;
    let high = 1;
    switch (info.cls) {
      case 'load':
        low = previousWasLoadStore ? 1 : 2;
        high = 2;
        if (info.writesPc) {
          low += 1;
          high += 3;
        }
        break;
      case 'store':
        high = 2;
        break;
      case 'ldst-double':
        low = 3;
        high = 3;
        break;
      case 'ldm':
        low = 1 + info.n + (info.writesPc ? 1 : 0);
        high = 1 + info.n + (info.writesPc ? 3 : 0);
        break;
      case 'stm':
        low = 1 + info.n;
        high = 1 + info.n;
        break;
      case 'divide':
        low = 2;
        high = 12;
        break;
      case 'table-branch':
        low = 2 + 1 + 1;
        high = 2 + 1 + 3;
        break;
      default:
        break;
    }
    p.low += low;
    p.high += high;
    previousWasLoadStore = info.cls === 'load' || info.cls === 'store';
  }
}

// A branch ending the previous block was taken when this block does not start right after it.
function branchCost(startPc) {
  if (previous === null || previous.info.cls !== 'branch') return;
  if (startPc !== previous.pc + previous.size) {
    const p = phases[phase];
    p.takenBranches++;
    p.low += 1;
    p.high += 3;
  }
}

const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
for await (const line of lines) {
  if (line.startsWith('Trace ')) {
    pending = null;
    const t = traceRe.exec(line);
    if (!t) continue;
    const pc = Number.parseInt(t[1], 16);
    const next = phaseFor(t[2]);
    if (phases[phase]) branchCost(pc);
    phase = next;
    const block = blocks.get(pc);
    if (!block) continue; // not translated in this log (cannot happen with in_asm on)
    account(block);
    previous = block[block.length - 1];
  } else if (line.startsWith('IN:')) {
    pending = [];
  } else if (pending !== null) {
    const i = insnRe.exec(line);
    if (i) {
      const pc = Number.parseInt(i[1], 16);
      if (pending.length === 0) blocks.set(pc, pending);
      pending.push({ pc, size: i[3] ? 4 : 2, info: classify(i[4], i[5]) });
    } else if (line.trim() === '') {
      pending = null;
    }
  }
}
delete phases.other;
process.stdout.write(`${JSON.stringify(phases)}\n`);
