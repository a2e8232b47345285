#!/usr/bin/env bash
# Host tests of the STM32F4 port:
#  - the watchdog arithmetic and start-up sequence (iwdg_plan.c, built as it is);
#  - the register-level drivers (flash.c, otp.c, option_bytes.c, otg_fs.c, start_state.c) built for the host as they are, with
#    tests/host_regs.h force-included: it points stm32f4_regs.h's register blocks at RAM
#    stand-ins (the chip build keeps the manual's addresses), and the tests model the few
#    hardware behaviours they need (self-clearing bits) from the port's watchdog_refresh().
#    They use the Black Pill's generated layout, so the firmware must be built first.
# One PASS/FAIL line per test, then "N passed, N failed" per program; exit status 1 if any
# failed.
#
#   bash src/port/stm32f4/tests/run.sh     (CC picks the host compiler)
set -uo pipefail
cd "$(dirname "$0")/../../../.."

board=blackpill-f411
generated="build/generated/$board"
work="build/port-tests"
cc="${CC:-cc}"
flags=(-std=c11 -Wall -Wextra -Werror -O1 -g)
# As in app/tests/run.sh: the sanitizers catch an overflow in the arithmetic that a plain
# run would not, when the compiler has their runtime.
sanitizers=(-fsanitize=address,undefined -fno-sanitize-recover=all)
port=src/port/stm32f4
tests="$port/tests"
drivers=(-include "$tests/host_regs.h" -I "$port" -I "$tests" -I "boards/$board" -I "$generated" -I src/core)
status=0

give_up() {
  echo "FAIL port host tests: $1"
  echo "0 passed, 1 failed"
  exit 1
}

# build <program> <cc arguments...>: a FAIL line and a failed status if it does not build.
build() {
  local name="$1"
  shift
  if ! "$cc" "${flags[@]}" "$@" -o "$work/$name" 2>"$work/$name.log"; then
    echo "FAIL $name builds for the host:"
    sed 's/^/  /' "$work/$name.log"
    status=1
    return 1
  fi
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

if build test_iwdg_plan -I "$port" -I src/core "$port/iwdg_plan.c" "$tests/test_iwdg_plan.c"; then
  "$work/test_iwdg_plan" || status=1
fi

if build test_flash -D_GNU_SOURCE "${drivers[@]}" "$port/flash.c" "$tests/host_regs.c" "$tests/test_flash.c"; then
  "$work/test_flash" || status=1
fi
if build test_flash_self_update -D_GNU_SOURCE -DPORT_FLASH_SELF_UPDATE=1 "${drivers[@]}" \
  "$port/flash.c" "$tests/host_regs.c" "$tests/test_flash.c"; then
  "$work/test_flash_self_update" || status=1
fi

if build test_otp -D_GNU_SOURCE "${drivers[@]}" "$port/flash.c" "$port/otp.c" "$tests/host_regs.c" "$tests/test_otp.c"; then
  "$work/test_otp" || status=1
fi

if build test_option_bytes "${drivers[@]}" "$port/flash.c" "$port/option_bytes.c" "$tests/host_regs.c" \
  "$tests/test_option_bytes.c"; then
  "$work/test_option_bytes" || status=1
fi

if build test_otg_fs "${drivers[@]}" "$port/otg_fs.c" "$tests/host_regs.c" "$tests/test_otg_fs.c"; then
  "$work/test_otg_fs" || status=1
fi

if build test_start_state "${drivers[@]}" "$port/start_state.c" "$tests/host_regs.c" "$tests/test_start_state.c"; then
  "$work/test_start_state" || status=1
fi

# The check must run first at start-up: before the reset handler sets VTOR and calls main,
# which calls boot_decide (that reads and clears the boot-request word). The reset handler's
# first call in the bootloader image is start_state_reset_if_foreign, main comes later.
elf="build/$board/src/port/stm32f4/bootloader.elf"
objdump="${OBJDUMP:-arm-none-eabi-objdump}"
if [ ! -f "$elf" ] || ! command -v "$objdump" >/dev/null; then
  echo "FAIL start state: the bootloader's reset path calls the check first ($elf or $objdump missing)"
  status=1
else
  calls=$("$objdump" -d --no-show-raw-insn "$elf" |
    awk '/^[0-9a-f]+ <port_reset>:/ { inside = 1; next } inside && /^$/ { exit } inside' |
    grep -oE '\<bl\>[[:space:]]+[0-9a-f]+ <[^>]+>' | sed -E 's/.*<([^>]+)>/\1/')
  first=$(printf '%s\n' "$calls" | head -n 1)
  if [ "$first" = start_state_reset_if_foreign ] && printf '%s\n' "$calls" | grep -qx main; then
    echo "PASS start state: the bootloader's reset handler calls the check first, before VTOR and main (boot_decide)"
  else
    echo "FAIL start state: the bootloader's reset handler calls the check first, before VTOR and main (boot_decide)"
    echo "  calls in port_reset: $(printf '%s ' $calls)"
    status=1
  fi
fi

exit $status
