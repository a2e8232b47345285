#!/usr/bin/env bash
# Host tests of the example application's USB device: app/usb_runtime.c built for the host
# as it is, checked against the USB, WebUSB and MS OS 2.0 specs and against what the
# bootloader core (src/core on the simulated HAL) answers to the same requests.
# One PASS/FAIL line per test, then "N passed, N failed"; exit status 1 if any failed.
#
#   bash app/tests/run.sh [board]     (default: blackpill-f411; CC picks the host compiler)
set -uo pipefail
cd "$(dirname "$0")/../.."

board="${1:-blackpill-f411}"
generated="build/generated/$board"
work="build/app-tests"
cc="${CC:-cc}"
flags=(-std=c11 -Wall -Wextra -Werror -O1 -g)
# The sanitizers catch an out-of-bounds descriptor read that a plain run would miss; used
# when the compiler has their runtime (gcc does; clang needs libclang-rt).
sanitizers=(-fsanitize=address,undefined -fno-sanitize-recover=all)

give_up() {
  echo "FAIL application USB tests: $1"
  echo "0 passed, 1 failed"
  exit 1
}

command -v "$cc" >/dev/null || give_up "no host C compiler ($cc); install gcc or set CC"
[ -f "$generated/stm32dfu_layout.h" ] ||
  give_up "$generated/stm32dfu_layout.h is missing; build the firmware first (bash scripts/build.sh)"
mkdir -p "$work"
if printf 'int main(void) { return 0; }\n' | "$cc" "${sanitizers[@]}" -x c - -o "$work/probe" 2>/dev/null; then
  flags+=("${sanitizers[@]}")
else
  echo "note: $cc cannot link the address/undefined sanitizers; testing without them" >&2
fi

if ! "$cc" "${flags[@]}" -I src/core -I src/port/sim -I src/port/stm32f4 -I "$generated" -I app/tests \
  src/core/*.c src/port/sim/sim_hal.c src/port/stm32f4/crc_unit.c app/tests/core_descriptors.c \
  -o "$work/core_descriptors" 2>"$work/core_descriptors.log"; then
  give_up "could not build the bootloader dump:
$(sed 's/^/  /' "$work/core_descriptors.log")"
fi
if ! "$cc" "${flags[@]}" -I app -I src/core -I "$generated" -I app/tests \
  app/usb_runtime.c app/tests/test_usb_runtime.c app/tests/recording_hal.c \
  -o "$work/test_usb_runtime" 2>"$work/test_usb_runtime.log"; then
  give_up "could not build app/usb_runtime.c for the host:
$(sed 's/^/  /' "$work/test_usb_runtime.log")"
fi
if ! "$work/core_descriptors" >"$work/core-descriptors.txt" 2>"$work/core_descriptors.err"; then
  give_up "the bootloader dump failed: $(cat "$work/core_descriptors.err")"
fi
"$work/test_usb_runtime" "$work/core-descriptors.txt"
