// Loads @stm32dfu/image-tools and @stm32dfu/layout for the firmware's node scripts: through
// the package names when the firmware workspace depends on them, else from the workspace's
// built packages next to the firmware.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

export class FirmwareScriptError extends Error {
  /** @param {string} code stable code @param {string} message what happened and what to do */
  constructor(code, message) {
    super(message);
    this.name = 'FirmwareScriptError';
    this.code = code;
  }
}

async function load(name, workspaceDir) {
  try {
    return await import(name);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  }
  const built = fileURLToPath(
    new URL(`../../../packages/${workspaceDir}/dist/index.js`, import.meta.url),
  );
  if (!existsSync(built)) {
    throw new FirmwareScriptError(
      'TOOLS_NOT_BUILT',
      `${name} is not built (${built} is missing): run \`pnpm --filter ${name} build\` at the repository root, then build the firmware again.`,
    );
  }
  return import(pathToFileURL(built).href);
}

export async function loadTools() {
  const [imageTools, layout] = await Promise.all([
    load('@stm32dfu/image-tools', 'image-tools'),
    load('@stm32dfu/layout', 'layout'),
  ]);
  return { imageTools, layout };
}

/** Runs `main`, printing a typed error as one line and exiting 1. */
export function runScript(name, main) {
  main().catch((error) => {
    const code = error?.code ? ` [${error.code}]` : '';
    process.stderr.write(`${name}: ${error?.message ?? String(error)}${code}\n`);
    process.exit(1);
  });
}
