export {
  accessAdvice,
  type BrowserFamily,
  busyAdvice,
  type HostOs,
  type MapContext,
  toWebUsbError,
  WEBUSB_BROWSERS,
  WebUsbError,
  type WebUsbErrorCode,
  type WebUsbErrorDetail,
} from './errors.js';
export { type BrowserEnvironment, hostOsOf, webUsbProblem } from './support.js';
export {
  type BoardSummary,
  dfuFilters,
  type FindAgainOptions,
  formatUsbId,
  type ProductIds,
  ST_ROM_PRODUCT_ID,
  ST_ROM_VENDOR_ID,
  STM32DFU_PRODUCT_ID,
  STM32DFU_VENDOR_ID,
  summarize,
  type UsbDeviceFilterLike,
  type WebUsbLike,
  WebUsbTransport,
  type WebUsbTransportOptions,
} from './transport.js';
