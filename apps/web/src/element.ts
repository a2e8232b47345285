/**
 * <stm32dfu-install manifest="https://…/manifest.json" channel="stable" board="blackpill-f411">
 * One button that installs the channel's latest release on a board over WebUSB: the file's
 * SHA-256 is checked first, a running application is detached, the signature is checked as the
 * page checks it (the board's security record and the catalog's keys) before anything is
 * written, the app is started after. A refusal writes nothing and leaves the board as it was:
 * an application that was running is started again, a board found in the bootloader stays.
 * Cancel leaves the board in the bootloader; pressing the button again finishes the install
 * on the same board without a new chooser.
 */
import { getLayout } from '@stm32dfu/layout';
import { AbortError } from '@stm32dfu/protocol';
import { WebUsbTransport } from '@stm32dfu/transport-webusb';
import type { UsbDeviceLike } from '@stm32dfu/usb-device';
import type { Connection } from './board.js';
import { type Channel, fetchVerified, loadCatalog, releasesFor } from './catalog.js';
import { describeError, loadImage } from './image.js';
import { formatRate, install, PHASE_TEXT, summarizeResult } from './install.js';
import { checkBeforeWrite } from './security.js';

const STYLE = `
:host { display: inline-block; font-family: system-ui, sans-serif; }
button { font: inherit; padding: 0.6rem 1.2rem; border-radius: 8px; border: 0; background: #0b5fff; color: #fff; cursor: pointer; }
button:disabled { opacity: 0.6; }
button.cancel { background: transparent; color: #0b5fff; border: 1px solid #0b5fff; margin-left: 0.5rem; }
button[hidden] { display: none; }
progress { display: block; width: 100%; margin-top: 0.5rem; accent-color: #0b5fff; }
progress[hidden] { display: none; }
button:focus-visible { outline: 3px solid #ffb020; outline-offset: 2px; }
p { margin: 0.4rem 0 0; color: #394150; font-size: 0.9rem; }
`;

export class Stm32dfuInstall extends HTMLElement {
  #button: HTMLButtonElement;
  #cancel: HTMLButtonElement;
  #progress: HTMLProgressElement;
  #status: HTMLParagraphElement;
  #abort: AbortController | undefined;
  #transport: WebUsbTransport | undefined;
  /** The board of the last install, found again by serial on the next press. */
  #device: UsbDeviceLike | undefined;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = STYLE;
    this.#button = document.createElement('button');
    this.#button.type = 'button';
    this.#button.part.add('button');
    this.#button.textContent = this.getAttribute('label') ?? 'Install firmware';
    this.#cancel = document.createElement('button');
    this.#cancel.type = 'button';
    this.#cancel.className = 'cancel';
    this.#cancel.part.add('cancel');
    this.#cancel.textContent = 'Cancel';
    this.#cancel.hidden = true;
    this.#progress = document.createElement('progress');
    this.#progress.hidden = true;
    this.#progress.setAttribute('aria-label', 'Install progress');
    this.#status = document.createElement('p');
    this.#status.setAttribute('role', 'status');
    root.append(style, this.#button, this.#cancel, this.#progress, this.#status);
    this.#button.addEventListener('click', () => void this.#run());
    this.#cancel.addEventListener('click', () => this.#abort?.abort());
  }

  /** The board: the one of the last press if it is still plugged in, else from the chooser. */
  async #board(transport: WebUsbTransport): Promise<UsbDeviceLike> {
    const serial = this.#device?.serialNumber;
    if (serial) {
      const known = (await transport.known()).find((d) => d.serialNumber === serial);
      if (known) return known;
    }
    return transport.request();
  }

  #say(text: string): void {
    this.#status.textContent = text;
    this.dispatchEvent(new CustomEvent('stm32dfu-status', { detail: text }));
  }

  async #run(): Promise<void> {
    const manifest = this.getAttribute('manifest');
    if (!manifest) {
      this.#say('This button has no manifest attribute: set it to the release catalog URL.');
      return;
    }
    const boardId = this.getAttribute('board') ?? 'blackpill-f411';
    const channel = (this.getAttribute('channel') ?? 'stable') as Channel;
    this.#button.disabled = true;
    const abort = new AbortController();
    this.#abort = abort;
    try {
      this.#transport ??= WebUsbTransport.fromBrowser();
      const transport = this.#transport;
      const device = await this.#board(transport);
      this.#device = device;
      const catalog = await loadCatalog(new URL(manifest, document.baseURI).href);
      const release = releasesFor(catalog, boardId, channel)[0];
      const file = release?.builds[boardId]?.[0];
      if (!release || !file) {
        throw new Error(`${catalog.product} has no ${channel} release for ${boardId}.`);
      }
      this.#say(`Downloading ${catalog.product} ${release.version}…`);
      const bytes = await fetchVerified(file);
      const layout = getLayout(boardId);
      const chosen = loadImage(bytes, file.url, layout, file.address);
      const connection: Connection = { kind: 'webusb', transport, layout, device };
      this.#cancel.hidden = false;
      this.#progress.hidden = false;
      const { result } = await install(connection, chosen.image, {
        signal: abort.signal,
        // With the board in its bootloader: refuse what it would refuse, before any write.
        beforeWrite: async (dfu) => {
          await checkBeforeWrite(dfu, chosen.image, {
            layout,
            boardId,
            catalogKeys: catalog.keys,
            fromCatalog: true,
          });
        },
        onProgress: (p) => {
          this.#progress.max = p.bytesTotal || 1;
          this.#progress.value = p.bytesDone;
          this.#say(`${PHASE_TEXT[p.phase]} ${formatRate(p)}`);
        },
      });
      this.#device = connection.device;
      this.#say(`Installed ${release.version}: ${summarizeResult(result.plan, result)}.`);
    } catch (error) {
      this.#say(
        error instanceof AbortError
          ? 'Cancelled: the board stays in the bootloader. Press the button again to finish the install.'
          : describeError(error),
      );
    } finally {
      this.#abort = undefined;
      this.#button.disabled = false;
      this.#cancel.hidden = true;
      this.#progress.hidden = true;
    }
  }
}

if (!customElements.get('stm32dfu-install'))
  customElements.define('stm32dfu-install', Stm32dfuInstall);
