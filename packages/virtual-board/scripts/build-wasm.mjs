#!/usr/bin/env node
// Compile the bootloader's portable C core with the wasm port into one module per board:
// dist/wasm/<board>.wasm. The layout header comes from @stm32dfu/layout's codegen, run here
// so this build does not depend on the firmware build. Nothing built here is committed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repo = resolve(packageDir, '../..');
const firmware = join(repo, 'firmware');
const coreDir = join(firmware, 'src/core');
const portDir = join(firmware, 'src/port/wasm');
const cryptoDir = join(firmware, 'src/crypto');
const generatedDir = join(firmware, 'build/generated');
const layoutCli = join(repo, 'packages/layout/dist/cli.js');
const outDir = join(packageDir, 'dist/wasm');
const boards = ['blackpill-f411', 'netduinoplus2'];
const clang = process.env.CLANG ?? 'clang-14';
const wasmLd = process.env.WASM_LD ?? '/usr/lib/llvm-14/bin/wasm-ld';

function fail(message) {
  console.error(`build-wasm: ${message}`);
  process.exit(1);
}

if (!existsSync(layoutCli)) {
  fail(
    `${relative(repo, layoutCli)} is missing: run \`pnpm --filter @stm32dfu/layout build\` first.`,
  );
}
if (!existsSync(wasmLd)) {
  fail(`${wasmLd} is missing: install it with \`apt-get install -y lld-14\` (or set WASM_LD).`);
}
try {
  execFileSync(clang, ['--version'], { stdio: 'ignore' });
} catch {
  fail(`${clang} is not on PATH: install it with \`apt-get install -y clang-14\` (or set CLANG).`);
}

execFileSync('node', [layoutCli, 'codegen', '--out', generatedDir], { stdio: 'inherit' });

const cFiles = (dir) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.c'))
        .sort()
        .map((f) => join(dir, f))
    : [];
// The signature check is always in: a virtual board can be created locked with any keys.
const sources = [...cFiles(coreDir), ...cFiles(cryptoDir), ...cFiles(portDir)];
if (!cFiles(portDir).length) fail(`no C sources in ${relative(repo, portDir)}.`);

mkdirSync(outDir, { recursive: true });
for (const board of boards) {
  const boardHeaders = join(generatedDir, board);
  if (!existsSync(join(boardHeaders, 'stm32dfu_layout.h'))) {
    fail(`codegen wrote no ${relative(repo, join(boardHeaders, 'stm32dfu_layout.h'))}.`);
  }
  const out = join(outDir, `${board}.wasm`);
  const args = [
    '--target=wasm32',
    '-std=c11',
    '-O2',
    '-ffreestanding',
    '-mmutable-globals',
    '-nostdlib',
    '-Wall',
    '-Wextra',
    '-Werror',
    `-fuse-ld=${wasmLd}`,
    '-Wl,--no-entry',
    '-Wl,--allow-undefined',
    // Exported so the board can restore it after a reset; the rest of the state is memory.
    '-Wl,--export=__stack_pointer',
    // Signature support, and a profile the board can configure (port.c).
    '-DSTM32DFU_SIGNING',
    '-DSTM32DFU_RUNTIME_PROFILE',
    `-I${coreDir}`,
    `-I${cryptoDir}`,
    `-I${boardHeaders}`,
    '-o',
    out,
    ...sources,
  ];
  try {
    execFileSync(clang, args, { stdio: 'inherit' });
  } catch {
    fail(`compiling the core for ${board} failed (see the compiler output above).`);
  }
  // --allow-undefined turns any undefined symbol into an import: only hal.h may be one, so a
  // core function that is declared but not yet written fails here, not at instantiation.
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(out)));
  const strays = imports.filter((i) => i.module !== 'env' || !i.name.startsWith('hal_'));
  if (strays.length) {
    fail(
      `${relative(repo, out)} imports ${strays.map((i) => i.name).join(', ')}: ` +
        'these are not hal.h functions, so the core or the port does not define them.',
    );
  }
  console.log(`build-wasm: ${relative(repo, out)} (${statSync(out).size} bytes)`);
}
