/**
 * A DfuSe session against the virtual board, run in the page through the package's main
 * entry: the core is fetched by the URL Vite emits for `new URL('../dist/wasm/…',
 * import.meta.url)`. Raw control transfers, so the board is proven without the protocol package.
 */
import { createVirtualBoard, type UsbDeviceLike, type VirtualBoard } from '../../src/index.ts';
import {
  APP_SECTOR,
  BLOCK_SIZE,
  type BrowserRunResult,
  blockPattern,
  type DfuStatusReport,
  MISSING_WASM,
  RELATIVE_WASM,
} from '../scenario.ts';

// DFU 1.1 table 3.2 request codes; DfuSe commands go in DNLOAD block 0 (UM0391 §6.1).
const DNLOAD = 1;
const UPLOAD = 2;
const GETSTATUS = 3;
const ABORT = 6;
const DFUSE_SET_ADDRESS = 0x21;
const DFUSE_ERASE = 0x41;
const dfuDNBUSY = 4;
const dfuMANIFEST = 7;

/** A step of the page's session that did not go as DFU says; its code names the step. */
class PageStepError extends Error {
  override readonly name = 'PageStepError';
  constructor(
    readonly code: 'NO_DEVICE' | 'GETSTATUS_FAILED' | 'STAYED_BUSY',
    message: string,
  ) {
    super(message);
  }
}

declare global {
  interface Window {
    __virtualBoardResult?: BrowserRunResult;
  }
}

const classRequest = (request: number, value = 0) =>
  ({ requestType: 'class', recipient: 'interface', request, value, index: 0 }) as const;

const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

async function getStatus(device: UsbDeviceLike): Promise<DfuStatusReport> {
  const r = await device.controlTransferIn(classRequest(GETSTATUS), 6);
  if (r.status !== 'ok' || !r.data || r.data.byteLength !== 6) {
    throw new PageStepError('GETSTATUS_FAILED', `GETSTATUS answered ${r.status}`);
  }
  const d = r.data;
  return {
    status: d.getUint8(0),
    pollTimeout: d.getUint8(1) | (d.getUint8(2) << 8) | (d.getUint8(3) << 16),
    state: d.getUint8(4),
  };
}

/** GETSTATUS, sleeping bwPollTimeout on the board's clock while busy (DFU 1.1 §6.1.2). */
async function pollUntilIdle(board: VirtualBoard, device: UsbDeviceLike) {
  for (let polls = 0; polls < 100; polls++) {
    const s = await getStatus(device);
    if (s.state !== dfuDNBUSY && s.state !== dfuMANIFEST) return s;
    await board.clock.sleep(s.pollTimeout);
  }
  throw new PageStepError('STAYED_BUSY', 'the device stayed busy for 100 polls');
}

/** An error as plain data, whatever was thrown. */
function describeError(error: unknown): { name: string; code?: string; message: string } {
  const { name, message, code } = (error ?? {}) as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
  };
  return {
    name: typeof name === 'string' ? name : typeof error,
    ...(typeof code === 'string' ? { code } : {}),
    message: typeof message === 'string' ? message : String(error),
  };
}

async function waitForEnumeration(board: VirtualBoard): Promise<UsbDeviceLike | null> {
  // Attach debounce and enumeration take ~120 ms of virtual time.
  for (let waited = 0; !board.device && waited < 2000; waited += 10) await board.clock.sleep(10);
  return board.device;
}

async function run(): Promise<BrowserRunResult> {
  const started = performance.now();
  // Read before anything else runs: a bundler shim would define these.
  const nodeGlobals = {
    process: typeof process,
    buffer: typeof Buffer,
    processOnGlobal: 'process' in globalThis,
  };

  const board = await createVirtualBoard({ board: 'blackpill-f411' });
  const device = await waitForEnumeration(board);
  if (!device) throw new PageStepError('NO_DEVICE', `no device after 2 s (mode ${board.mode})`);
  const enumeratedAtMs = board.clock.now();

  await device.open();
  await device.claimInterface(0);
  await device.selectAlternateInterface(0, 0);
  const statusAfterOpen = await getStatus(device);
  const interfaceName = device.configuration?.interfaces[0]?.alternate?.interfaceName ?? undefined;

  await device.controlTransferOut(
    classRequest(DNLOAD, 0),
    Uint8Array.of(DFUSE_ERASE, ...le32(APP_SECTOR)),
  );
  const statusAfterEraseCommand = await getStatus(device);
  await board.clock.sleep(statusAfterEraseCommand.pollTimeout);
  const statusAfterErase = await pollUntilIdle(board, device);

  await device.controlTransferOut(
    classRequest(DNLOAD, 0),
    Uint8Array.of(DFUSE_SET_ADDRESS, ...le32(APP_SECTOR)),
  );
  const statusAfterSetAddress = await pollUntilIdle(board, device);
  // DfuSe: block n ≥ 2 lands at address pointer + (n − 2) × wTransferSize.
  const download = await device.controlTransferOut(classRequest(DNLOAD, 2), blockPattern());
  const statusAfterDownload = await pollUntilIdle(board, device);

  // ABORT returns to dfuIDLE (after the queued block is written), where UPLOAD is allowed.
  await device.controlTransferOut(classRequest(ABORT));
  const statusAfterAbort = await getStatus(device);
  const upload = await device.controlTransferIn(classRequest(UPLOAD, 2), BLOCK_SIZE);
  const uploaded = upload.data
    ? [...new Uint8Array(upload.data.buffer, upload.data.byteOffset, upload.data.byteLength)]
    : [];

  // options.wasm given as a URL relative to the page, as fetch() would take it.
  const relativeWasmBoard = await createVirtualBoard({ wasm: RELATIVE_WASM }).then(
    async (second) => {
      const secondDevice = await waitForEnumeration(second);
      return { mode: second.mode, ...(secondDevice ? { vendorId: secondDevice.vendorId } : {}) };
    },
    (error: unknown) => ({ mode: 'not created', error: describeError(error) }),
  );
  const missingWasmError = await createVirtualBoard({ wasm: MISSING_WASM }).then(
    () => ({ name: 'none', message: 'createVirtualBoard resolved' }),
    describeError,
  );

  return {
    ok: true,
    nodeGlobals,
    enumeratedAtMs,
    mode: board.mode,
    device: {
      vendorId: device.vendorId,
      productId: device.productId,
      serialNumber: device.serialNumber ?? undefined,
      productName: device.productName ?? undefined,
      opened: device.opened,
    },
    interfaceName,
    statusAfterOpen,
    statusAfterEraseCommand,
    statusAfterErase,
    statusAfterSetAddress,
    download: { status: download.status, bytesWritten: download.bytesWritten },
    statusAfterDownload,
    statusAfterAbort,
    upload: { status: upload.status, bytes: uploaded },
    events: [...board.events],
    relativeWasmBoard,
    missingWasmError,
    elapsedMs: performance.now() - started,
  };
}

function publish(result: BrowserRunResult): void {
  window.__virtualBoardResult = result;
  const summary = result.ok
    ? `ok: ${result.events.length} board events in ${result.elapsedMs.toFixed(0)} ms`
    : `failed: ${result.error.name} ${result.error.code ?? ''} ${result.error.message}`;
  const out = document.getElementById('result');
  if (out) out.textContent = summary;
}

run().then(publish, (error: unknown) => {
  const { name, message, code } = (error ?? {}) as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
  };
  publish({
    ok: false,
    error: {
      name: typeof name === 'string' ? name : typeof error,
      ...(typeof code === 'string' ? { code } : {}),
      message: typeof message === 'string' ? message : String(error),
    },
  });
});
