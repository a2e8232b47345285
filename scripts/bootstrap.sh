#!/usr/bin/env bash
# Install what the README's commands need, idempotently and quickly when already done:
# pnpm, the Debian packages the build and tests use, and the workspace's node modules.
#   scripts/bootstrap.sh demo   — what the demo needs
#   scripts/bootstrap.sh test   — what every test needs
set -euo pipefail
profile=${1:-test}
cd "$(dirname "$0")/.."

# Run as root, through sudo when we are not root.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else return 1
  fi
}

# --- pnpm 10 ---------------------------------------------------------------------------
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null | cut -d. -f1)" != 10 ]; then
  echo "bootstrap: installing pnpm 10 (npm install -g pnpm@10)"
  npm install -g pnpm@10.34.9 >/dev/null 2>&1 || as_root npm install -g pnpm@10.34.9 >/dev/null || {
    echo "bootstrap: could not install pnpm 10. Run: npm install -g pnpm@10" >&2
    exit 1
  }
fi

# --- Debian packages ---------------------------------------------------------------------
# demo: the example application (arm gcc, cmake) and the virtual board's wasm core
# (clang/lld); the firmware build also makes the host tests (cmocka) and the libusb stand-in.
demo_packages=(clang-14 lld-14 gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi
  cmake make gcc libcmocka-dev libusb-1.0-0-dev)
# test: the firmware (arm gcc, cmake, cmocka), the virtual board's wasm core (clang/lld),
# QEMU boot tests, the unmodified dfu-util and libusb.h for the libusb stand-in, independent
# image tools for cross-checks, Chromium for browser tests, and socat for the pseudo-terminal
# pair that stands in for a serial relay board.
test_packages=(clang-14 lld-14 gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi
  cmake make gcc libcmocka-dev libusb-1.0-0-dev qemu-system-arm dfu-util srecord chromium socat)
case "$profile" in
  demo) wanted=("${demo_packages[@]}") ;;
  test) wanted=("${test_packages[@]}") ;;
  *) echo "bootstrap: unknown profile '$profile' (demo or test)" >&2; exit 2 ;;
esac

missing=()
for pkg in "${wanted[@]+"${wanted[@]}"}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: missing Debian packages: ${missing[*]} — this needs a Debian/Ubuntu machine (apt-get)." >&2
    exit 1
  fi
  echo "bootstrap: installing ${missing[*]}"
  if ! { as_root apt-get update -q >/dev/null &&
         as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }; then
    echo "bootstrap: could not install ${missing[*]}. Install them as root:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

# --- node modules ------------------------------------------------------------------------
# Browser tests use Debian's Chromium; no package may download a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
pnpm install --frozen-lockfile --reporter=silent
