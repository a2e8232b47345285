/**
 * <stm32dfu-install manifest="https://…/manifest.json" channel="stable" board="blackpill-f411">
 * One button that installs the channel's latest release on a board over WebUSB: the file's
 * SHA-256 is checked first, a running application is detached, the app is started after.
 */
import { getLayout } from '@stm32dfu/layout';
import { WebUsbTransport } from '@stm32dfu/transport-webusb';
import type { Connection } from './board.js';
import { type Channel, fetchVerified, loadCatalog, releasesFor } from './catalog.js';
import { describeError, loadImage } from './image.js';
import { formatRate, install, summarizeResult } from './install.js';

const STYLE = `
:host { display: inline-block; font-family: system-ui, sans-serif; }
button { font: inherit; padding: 0.6rem 1.2rem; border-radius: 8px; border: 0; background: #0b5fff; color: #fff; cursor: pointer; }
button:disabled { opacity: 0.6; }
button:focus-visible { outline: 3px solid #ffb020; outline-offset: 2px; }
p { margin: 0.4rem 0 0; color: #394150; font-size: 0.9rem; }
`;

export class Stm32dfuInstall extends HTMLElement {
  #button: HTMLButtonElement;
  #status: HTMLParagraphElement;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = STYLE;
    this.#button = document.createElement('button');
    this.#button.type = 'button';
    this.#button.part.add('button');
    this.#button.textContent = this.getAttribute('label') ?? 'Install firmware';
    this.#status = document.createElement('p');
    this.#status.setAttribute('role', 'status');
    root.append(style, this.#button, this.#status);
    this.#button.addEventListener('click', () => void this.#run());
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
    try {
      const transport = WebUsbTransport.fromBrowser();
      const device = await transport.request();
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
      const { result } = await install(connection, chosen.image, {
        onProgress: (p) => this.#say(`${p.phase}: ${formatRate(p)}`),
      });
      this.#say(`Installed ${release.version}: ${summarizeResult(result.plan, result)}.`);
    } catch (error) {
      this.#say(describeError(error));
    } finally {
      this.#button.disabled = false;
    }
  }
}

if (!customElements.get('stm32dfu-install'))
  customElements.define('stm32dfu-install', Stm32dfuInstall);
