import {
  DfuDevice,
  type DfuMode,
  type DfuOpenOptions,
  hasDfuModeInterface,
  hasRuntimeInterface,
  searchBoard,
} from '@stm32dfu/protocol';
import {
  type Clock,
  realClock,
  type UsbConnectionListener,
  type UsbDeviceLike,
  type UsbLike,
} from '@stm32dfu/usb-device';
import {
  DEFAULT_IDENTITIES,
  type DfuDeviceInfo,
  describeDevice,
  dfuModeOf,
  formatBusPath,
  formatUsbId,
  kindOf,
  type ProductIdentity,
} from './classify.js';
import { NodeUsbDevice } from './device.js';
import {
  type AdviceContext,
  type HostPlatform,
  TransportError,
  toTransportError,
} from './errors.js';
import {
  type LibusbDevice,
  type LibusbHotplugListener,
  loadNodeUsb,
  type NodeUsbModule,
} from './node-usb.js';
import { type DeviceCriteria, selectDevice } from './select.js';

/**
 * How `NodeUsbTransport` reaches USB, which devices it takes as stm32dfu's, and the advice,
 * deadlines and clock it uses.
 */
export interface NodeUsbTransportOptions {
  /**
   * node-usb, or a function that loads it. Default: the real `usb` package, imported on first
   * use. Tests pass a libusb-shaped stand-in.
   */
  readonly usb?: NodeUsbModule | (() => Promise<NodeUsbModule>);
  /** Whose advice to give; default `process.platform`. */
  readonly platform?: HostPlatform;
  /** Which VID:PIDs are stm32dfu's (a product with its own ids adds them); default 1209:0001. */
  readonly identities?: readonly ProductIdentity[];
  /** Deadline of every USB request, ms (default 5000). */
  readonly timeoutMs?: number;
  /** For `findBoard` and `open`; default the real clock. */
  readonly clock?: Clock;
  /** Told when a kernel driver was detached from a DFU interface (Linux), e.g. to log it. */
  readonly onKernelDriverDetached?: (device: string, interfaceNumber: number) => void;
}

/** What `list()` saw. */
export interface DeviceListing {
  /** Every DFU-capable device, sorted by bus path. */
  readonly devices: readonly DfuDeviceInfo[];
  /**
   * What went wrong while looking: `USB_UNAVAILABLE` when there is no USB to look at (no
   * usbfs, libusb not starting, node-usb not installed), and one error per device that could
   * not be opened to read its strings (`ACCESS_DENIED` with the udev advice, `NO_DRIVER`…).
   */
  readonly diagnostics: readonly TransportError[];
  /** How many USB devices libusb listed in all, DFU or not. */
  readonly usbDeviceCount: number;
}

/**
 * How `findBoard` waits for a board to come back by serial number: the mode, deadline, poll
 * interval and abort signal.
 */
export interface FindBoardOptions {
  /** Which mode to wait for: 'dfu' after DETACH, 'runtime' after a leave; default either. */
  readonly mode?: DfuMode | 'any';
  /** How long to look, ms (default 10 s). */
  readonly timeoutMs?: number;
  /** Between polls, ms (default 100); an `attach` event for the board ends the wait early. */
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
  /** The device object that just left the bus, never to be returned. */
  readonly exclude?: UsbDeviceLike;
}

/** A selection: a device from `list()`, or criteria to select one with. */
export type DeviceTarget = DfuDeviceInfo | DeviceCriteria;

const DEFAULT_TIMEOUT_MS = 5000;

/**
 * Real USB devices for stm32dfu through node-usb v2: list and select DFU devices, hand them
 * to the protocol in contract 2's shape, find a board again after it re-enumerates, and
 * turn permission and driver failures into errors that say what to do.
 */
export class NodeUsbTransport {
  readonly platform: HostPlatform;
  readonly identities: readonly ProductIdentity[];
  readonly timeoutMs: number;
  readonly clock: Clock;
  /** The bus in `navigator.usb`'s shape, for the protocol's `detach`, `download({ usb })`, `leave`. */
  readonly usb: UsbLike;
  readonly #load: () => Promise<NodeUsbModule>;
  #module: Promise<NodeUsbModule> | undefined;
  #loaded: NodeUsbModule | undefined;
  readonly #onKernelDriverDetached: NodeUsbTransportOptions['onKernelDriverDetached'];
  /** node-usb's WebUSB device per libusb device that could be opened, so each is opened once. */
  readonly #web = new WeakMap<LibusbDevice, Promise<UsbDeviceLike>>();
  readonly #adapters = new WeakMap<LibusbDevice, NodeUsbDevice>();
  readonly #sources = new WeakMap<DfuDeviceInfo, LibusbDevice>();

  constructor(options: NodeUsbTransportOptions = {}) {
    const given = options.usb;
    this.#load =
      given === undefined
        ? loadNodeUsb
        : typeof given === 'function'
          ? given
          : () => Promise.resolve(given);
    this.platform = options.platform ?? process.platform;
    this.identities = options.identities ?? DEFAULT_IDENTITIES;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.clock = options.clock ?? realClock;
    this.#onKernelDriverDetached = options.onKernelDriverDetached;
    this.usb = this.#usbLike();
  }

  /**
   * Every DFU-capable device on the bus: our bootloader (FE/01/02) and applications (FE/01/01),
   * ST's ROM bootloader, and other vendors' DFU devices (`foreign`). Never throws for want of
   * USB: no bus, no permission or no driver end up in `diagnostics`.
   */
  async list(): Promise<DeviceListing> {
    const diagnostics: TransportError[] = [];
    const bus = await this.#libusbDevices(diagnostics);
    const devices: DfuDeviceInfo[] = [];
    for (const device of bus) {
      const mode = dfuModeOf(device);
      if (!mode) continue;
      let web: UsbDeviceLike | undefined;
      let problem: TransportError | undefined;
      try {
        web = await this.#webDevice(device);
      } catch (error) {
        problem = error as TransportError;
        diagnostics.push(problem);
      }
      const info = describeDevice(device, mode, web, problem, this.identities);
      this.#sources.set(info, device);
      devices.push(info);
    }
    devices.sort((a, b) => comparePaths(a, b));
    return { devices, diagnostics, usbDeviceCount: bus.length };
  }

  /**
   * Exactly one device: by VID:PID, serial number, bus path and/or mode, or, with none of
   * those, the one stm32dfu or ST ROM device present. `DeviceSelectionError` (`NO_DEVICE`,
   * `AMBIGUOUS`) says what was looked for and what was seen.
   */
  async select(criteria: DeviceCriteria = {}): Promise<DfuDeviceInfo> {
    const listing = await this.list();
    return selectDevice(listing.devices, criteria, listing.diagnostics);
  }

  /**
   * The selected device in contract 2's shape (not yet opened): what `DfuDevice.open` and
   * the protocol's operations take. Throws the device's `ACCESS_DENIED` / `NO_DRIVER` error
   * if it still cannot be opened.
   */
  async device(target: DeviceTarget = {}): Promise<NodeUsbDevice> {
    const info = isInfo(target) ? target : await this.select(target);
    const libusb = this.#sources.get(info) ?? (await this.#refind(info));
    return this.#adapter(libusb);
  }

  /**
   * Select, open and claim the DFU interface, select the alt setting (by number or memory
   * name), and bring a DFU-mode device to dfuIDLE: the protocol's `DfuDevice`, ready for
   * `download`, `upload` or `detach`.
   */
  async open(target: DeviceTarget = {}, options: DfuOpenOptions = {}): Promise<DfuDevice> {
    const device = await this.device(target);
    return DfuDevice.open(device, {
      clock: this.clock,
      transferTimeoutMs: this.timeoutMs,
      ...options,
    });
  }

  /**
   * Find the board with `serialNumber` again after DETACH, a leave or a reset, under a
   * deadline: a poll every `intervalMs`, and at once on an `attach` event for it (libusb
   * hotplug where the OS has it, node-usb's own polling elsewhere). `TimeoutError`
   * (the protocol's, code `TIMEOUT`) at the deadline, `AbortError` on the signal.
   */
  async findBoard(serialNumber: string, options: FindBoardOptions = {}): Promise<NodeUsbDevice> {
    const mode = options.mode ?? 'any';
    const accept =
      mode === 'dfu'
        ? hasDfuModeInterface
        : mode === 'runtime'
          ? hasRuntimeInterface
          : (d: UsbDeviceLike) => hasDfuModeInterface(d) || hasRuntimeInterface(d);
    const modeText =
      mode === 'dfu' ? ' in DFU mode' : mode === 'runtime' ? ' running its application' : '';
    const found = await searchBoard(this.usb, {
      clock: this.clock,
      serialNumber,
      accept,
      timeoutMs: options.timeoutMs ?? 10_000,
      intervalMs: options.intervalMs ?? 100,
      what: `the board with serial ${serialNumber} to come back${modeText}`,
      phase: 'find board',
      signal: options.signal,
      exclude: options.exclude,
    });
    return found as NodeUsbDevice;
  }

  #libusbModule(): Promise<NodeUsbModule> {
    this.#module ??= this.#load().then((usb) => {
      this.#loaded = usb;
      return usb;
    });
    return this.#module;
  }

  /** libusb's device list, or none plus a `USB_UNAVAILABLE` diagnostic. */
  async #libusbDevices(diagnostics: TransportError[]): Promise<readonly LibusbDevice[]> {
    let usb: NodeUsbModule;
    try {
      usb = await this.#libusbModule();
    } catch (error) {
      this.#module = undefined; // a later call may find it installed
      diagnostics.push(unavailable('loading node-usb (the `usb` package)', error, this.platform));
      return [];
    }
    try {
      return usb.getDeviceList();
    } catch (error) {
      diagnostics.push(unavailable('listing USB devices', error, this.platform));
      return [];
    }
  }

  #advice(device: LibusbDevice): AdviceContext {
    const d = device.deviceDescriptor;
    return {
      platform: this.platform,
      kind: kindOf(d.idVendor, d.idProduct, undefined, this.identities),
      id: formatUsbId(d.idVendor, d.idProduct),
    };
  }

  #label(device: LibusbDevice): string {
    const d = device.deviceDescriptor;
    return `${formatUsbId(d.idVendor, d.idProduct)} at ${formatBusPath(device)}`;
  }

  /** node-usb's WebUSB device (opened once to read strings and configurations, then closed). */
  #webDevice(device: LibusbDevice): Promise<UsbDeviceLike> {
    let web = this.#web.get(device);
    if (!web) {
      web = (async () => {
        const usb = await this.#libusbModule();
        device.timeout = this.timeoutMs;
        try {
          return await usb.WebUSBDevice.createInstance(device, true);
        } catch (error) {
          // Not cached: permission may be granted, or the driver bound, before the next look.
          this.#web.delete(device);
          throw toTransportError(error, `opening ${this.#label(device)}`, this.#advice(device));
        }
      })();
      this.#web.set(device, web);
    }
    return web;
  }

  async #adapter(device: LibusbDevice): Promise<NodeUsbDevice> {
    const known = this.#adapters.get(device);
    if (known) return known;
    const web = await this.#webDevice(device);
    const again = this.#adapters.get(device);
    if (again) return again;
    const label = this.#label(device);
    const adapter = new NodeUsbDevice(device, web, {
      timeoutMs: this.timeoutMs,
      advice: this.#advice(device),
      label,
      isPresent: () => this.#present(device),
      onKernelDriverDetached: (n) => this.#onKernelDriverDetached?.(label, n),
    });
    this.#adapters.set(device, adapter);
    return adapter;
  }

  #present(device: LibusbDevice): boolean {
    // Only called after a failure, when the module is loaded; a list that throws says nothing.
    const usb = this.#loaded;
    if (!usb) return true;
    return usb.getDeviceList().includes(device);
  }

  /** A device from an earlier listing that is no longer the same object: find it by path and id. */
  async #refind(info: DfuDeviceInfo): Promise<LibusbDevice> {
    const diagnostics: TransportError[] = [];
    const bus = await this.#libusbDevices(diagnostics);
    const device = bus.find(
      (d) =>
        formatBusPath(d) === info.path &&
        d.deviceDescriptor.idVendor === info.vendorId &&
        d.deviceDescriptor.idProduct === info.productId,
    );
    if (device) return device;
    throw (
      diagnostics[0] ??
      new TransportError('DEVICE_GONE', `${info.id} at ${info.path} is no longer on the bus.`, {
        device: info.id,
        advice: 'List the devices again and select it anew, or reconnect it.',
      })
    );
  }

  /** `navigator.usb`'s shape over libusb: DFU-capable devices that can be opened, and hotplug. */
  #usbLike(): UsbLike {
    const listeners = {
      connect: new Map<UsbConnectionListener, LibusbHotplugListener>(),
      disconnect: new Map<UsbConnectionListener, LibusbHotplugListener>(),
    };
    const self = this;
    return {
      async getDevices() {
        const found: UsbDeviceLike[] = [];
        for (const device of await self.#libusbDevices([])) {
          if (!dfuModeOf(device)) continue;
          try {
            found.push(await self.#adapter(device));
          } catch {
            // Not openable (yet): a board's udev permissions can lag its appearance.
          }
        }
        return found;
      },
      addEventListener(type, listener) {
        const hotplug: LibusbHotplugListener =
          type === 'connect'
            ? (device) => {
                if (!dfuModeOf(device)) return;
                self.#adapter(device).then(
                  (adapter) => listener({ device: adapter }),
                  () => {}, // the next poll tries again
                );
              }
            : (device) => {
                const adapter = self.#adapters.get(device);
                if (adapter) listener({ device: adapter });
              };
        listeners[type].set(listener, hotplug);
        void self.#libusbModule().then(
          (usb) => usb.usb.on(type === 'connect' ? 'attach' : 'detach', hotplug),
          () => {}, // no USB: getDevices() reports nothing and the search times out
        );
      },
      removeEventListener(type, listener) {
        const hotplug = listeners[type].get(listener);
        if (!hotplug) return;
        listeners[type].delete(listener);
        void self.#libusbModule().then(
          (usb) => usb.usb.removeListener(type === 'connect' ? 'attach' : 'detach', hotplug),
          () => {},
        );
      },
    };
  }
}

function isInfo(target: DeviceTarget): target is DfuDeviceInfo {
  return typeof (target as DfuDeviceInfo).id === 'string' && 'kind' in target;
}

function comparePaths(a: DfuDeviceInfo, b: DfuDeviceInfo): number {
  if (a.busNumber !== b.busNumber) return a.busNumber - b.busNumber;
  const n = Math.max(a.portNumbers.length, b.portNumbers.length);
  for (let i = 0; i < n; i++) {
    const d = (a.portNumbers[i] ?? -1) - (b.portNumbers[i] ?? -1);
    if (d !== 0) return d;
  }
  return a.deviceAddress - b.deviceAddress;
}

function unavailable(what: string, error: unknown, platform: HostPlatform): TransportError {
  const said = error instanceof Error ? error.message : String(error);
  const advice =
    what.startsWith('loading') && !said.includes('LIBUSB')
      ? "Reinstall the dependencies so the `usb` package's prebuilt binary is in place (pnpm install / npm install); it ships binaries for Linux, Windows and macOS on x64 and arm64."
      : platform === 'linux'
        ? 'This machine shows no USB bus to libusb (no /dev/bus/usb, as in a container without USB passed through): run on the machine the board is plugged into, or pass the bus into the container (docker run --device /dev/bus/usb).'
        : 'libusb could not start on this machine; check that USB is available to this process.';
  return new TransportError('USB_UNAVAILABLE', `USB is not available: ${what} failed: ${said}.`, {
    libusb: undefined,
    advice,
    cause: error,
  });
}
