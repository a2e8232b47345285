#!/usr/bin/env bash
# Host tests of the STM32F4 port's watchdog arithmetic and start-up sequence
# (src/port/stm32f4/iwdg_plan.c, built for the host as it is).
# One PASS/FAIL line per test, then "N passed, N failed"; exit status 1 if any failed.
#
#   bash src/port/stm32f4/tests/run.sh     (CC picks the host compiler)
set -uo pipefail
cd "$(dirname "$0")/../../../.."

work="build/port-tests"
cc="${CC:-cc}"
flags=(-std=c11 -Wall -Wextra -Werror -O1 -g)
# As in app/tests/run.sh: the sanitizers catch an overflow in the arithmetic that a plain
# run would not, when the compiler has their runtime.
sanitizers=(-fsanitize=address,undefined -fno-sanitize-recover=all)

give_up() {
  echo "FAIL port watchdog tests: $1"
  echo "0 passed, 1 failed"
  exit 1
}

command -v "$cc" >/dev/null || give_up "no host C compiler ($cc); install gcc or set CC"
mkdir -p "$work"
if printf 'int main(void) { return 0; }\n' | "$cc" "${sanitizers[@]}" -x c - -o "$work/probe" 2>/dev/null; then
  flags+=("${sanitizers[@]}")
else
  echo "note: $cc cannot link the address/undefined sanitizers; testing without them" >&2
fi

if ! "$cc" "${flags[@]}" -I src/port/stm32f4 \
  src/port/stm32f4/iwdg_plan.c src/port/stm32f4/tests/test_iwdg_plan.c \
  -o "$work/test_iwdg_plan" 2>"$work/test_iwdg_plan.log"; then
  give_up "could not build src/port/stm32f4/iwdg_plan.c for the host:
$(sed 's/^/  /' "$work/test_iwdg_plan.log")"
fi
"$work/test_iwdg_plan"
