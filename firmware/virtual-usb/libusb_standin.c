/*
 * libusb_standin.c — libusb-1.0 for programs that should talk to the virtual board instead
 * of a USB bus (scripts/with-virtual-usb, docs/virtual-usb.md).
 *
 * It implements the libusb_* functions an ordinary libusb program such as Debian's
 * dfu-util 0.11 imports, with the ABI of the system's <libusb.h>, and forwards each one
 * over a Unix socket to the host that runs the virtual board: the bootloader's own C core,
 * its simulated hardware, clock and application model (@stm32dfu/virtual-board). The
 * program is not rebuilt; the loader finds this library first (LD_LIBRARY_PATH) and
 * nanosleep() from it (LD_PRELOAD), so the program's sleeps advance the board's virtual
 * clock instead of the wall clock.
 *
 * Wire format, both directions: u32 little-endian payload length, then the payload.
 * Request: u8 operation, then its arguments (little-endian). Reply: i32 result (a libusb
 * error code, or a count), then data. The host answers requests one at a time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libusb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

enum {
  OP_LIST = 1,
  OP_OPEN = 2,
  OP_CLOSE = 3,
  OP_CLAIM = 4,
  OP_RELEASE = 5,
  OP_SET_ALT = 6,
  OP_CONTROL = 7,
  OP_RESET = 8,
  OP_SLEEP = 9,
};

#define SOCKET_ENV "STM32DFU_VUSB_SOCKET"
#define MAX_PORTS 7
#define MAX_FRAME (1u << 20)

struct libusb_context {
  int fd;
};

struct libusb_device {
  int refs;
  uint32_t id;
  uint8_t bus, address, port_count;
  uint8_t ports[MAX_PORTS];
  uint8_t device_descriptor[18];
  uint8_t *config;
  uint16_t config_length;
  libusb_context *ctx;
};

struct libusb_device_handle {
  libusb_device *dev;
};

/* The default context (NULL) is the first one initialised, as in libusb. */
static libusb_context *default_ctx;
static libusb_context *last_ctx;

static void complain(const char *what) {
  fprintf(stderr, "libusb (stm32dfu virtual USB): %s\n", what);
}

static libusb_context *ctx_of(libusb_context *ctx) { return ctx != NULL ? ctx : default_ctx; }

/* ---- Framing ---- */

static int write_all(int fd, const void *data, size_t length) {
  const uint8_t *p = data;
  while (length > 0) {
    const ssize_t n = write(fd, p, length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    length -= (size_t)n;
  }
  return 0;
}

static int read_all(int fd, void *data, size_t length) {
  uint8_t *p = data;
  while (length > 0) {
    const ssize_t n = read(fd, p, length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    length -= (size_t)n;
  }
  return 0;
}

static void put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static void put_u32(uint8_t *p, uint32_t v) {
  put_u16(p, (uint16_t)v);
  put_u16(p + 2, (uint16_t)(v >> 16));
}
static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get_u32(const uint8_t *p) { return (uint32_t)get_u16(p) | ((uint32_t)get_u16(p + 2) << 16); }

/* One request and its reply. Returns the reply's result; *reply (malloc'd, may be NULL)
 * gets the data after it. A lost host is LIBUSB_ERROR_NO_DEVICE: the bus is gone. */
static int call(libusb_context *ctx, const uint8_t *request, uint32_t length, uint8_t **reply,
                uint32_t *reply_length) {
  if (reply != NULL) *reply = NULL;
  if (reply_length != NULL) *reply_length = 0;
  ctx = ctx_of(ctx);
  if (ctx == NULL || ctx->fd < 0) return LIBUSB_ERROR_NO_DEVICE;
  uint8_t header[4];
  put_u32(header, length);
  if (write_all(ctx->fd, header, 4) != 0 || write_all(ctx->fd, request, length) != 0 ||
      read_all(ctx->fd, header, 4) != 0) {
    complain("lost the virtual board's host");
    close(ctx->fd);
    ctx->fd = -1;
    return LIBUSB_ERROR_NO_DEVICE;
  }
  const uint32_t n = get_u32(header);
  if (n < 4 || n > MAX_FRAME) {
    complain("malformed reply from the virtual board's host");
    return LIBUSB_ERROR_OTHER;
  }
  uint8_t *frame = malloc(n);
  if (frame == NULL) return LIBUSB_ERROR_NO_MEM;
  if (read_all(ctx->fd, frame, n) != 0) {
    free(frame);
    close(ctx->fd);
    ctx->fd = -1;
    return LIBUSB_ERROR_NO_DEVICE;
  }
  const int result = (int)get_u32(frame);
  if (reply != NULL && n > 4) {
    *reply = malloc(n - 4);
    if (*reply == NULL) {
      free(frame);
      return LIBUSB_ERROR_NO_MEM;
    }
    memcpy(*reply, frame + 4, n - 4);
    if (reply_length != NULL) *reply_length = n - 4;
  }
  free(frame);
  return result;
}

static int call_device(libusb_device *dev, uint8_t op, const uint8_t *args, uint32_t args_length) {
  uint8_t request[16];
  request[0] = op;
  put_u32(request + 1, dev->id);
  memcpy(request + 5, args, args_length);
  return call(dev->ctx, request, 5 + args_length, NULL, NULL);
}

/* ---- Library ---- */

EXPORT int libusb_init(libusb_context **ctx) {
  const char *path = getenv(SOCKET_ENV);
  if (path == NULL || *path == '\0') {
    complain("no virtual board: run this program through scripts/with-virtual-usb <flash-file> -- <command>");
    return LIBUSB_ERROR_OTHER;
  }
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof address.sun_path) {
    complain("the socket path in " SOCKET_ENV " is too long");
    return LIBUSB_ERROR_OTHER;
  }
  strcpy(address.sun_path, path);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
    if (fd >= 0) close(fd);
    complain("cannot reach the virtual board's host (is scripts/with-virtual-usb still running?)");
    return LIBUSB_ERROR_OTHER;
  }
  libusb_context *c = calloc(1, sizeof *c);
  if (c == NULL) {
    close(fd);
    return LIBUSB_ERROR_NO_MEM;
  }
  c->fd = fd;
  if (default_ctx == NULL) default_ctx = c;
  last_ctx = c;
  if (ctx != NULL) *ctx = c;
  return LIBUSB_SUCCESS;
}

EXPORT void libusb_exit(libusb_context *ctx) {
  libusb_context *c = ctx_of(ctx);
  if (c == NULL) return;
  if (c->fd >= 0) close(c->fd);
  if (c == default_ctx) default_ctx = NULL;
  if (c == last_ctx) last_ctx = default_ctx;
  free(c);
}

EXPORT int libusb_set_option(libusb_context *ctx, enum libusb_option option, ...) {
  (void)ctx;
  (void)option;
  return LIBUSB_SUCCESS; /* log levels and the like change nothing here */
}

EXPORT const struct libusb_version *libusb_get_version(void) {
  static const struct libusb_version version = {1, 0, 26, 0, " (stm32dfu virtual USB)", "virtual"};
  return &version;
}

EXPORT const char *libusb_error_name(int code) {
  switch (code) {
    case LIBUSB_SUCCESS: return "LIBUSB_SUCCESS";
    case LIBUSB_ERROR_IO: return "LIBUSB_ERROR_IO";
    case LIBUSB_ERROR_INVALID_PARAM: return "LIBUSB_ERROR_INVALID_PARAM";
    case LIBUSB_ERROR_ACCESS: return "LIBUSB_ERROR_ACCESS";
    case LIBUSB_ERROR_NO_DEVICE: return "LIBUSB_ERROR_NO_DEVICE";
    case LIBUSB_ERROR_NOT_FOUND: return "LIBUSB_ERROR_NOT_FOUND";
    case LIBUSB_ERROR_BUSY: return "LIBUSB_ERROR_BUSY";
    case LIBUSB_ERROR_TIMEOUT: return "LIBUSB_ERROR_TIMEOUT";
    case LIBUSB_ERROR_OVERFLOW: return "LIBUSB_ERROR_OVERFLOW";
    case LIBUSB_ERROR_PIPE: return "LIBUSB_ERROR_PIPE";
    case LIBUSB_ERROR_INTERRUPTED: return "LIBUSB_ERROR_INTERRUPTED";
    case LIBUSB_ERROR_NO_MEM: return "LIBUSB_ERROR_NO_MEM";
    case LIBUSB_ERROR_NOT_SUPPORTED: return "LIBUSB_ERROR_NOT_SUPPORTED";
    case LIBUSB_ERROR_OTHER: return "LIBUSB_ERROR_OTHER";
    default: return "**UNKNOWN**";
  }
}

/* ---- Devices ---- */

EXPORT libusb_device *libusb_ref_device(libusb_device *dev) {
  dev->refs++;
  return dev;
}

EXPORT void libusb_unref_device(libusb_device *dev) {
  if (dev == NULL || --dev->refs > 0) return;
  free(dev->config);
  free(dev);
}

/* The devices on the bus now: a list entry is u32 id, u8 bus, u8 address, u8 port count,
 * the ports, u16 + device descriptor, u16 + configuration descriptor (wTotalLength). */
EXPORT ssize_t libusb_get_device_list(libusb_context *ctx, libusb_device ***list) {
  const uint8_t request[1] = {OP_LIST};
  uint8_t *reply = NULL;
  uint32_t length = 0;
  const int count = call(ctx, request, 1, &reply, &length);
  if (count < 0) {
    free(reply);
    return count;
  }
  libusb_device **devices = calloc((size_t)count + 1u, sizeof *devices);
  if (devices == NULL) {
    free(reply);
    return LIBUSB_ERROR_NO_MEM;
  }
  uint32_t at = 0;
  int made = 0;
  for (int i = 0; i < count; i++) {
    if (at + 7 > length) break;
    libusb_device *dev = calloc(1, sizeof *dev);
    if (dev == NULL) break;
    dev->refs = 1;
    dev->ctx = ctx_of(ctx);
    dev->id = get_u32(reply + at);
    dev->bus = reply[at + 4];
    dev->address = reply[at + 5];
    dev->port_count = reply[at + 6] <= MAX_PORTS ? reply[at + 6] : MAX_PORTS;
    at += 7;
    memcpy(dev->ports, reply + at, dev->port_count);
    at += reply[at - 1];
    const uint16_t device_length = get_u16(reply + at);
    at += 2;
    memcpy(dev->device_descriptor, reply + at, device_length < 18 ? device_length : 18);
    at += device_length;
    dev->config_length = get_u16(reply + at);
    at += 2;
    dev->config = malloc(dev->config_length ? dev->config_length : 1);
    if (dev->config == NULL || at + dev->config_length > length) {
      free(dev->config);
      free(dev);
      break;
    }
    memcpy(dev->config, reply + at, dev->config_length);
    at += dev->config_length;
    devices[made++] = dev;
  }
  free(reply);
  *list = devices;
  return made;
}

EXPORT void libusb_free_device_list(libusb_device **list, int unref_devices) {
  if (list == NULL) return;
  if (unref_devices) {
    for (libusb_device **d = list; *d != NULL; d++) libusb_unref_device(*d);
  }
  free(list);
}

EXPORT uint8_t libusb_get_bus_number(libusb_device *dev) { return dev->bus; }
EXPORT uint8_t libusb_get_device_address(libusb_device *dev) { return dev->address; }

EXPORT int libusb_get_port_numbers(libusb_device *dev, uint8_t *port_numbers, int port_numbers_len) {
  if (port_numbers_len < dev->port_count) return LIBUSB_ERROR_OVERFLOW;
  memcpy(port_numbers, dev->ports, dev->port_count);
  return dev->port_count;
}

EXPORT int libusb_get_device_descriptor(libusb_device *dev, struct libusb_device_descriptor *desc) {
  const uint8_t *d = dev->device_descriptor;
  desc->bLength = d[0];
  desc->bDescriptorType = d[1];
  desc->bcdUSB = get_u16(d + 2);
  desc->bDeviceClass = d[4];
  desc->bDeviceSubClass = d[5];
  desc->bDeviceProtocol = d[6];
  desc->bMaxPacketSize0 = d[7];
  desc->idVendor = get_u16(d + 8);
  desc->idProduct = get_u16(d + 10);
  desc->bcdDevice = get_u16(d + 12);
  desc->iManufacturer = d[14];
  desc->iProduct = d[15];
  desc->iSerialNumber = d[16];
  desc->bNumConfigurations = d[17];
  return LIBUSB_SUCCESS;
}

/* Appends descriptor bytes to an `extra` buffer, as libusb keeps class descriptors. */
static int append_extra(const unsigned char **extra, int *extra_length, const uint8_t *data, int n) {
  unsigned char *grown = realloc((void *)*extra, (size_t)(*extra_length + n));
  if (grown == NULL) return -1;
  memcpy(grown + *extra_length, data, (size_t)n);
  *extra = grown;
  *extra_length += n;
  return 0;
}

/* Parses a configuration descriptor the way libusb does (descriptor.c): interfaces grouped
 * by bInterfaceNumber with their alternate settings in order, and every other descriptor
 * kept in the `extra` bytes of what it follows (the configuration, an alternate setting or
 * an endpoint). */
static int parse_configuration(const uint8_t *raw, uint16_t length, struct libusb_config_descriptor **out) {
  if (length < 9 || raw[1] != LIBUSB_DT_CONFIG) return LIBUSB_ERROR_IO;
  struct libusb_config_descriptor *cfg = calloc(1, sizeof *cfg);
  if (cfg == NULL) return LIBUSB_ERROR_NO_MEM;
  cfg->bLength = raw[0];
  cfg->bDescriptorType = raw[1];
  cfg->wTotalLength = get_u16(raw + 2);
  cfg->bNumInterfaces = raw[4];
  cfg->bConfigurationValue = raw[5];
  cfg->iConfiguration = raw[6];
  cfg->bmAttributes = raw[7];
  cfg->MaxPower = raw[8];
  struct libusb_interface *interfaces = calloc(cfg->bNumInterfaces ? cfg->bNumInterfaces : 1, sizeof *interfaces);
  if (interfaces == NULL) {
    free(cfg);
    return LIBUSB_ERROR_NO_MEM;
  }
  cfg->interface = interfaces;
  struct libusb_interface_descriptor *current = NULL;
  struct libusb_endpoint_descriptor *endpoint = NULL;
  uint8_t endpoints = 0;
  uint16_t at = raw[0];
  while (at + 2u <= length && raw[at] >= 2u && at + raw[at] <= length) {
    const uint8_t *d = raw + at;
    const uint8_t n = d[0];
    at += n;
    if (d[1] == LIBUSB_DT_INTERFACE && n >= 9) {
      if (d[2] >= cfg->bNumInterfaces) continue;
      struct libusb_interface *iface = &interfaces[d[2]];
      struct libusb_interface_descriptor *alts =
          realloc((void *)iface->altsetting, (size_t)(iface->num_altsetting + 1) * sizeof *alts);
      if (alts == NULL) break;
      iface->altsetting = alts;
      current = &alts[iface->num_altsetting++];
      memset(current, 0, sizeof *current);
      current->bLength = n;
      current->bDescriptorType = d[1];
      current->bInterfaceNumber = d[2];
      current->bAlternateSetting = d[3];
      current->bNumEndpoints = d[4];
      current->bInterfaceClass = d[5];
      current->bInterfaceSubClass = d[6];
      current->bInterfaceProtocol = d[7];
      current->iInterface = d[8];
      if (current->bNumEndpoints > 0) {
        current->endpoint = calloc(current->bNumEndpoints, sizeof *current->endpoint);
        if (current->endpoint == NULL) break;
      }
      endpoints = 0;
      endpoint = NULL;
    } else if (d[1] == LIBUSB_DT_ENDPOINT && n >= 7 && current != NULL && endpoints < current->bNumEndpoints) {
      endpoint = (struct libusb_endpoint_descriptor *)&current->endpoint[endpoints++];
      endpoint->bLength = n;
      endpoint->bDescriptorType = d[1];
      endpoint->bEndpointAddress = d[2];
      endpoint->bmAttributes = d[3];
      endpoint->wMaxPacketSize = get_u16(d + 4);
      endpoint->bInterval = d[6];
    } else if (endpoint != NULL) {
      if (append_extra(&endpoint->extra, &endpoint->extra_length, d, n) != 0) break;
    } else if (current != NULL) {
      if (append_extra(&current->extra, &current->extra_length, d, n) != 0) break;
    } else {
      if (append_extra(&cfg->extra, &cfg->extra_length, d, n) != 0) break;
    }
  }
  *out = cfg;
  return LIBUSB_SUCCESS;
}

EXPORT void libusb_free_config_descriptor(struct libusb_config_descriptor *config) {
  if (config == NULL) return;
  for (uint8_t i = 0; i < config->bNumInterfaces; i++) {
    const struct libusb_interface *iface = &config->interface[i];
    for (int a = 0; a < iface->num_altsetting; a++) {
      const struct libusb_interface_descriptor *alt = &iface->altsetting[a];
      for (uint8_t e = 0; e < alt->bNumEndpoints && alt->endpoint != NULL; e++) free((void *)alt->endpoint[e].extra);
      free((void *)alt->endpoint);
      free((void *)alt->extra);
    }
    free((void *)iface->altsetting);
  }
  free((void *)config->interface);
  free((void *)config->extra);
  free(config);
}

EXPORT int libusb_get_config_descriptor(libusb_device *dev, uint8_t config_index,
                                        struct libusb_config_descriptor **config) {
  if (config_index != 0 || dev->config_length == 0) return LIBUSB_ERROR_NOT_FOUND;
  return parse_configuration(dev->config, dev->config_length, config);
}

EXPORT int libusb_get_active_config_descriptor(libusb_device *dev, struct libusb_config_descriptor **config) {
  return libusb_get_config_descriptor(dev, 0, config);
}

/* ---- Handles ---- */

EXPORT int libusb_open(libusb_device *dev, libusb_device_handle **handle) {
  const int result = call_device(dev, OP_OPEN, NULL, 0);
  if (result < 0) return result;
  libusb_device_handle *h = calloc(1, sizeof *h);
  if (h == NULL) return LIBUSB_ERROR_NO_MEM;
  h->dev = libusb_ref_device(dev);
  *handle = h;
  return LIBUSB_SUCCESS;
}

EXPORT void libusb_close(libusb_device_handle *handle) {
  if (handle == NULL) return;
  (void)call_device(handle->dev, OP_CLOSE, NULL, 0);
  libusb_unref_device(handle->dev);
  free(handle);
}

EXPORT libusb_device *libusb_get_device(libusb_device_handle *handle) { return handle->dev; }

EXPORT int libusb_claim_interface(libusb_device_handle *handle, int interface_number) {
  const uint8_t args[1] = {(uint8_t)interface_number};
  return call_device(handle->dev, OP_CLAIM, args, 1);
}

EXPORT int libusb_release_interface(libusb_device_handle *handle, int interface_number) {
  const uint8_t args[1] = {(uint8_t)interface_number};
  return call_device(handle->dev, OP_RELEASE, args, 1);
}

EXPORT int libusb_set_interface_alt_setting(libusb_device_handle *handle, int interface_number,
                                            int alternate_setting) {
  const uint8_t args[2] = {(uint8_t)interface_number, (uint8_t)alternate_setting};
  return call_device(handle->dev, OP_SET_ALT, args, 2);
}

EXPORT int libusb_reset_device(libusb_device_handle *handle) { return call_device(handle->dev, OP_RESET, NULL, 0); }

EXPORT int libusb_control_transfer(libusb_device_handle *handle, uint8_t request_type, uint8_t bRequest,
                                   uint16_t wValue, uint16_t wIndex, unsigned char *data, uint16_t wLength,
                                   unsigned int timeout) {
  const int out = (request_type & LIBUSB_ENDPOINT_IN) == 0;
  const uint32_t length = 17u + (out ? wLength : 0u);
  uint8_t *request = malloc(length);
  if (request == NULL) return LIBUSB_ERROR_NO_MEM;
  request[0] = OP_CONTROL;
  put_u32(request + 1, handle->dev->id);
  request[5] = request_type;
  request[6] = bRequest;
  put_u16(request + 7, wValue);
  put_u16(request + 9, wIndex);
  put_u16(request + 11, wLength);
  put_u32(request + 13, timeout);
  if (out && wLength > 0) memcpy(request + 17, data, wLength);
  uint8_t *reply = NULL;
  uint32_t reply_length = 0;
  int result = call(handle->dev->ctx, request, length, &reply, &reply_length);
  free(request);
  if (result >= 0 && !out) {
    if (reply_length > wLength) reply_length = wLength;
    memcpy(data, reply, reply_length);
    result = (int)reply_length;
  }
  free(reply);
  return result;
}

/* ---- Time: the program's sleeps are the board's ---- */

/* While a program talks to the virtual board, its sleeps advance the board's clock at once
 * (the board runs its main loop meanwhile); otherwise they are real ones. */
EXPORT int nanosleep(const struct timespec *request, struct timespec *remaining) {
  if (last_ctx == NULL || last_ctx->fd < 0) return (int)syscall(SYS_nanosleep, request, remaining);
  if (request == NULL || request->tv_nsec < 0 || request->tv_nsec >= 1000000000L || request->tv_sec < 0) {
    errno = EINVAL;
    return -1;
  }
  uint8_t message[9];
  const uint64_t ns = (uint64_t)request->tv_sec * 1000000000ull + (uint64_t)request->tv_nsec;
  message[0] = OP_SLEEP;
  put_u32(message + 1, (uint32_t)ns);
  put_u32(message + 5, (uint32_t)(ns >> 32));
  (void)call(last_ctx, message, sizeof message, NULL, NULL);
  if (remaining != NULL) remaining->tv_sec = remaining->tv_nsec = 0;
  return 0;
}

EXPORT int usleep(useconds_t usec) {
  const struct timespec t = {(time_t)(usec / 1000000u), (long)(usec % 1000000u) * 1000L};
  return nanosleep(&t, NULL);
}
