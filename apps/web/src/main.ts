import { getLayout } from '@stm32dfu/layout';
import { AbortError, DfuError } from '@stm32dfu/protocol';
import { WebUsbError, webUsbProblem } from '@stm32dfu/transport-webusb';
import {
  BOARD_ID,
  type BoardInfo,
  type Connection,
  connectWebUsb,
  describeBoard,
  keepVirtualFlash,
  startVirtual,
} from './board.js';
import {
  type Catalog,
  type Channel,
  fetchVerified,
  loadCatalog,
  releasesFor,
  updateAvailable,
} from './catalog.js';
import { type ChosenImage, describeError, loadImage } from './image.js';
import {
  describePlan,
  formatRate,
  install,
  openForInstall,
  PHASE_TEXT,
  planWithoutComparing,
  previewPlan,
  summarizeResult,
} from './install.js';
import { drawMemoryMap } from './memory-map.js';
import { canInstall, type InstallState, reduce } from './state.js';
import './style.css';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const logLines: string[] = [];
function log(line: string): void {
  const stamp = new Date().toISOString().slice(11, 23);
  logLines.push(`${stamp} ${line}`);
  $('log').textContent = logLines.join('\n');
}

let state: InstallState = { kind: 'no-board' };
let connection: Connection | undefined;
let info: BoardInfo | undefined;
let chosen: ChosenImage | undefined;
let catalog: Catalog | undefined;
let abort: AbortController | undefined;
/** The differential preview under way; an install waits for it (one user of the board at a time). */
let previewing: Promise<void> = Promise.resolve();
const problem = webUsbProblem(globalThis as Parameters<typeof webUsbProblem>[0]);

function dispatch(action: Parameters<typeof reduce>[1]): void {
  state = reduce(state, action);
  render();
}

function render(): void {
  const installing = state.kind === 'installing';
  $<HTMLButtonElement>('install').disabled = !canInstall(state, Boolean(chosen)) || !connection;
  $<HTMLButtonElement>('cancel').disabled = !installing;
  $<HTMLButtonElement>('connect').disabled =
    installing || state.kind === 'connecting' || problem !== undefined;
  $<HTMLButtonElement>('virtual').disabled = installing || state.kind === 'connecting';
  $<HTMLButtonElement>('compare').hidden = !(connection && chosen && info?.mode === 'runtime');
  $<HTMLButtonElement>('compare').disabled = installing;
  const progress = $<HTMLProgressElement>('progress');
  const phase = $('phase');
  document.body.dataset.state = state.kind;
  if (state.kind === 'installing' && state.progress) {
    const p = state.progress;
    phase.textContent = PHASE_TEXT[p.phase];
    progress.max = p.bytesTotal || 1;
    progress.value = p.bytesDone;
    $('rate').textContent = formatRate(p);
  } else if (state.kind === 'done') {
    phase.textContent = 'Done';
    progress.value = progress.max;
    $('status').textContent = state.summary;
  } else if (state.kind === 'failed') {
    phase.textContent = 'Stopped';
    $('status').textContent = state.message;
  } else if (state.kind === 'connecting') {
    phase.textContent = 'Connecting…';
  } else if (!installing) {
    phase.textContent = state.kind === 'ready' ? 'Ready' : 'Idle';
  }
}

function showBoard(): void {
  if (!connection || !info) return;
  $('device').hidden = false;
  $('dev-id').textContent =
    `${info.productName ?? 'USB device'} (${info.id}${connection.kind === 'virtual' ? ', virtual Black Pill F411' : ''})`;
  $('dev-mode').textContent =
    info.mode === 'dfu'
      ? 'bootloader (DFU mode)'
      : info.mode === 'runtime'
        ? 'application running'
        : 'not DFU';
  $('dev-serial').textContent = info.serialNumber ?? 'none';
  $('dev-version').textContent = info.version;
  $('dev-app').textContent = info.application.note;
  drawMap();
  showUpdate();
}

function drawMap(plan?: Parameters<typeof drawMemoryMap>[1]): void {
  if (!connection) return;
  $('map-figure').hidden = false;
  $('map').replaceChildren(drawMemoryMap(connection.layout, plan));
  $('estimate').textContent = plan?.estimate
    ? `estimated ${(plan.estimate.totalMs / 1000).toFixed(1)} s`
    : '';
}

/** Show, before Install, which sectors the chosen image would erase, write or skip. */
function schedulePreview(): void {
  previewing = previewing.then(preview);
}

async function preview(): Promise<void> {
  const image = chosen?.image;
  if (!connection || !image || !info || state.kind === 'installing') return;
  $('plan').textContent = 'Comparing the image with the board…';
  try {
    let plan: Parameters<typeof drawMemoryMap>[1];
    if (info.mode === 'dfu') {
      const dfu = await connection.transport.open(connection.device);
      try {
        plan = await previewPlan(dfu, image, connection);
      } finally {
        await dfu.release();
      }
    } else {
      plan = planWithoutComparing(image, connection);
    }
    if (chosen?.image !== image || !plan) return;
    drawMap(plan);
    $('plan').textContent = describePlan(plan);
    log(`preview: ${describePlan(plan)}`);
  } catch (error) {
    $('plan').textContent = `No preview: ${describeError(error)}`;
  }
}

/** Send a running application into the bootloader so the preview can compare sectors. */
async function compareWithBoard(): Promise<void> {
  if (!connection || !chosen) return;
  $<HTMLButtonElement>('compare').disabled = true;
  try {
    await previewing;
    const dfu = await openForInstall(connection, { log });
    info = await describeBoard(connection, dfu).catch(() => info);
    await dfu.release();
    showBoard();
    render();
    schedulePreview();
    await previewing;
  } catch (error) {
    fail(error);
  }
}

async function describe(): Promise<void> {
  if (!connection) return;
  info = await describeBoard(connection).catch((): BoardInfo | undefined => undefined);
  showBoard();
}

async function connect(start: () => Promise<Connection>, what: string): Promise<void> {
  dispatch({ type: 'connect' });
  try {
    connection = await start();
    log(
      `${what}: ${connection.device.productName ?? 'device'} serial ${connection.device.serialNumber ?? 'none'}`,
    );
    if (connection.virtual) {
      connection.virtual.on('jump', () =>
        log('virtual board: the bootloader started the application'),
      );
    }
    await describe();
    dispatch({ type: 'connected', hasImage: Boolean(chosen) });
    schedulePreview();
  } catch (error) {
    fail(error);
  }
}

function fail(error: unknown): void {
  const message =
    error instanceof AbortError
      ? 'Cancelled. The board stays in the bootloader; press Install to finish.'
      : error instanceof WebUsbError || error instanceof DfuError
        ? error.message
        : describeError(error);
  log(`error: ${message}`);
  dispatch({ type: 'failed', message });
}

function choose(bytes: Uint8Array, name: string, address?: number): void {
  $('image-error').textContent = '';
  // The last install's result is about another image.
  $('status').textContent = '';
  $('rate').textContent = '';
  $<HTMLProgressElement>('progress').value = 0;
  try {
    chosen = loadImage(bytes, name, connection?.layout ?? defaultLayout(), address);
    const img = chosen.image;
    $('image-info').textContent =
      `${name}: ${chosen.format}, ${img.size} bytes at 0x${img.start.toString(16)}` +
      (chosen.stampedHere ? ', stamped here (version 0.0.0)' : '');
    log(`image ${$('image-info').textContent}`);
  } catch (error) {
    chosen = undefined;
    $('image-info').textContent = '';
    $('image-error').textContent = describeError(error);
    log(`image refused: ${describeError(error)}`);
  }
  dispatch({ type: 'image', present: Boolean(chosen) });
  if (chosen) schedulePreview();
}

function defaultLayout(): Connection['layout'] {
  return getLayout(BOARD_ID);
}

async function runInstall(): Promise<void> {
  if (!connection || !chosen) return;
  const picked = chosen;
  abort = new AbortController();
  dispatch({ type: 'start' });
  $('status').textContent = '';
  await previewing;
  $('plan').textContent = '';
  try {
    const { result, elapsedMs } = await install(connection, picked.image, {
      signal: abort.signal,
      log,
      onProgress: (progress) => dispatch({ type: 'progress', progress }),
    });
    await keepVirtualFlash(connection);
    drawMap(result.plan);
    const summary = `${summarizeResult(result.plan, result)} in ${(elapsedMs / 1000).toFixed(2)} s.`;
    dispatch({ type: 'finished', summary });
    info = await describeBoard(connection).catch(() => info);
    // A running application over WebUSB cannot be read back, but it is the one just verified.
    if (info && info.application.version === undefined && info.mode === 'runtime') {
      const version = picked.version;
      info = { ...info, application: { version, note: `version ${version} (just installed)` } };
    }
    showBoard();
    drawMap(result.plan);
  } catch (error) {
    if (connection) await keepVirtualFlash(connection).catch(() => {});
    fail(error);
    await describe();
  } finally {
    abort = undefined;
  }
}

async function loadReleases(): Promise<void> {
  const url = new URL(
    new URLSearchParams(location.search).get('manifest') ?? 'catalog/manifest.json',
    location.href,
  ).href;
  try {
    catalog = await loadCatalog(url);
    $('catalog-status').textContent = `Releases of ${catalog.product}`;
    renderReleases();
  } catch (error) {
    $('catalog-status').textContent = navigator.onLine
      ? `No releases: ${describeError(error)}`
      : 'Offline: releases show when the network is back; a file from this computer still installs.';
    log(`catalog: ${describeError(error)}`);
  }
}

function channel(): Channel {
  return $<HTMLSelectElement>('channel').value as Channel;
}

function renderReleases(): void {
  const list = $('releases');
  list.replaceChildren();
  if (!catalog) return;
  for (const release of releasesFor(catalog, BOARD_ID, channel())) {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'secondary';
    button.textContent = `Use ${release.version}`;
    button.addEventListener('click', () => void useRelease(release.version));
    const text = document.createElement('span');
    text.textContent = ` ${release.date} ${release.notes}`;
    li.append(button, text);
    list.append(li);
  }
  showUpdate();
}

function showUpdate(): void {
  if (!catalog || !info) return;
  const newer = updateAvailable(catalog, BOARD_ID, channel(), info.application.version);
  $('catalog-status').textContent = newer
    ? `Update available: ${newer.version} (${channel()})`
    : `Releases of ${catalog.product}: the board is up to date`;
}

async function useRelease(version: string): Promise<void> {
  const release = catalog?.releases.find((r) => r.version === version);
  const file = release?.builds[BOARD_ID]?.[0];
  if (!file) return;
  $('image-error').textContent = '';
  try {
    log(`downloading ${file.url}`);
    const bytes = await fetchVerified(file, {
      onProgress: (p) => {
        $('image-info').textContent =
          `Downloading ${version}: ${Math.floor((100 * p.bytesDone) / p.bytesTotal)} %`;
      },
    });
    log(`SHA-256 of ${file.url} matches the catalog`);
    choose(bytes, file.url.split('/').pop() ?? version, file.address);
  } catch (error) {
    chosen = undefined;
    $('image-info').textContent = '';
    $('image-error').textContent = describeError(error);
    log(`release refused: ${describeError(error)}`);
    dispatch({ type: 'image', present: false });
  }
}

$('connect').addEventListener('click', () => void connect(connectWebUsb, 'connected over WebUSB'));
$('virtual').addEventListener('click', () => void connect(startVirtual, 'virtual board started'));
$('install').addEventListener('click', () => void runInstall());
$('cancel').addEventListener('click', () => abort?.abort());
$('compare').addEventListener('click', () => void compareWithBoard());
$('channel').addEventListener('change', renderReleases);
$<HTMLInputElement>('file').addEventListener('change', async (event) => {
  const file = (event.target as HTMLInputElement).files?.[0];
  if (file) choose(new Uint8Array(await file.arrayBuffer()), file.name);
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', async (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = e.dataTransfer?.files[0];
  if (file) choose(new Uint8Array(await file.arrayBuffer()), file.name);
});
$('download-log').addEventListener('click', () => {
  const url = URL.createObjectURL(new Blob([`${logLines.join('\n')}\n`], { type: 'text/plain' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = 'stm32dfu-log.txt';
  a.click();
  URL.revokeObjectURL(url);
});

if (problem) $('board-note').textContent = problem.message;
// The app shell kept for offline use (production builds; the dev server has no sw.js).
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('./sw.js').then(
    () =>
      navigator.serviceWorker.ready.then(() => {
        $('offline-note').textContent =
          'This page is kept in your browser: it works offline, virtual board included.';
      }),
    (error: unknown) => log(`offline use unavailable: ${describeError(error)}`),
  );
}
void loadReleases();
render();
