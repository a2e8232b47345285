// The WebUSB shapes of architecture contract 2, shared with @stm32dfu/protocol.
export type {
  Clock,
  UsbAlternateLike,
  UsbConfigurationLike,
  UsbConnectionEventLike,
  UsbConnectionListener,
  UsbControlSetup,
  UsbDeviceLike,
  UsbEndpointLike,
  UsbInTransferResult,
  UsbInterfaceLike,
  UsbLike,
  UsbOutTransferResult,
  UsbRecipient,
  UsbRequestType,
  UsbTransferStatus,
} from '@stm32dfu/usb-device';
