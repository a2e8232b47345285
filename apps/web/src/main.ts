import { readSignatureTrailer } from '@stm32dfu/image-tools';
import { getLayout } from '@stm32dfu/layout';
import { AbortError, DfuError, type SecurityRecord } from '@stm32dfu/protocol';
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
import {
  checkBeforeWrite,
  checkImageSignature,
  describeSecurity,
  type SignatureDecision,
  SignatureRefused,
} from './security.js';
import { canInstall, type InstallState, reduce } from './state.js';
import { loadKeys } from './storage.js';
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
let chosen: (ChosenImage & { readonly fromCatalog: boolean }) | undefined;
/** The page's signature check of `chosen` against the catalog's keys and the board's record. */
let decision: SignatureDecision | undefined;
/** The board's security record as last read in its bootloader, and when. */
let knownSecurity: { record: SecurityRecord; when: string } | undefined;
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
  $<HTMLButtonElement>('install').disabled =
    !canInstall(state, Boolean(chosen) && decision?.ok !== false) || !connection;
  $<HTMLButtonElement>('cancel').disabled = !installing;
  $<HTMLButtonElement>('connect').disabled =
    installing || state.kind === 'connecting' || problem !== undefined;
  $<HTMLButtonElement>('virtual').disabled = installing || state.kind === 'connecting';
  $<HTMLInputElement>('virtual-locked').disabled = installing || state.kind === 'connecting';
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
  if (typeof info.security === 'object') knownSecurity = { record: info.security, when: '' };
  $('dev-security').textContent =
    info.security === 'none'
      ? describeSecurity(undefined)
      : knownSecurity
        ? `${describeSecurity(knownSecurity.record)}${knownSecurity.when ? ` (${knownSecurity.when})` : ''}`
        : 'not known while the application runs: read when it enters the bootloader';
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
    const { dfu } = await openForInstall(connection, { log });
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
  knownSecurity = undefined;
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
    await checkChosen();
    dispatch({ type: 'connected', hasImage: installable() });
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

function installable(): boolean {
  return Boolean(chosen) && decision?.ok !== false;
}

/** The board's record as the page knows it: read now, or when it was last in the bootloader. */
function boardSecurity(): SecurityRecord | undefined {
  return typeof info?.security === 'object' ? info.security : knownSecurity?.record;
}

/**
 * Check the chosen image's signature in the page (Web Crypto) against the catalog's keys and
 * the board's security record; a refusal disables Install and says why.
 */
async function checkChosen(): Promise<void> {
  const picked = chosen;
  if (!picked) {
    decision = undefined;
    $('signature').textContent = '';
    return;
  }
  const security = boardSecurity();
  let result: SignatureDecision;
  try {
    result = await checkImageSignature(picked.image, {
      layout: connection?.layout ?? defaultLayout(),
      boardId: BOARD_ID,
      catalogKeys: catalog?.keys ?? [],
      fromCatalog: picked.fromCatalog,
      security,
    });
  } catch (error) {
    result = { ok: false, text: `The signature could not be checked: ${describeError(error)}` };
  }
  if (chosen !== picked) return;
  decision = result;
  const later =
    result.ok && connection && !security && info?.security === 'unknown'
      ? ' The board’s own requirements are checked when it enters the bootloader, before anything is written.'
      : '';
  $('signature').textContent = result.ok ? `${result.text}${later}` : '';
  if (!result.ok) {
    $('image-error').textContent = result.text;
    log(`signature refused: ${result.text}`);
  } else {
    log(`signature: ${result.text}`);
  }
  dispatch({ type: 'image', present: installable() });
}

async function choose(
  bytes: Uint8Array,
  name: string,
  address?: number,
  fromCatalog = false,
): Promise<void> {
  $('image-error').textContent = '';
  $('signature').textContent = '';
  decision = undefined;
  // The last install's result is about another image.
  $('status').textContent = '';
  $('rate').textContent = '';
  $<HTMLProgressElement>('progress').value = 0;
  try {
    chosen = {
      ...loadImage(bytes, name, connection?.layout ?? defaultLayout(), address),
      fromCatalog,
    };
    const img = chosen.image;
    $('image-info').textContent =
      `${name}: ${chosen.format}, ${img.size} bytes at 0x${img.start.toString(16)}` +
      (chosen.stampedHere ? ', stamped here (version 0.0.0)' : '');
    log(`image ${$('image-info').textContent}`);
    for (const warning of chosen.warnings) log(`image warning: ${warning}`);
  } catch (error) {
    chosen = undefined;
    $('image-info').textContent = '';
    $('image-error').textContent = describeError(error);
    log(`image refused: ${describeError(error)}`);
  }
  await checkChosen();
  dispatch({ type: 'image', present: installable() });
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
    const current = connection;
    let checked: { record: SecurityRecord | undefined; decision: SignatureDecision } | undefined;
    const { result, elapsedMs } = await install(current, picked.image, {
      signal: abort.signal,
      log,
      // The board is in its bootloader now: its record, then the page's check, before any write.
      beforeWrite: async (dfu) => {
        checked = await checkBeforeWrite(dfu, picked.image, {
          layout: current.layout,
          boardId: BOARD_ID,
          catalogKeys: catalog?.keys ?? [],
          fromCatalog: picked.fromCatalog,
        });
        if (checked.record) knownSecurity = { record: checked.record, when: '' };
      },
      onProgress: (progress) => dispatch({ type: 'progress', progress }),
    });
    await keepVirtualFlash(connection);
    drawMap(result.plan);
    const summary = `${summarizeResult(result.plan, result)} in ${(elapsedMs / 1000).toFixed(2)} s.`;
    dispatch({ type: 'finished', summary });
    // The board raised its counter to the image's as it installed it (docs/signed-firmware.md).
    const record = checked?.record;
    const counter = picked.image && checked?.decision.ok ? imageCounter(picked) : undefined;
    if (record && counter !== undefined && record.counterCapacity > 0) {
      knownSecurity = {
        record: { ...record, counter: Math.max(record.counter, counter) },
        when: 'after this install',
      };
    }
    info = await describeBoard(connection).catch(() => info);
    // A running application over WebUSB cannot be read back, but it is the one just verified.
    if (info && info.application.version === undefined && info.mode === 'runtime') {
      const version = picked.version;
      info = { ...info, application: { version, note: `version ${version} (just installed)` } };
    }
    showBoard();
    drawMap(result.plan);
    render(); // Compare with the board shows now that the application runs.
  } catch (error) {
    if (error instanceof SignatureRefused && error.record)
      knownSecurity = { record: error.record, when: '' };
    if (connection) await keepVirtualFlash(connection).catch(() => {});
    fail(error);
    await describe();
    // The board's record is known now: the check shows the refusal and keeps Install off.
    if (error instanceof SignatureRefused) await checkChosen();
    render();
  } finally {
    abort = undefined;
  }
}

function imageCounter(image: ChosenImage): number | undefined {
  return readSignatureTrailer(image.image, defaultLayout().partitions.application)?.securityCounter;
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
    if (chosen) await checkChosen();
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
    await choose(bytes, file.url.split('/').pop() ?? version, file.address, true);
  } catch (error) {
    chosen = undefined;
    $('image-info').textContent = '';
    $('image-error').textContent = describeError(error);
    log(`release refused: ${describeError(error)}`);
    dispatch({ type: 'image', present: false });
  }
}

$('connect').addEventListener('click', () => void connect(connectWebUsb, 'connected over WebUSB'));
$('virtual').addEventListener('click', () => {
  const locked = $<HTMLInputElement>('virtual-locked').checked;
  if (!locked) return void connect(() => startVirtual(), 'virtual board started');
  if (!catalog?.keys.length) {
    const message = catalog
      ? 'The release catalog lists no signing keys, so the virtual board cannot be locked with them: untick “Locked”, or open a catalog that lists its keys.'
      : 'No release catalog is loaded, so there are no keys to lock the virtual board with: untick “Locked”, or open a catalog that lists its keys (?manifest=).';
    log(`error: ${message}`);
    $('board-note').textContent = message;
    return;
  }
  const keys = catalog.keys;
  $('board-note').textContent = problem?.message ?? '';
  void connect(() => startVirtual(keys), 'locked virtual board started');
});
$('install').addEventListener('click', () => void runInstall());
$('cancel').addEventListener('click', () => abort?.abort());
$('compare').addEventListener('click', () => void compareWithBoard());
$('channel').addEventListener('change', renderReleases);
$<HTMLInputElement>('file').addEventListener('change', async (event) => {
  const file = (event.target as HTMLInputElement).files?.[0];
  if (file) await choose(new Uint8Array(await file.arrayBuffer()), file.name);
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
  if (file) await choose(new Uint8Array(await file.arrayBuffer()), file.name);
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
// A virtual board created locked stays locked over a reload, as a chip keeps its keys.
void loadKeys(BOARD_ID).then(
  (keys) => {
    if (keys) $<HTMLInputElement>('virtual-locked').checked = true;
  },
  () => {},
);
void loadReleases();
render();
