#!/usr/bin/env bash
# The cost of checking a signed application image (docs/signature-cost.md): SHA-256 of a
# 100 kB and a 480 kB image, one Ed25519 verification and the whole sig_check_image, counted
# as Cortex-M4 instructions in QEMU (-icount shift=0) and as host instructions under
# callgrind, then converted to time at 16 MHz and 96 MHz. Prints a table; asserts nothing
# about the numbers (it fails only if a tool is missing or an image does not check as valid).
#
#   bash bench/signature/run.sh [out dir]      (default: build/bench-signature)
#   pnpm --filter @stm32dfu/firmware bench:signature
set -euo pipefail
cd "$(dirname "$0")/../.."
here=bench/signature
out="${1:-build/bench-signature}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

for tool in node cmake arm-none-eabi-gcc qemu-system-arm valgrind callgrind_annotate timeout; do
  if ! command -v "$tool" >/dev/null; then
    echo "bench:signature: $tool not found" >&2
    exit 1
  fi
done

node "$here/make-images.mjs" --out "$out"

cmake --no-warn-unused-cli -S "$here" -B "$out/arm" -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/arm-none-eabi.cmake" \
  -DCMAKE_BUILD_TYPE=MinSizeRel -DBENCH_PARAMS_DIR="$out" >"$out/cmake-arm.log"
cmake --build "$out/arm" >>"$out/cmake-arm.log"
cmake -S "$here" -B "$out/host" -DCMAKE_BUILD_TYPE=MinSizeRel -DBENCH_PARAMS_DIR="$out" >"$out/cmake-host.log"
cmake --build "$out/host" >>"$out/cmake-host.log"

params="$out/bench_params.h"
base_of() { awk -v k="BENCH_$1_BASE" '$2 == k { print $3 }' "$params" | tr -d u; }

# The Cortex-M4 build in QEMU: one guest instruction = 1 ns of virtual time (-icount shift=0).
# The whole run is under 1 s; the timeout only bounds a hung emulator.
timeout 60 qemu-system-arm -M netduinoplus2 -nographic -monitor none -serial null -icount shift=0 \
  -semihosting-config enable=on,target=native -kernel "$out/arm/bench_arm.elf" \
  -device "loader,file=$out/large.bin,addr=$(base_of LARGE)" \
  -device "loader,file=$out/small.bin,addr=$(base_of SMALL)" </dev/null >"$out/qemu.log" 2>&1 || {
  echo "bench:signature: QEMU run failed (exit $?):" >&2
  sed 's/^/  /' "$out/qemu.log" >&2
  exit 1
}

# The instruction mix, for cycles per instruction: the same program with arg=mix (one SHA-256
# of 100 kB, one Ed25519 verification) with QEMU logging every translated and executed block
# (about 20 s and 300 MB of log, deleted after reading).
trace="$out/mix-trace.log"
timeout 300 qemu-system-arm -M netduinoplus2 -nographic -monitor none -serial null \
  -d in_asm,exec,nochain -D "$trace" \
  -semihosting-config enable=on,target=native,arg=mix -kernel "$out/arm/bench_arm.elf" \
  -device "loader,file=$out/small.bin,addr=$(base_of SMALL)" </dev/null >"$out/mix-run.log" 2>&1 || {
  echo "bench:signature: QEMU mix run failed:" >&2
  cat "$out/mix-run.log" >&2
  exit 1
}
node "$here/mix.mjs" "$trace" >"$out/mix.json"
rm -f "$trace"

# The host build under callgrind: inclusive instruction counts (Ir) of each phase function.
valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
  "$out/host/bench_host" "$out/small.bin" "$out/large.bin" >"$out/host.log" 2>"$out/valgrind.log" || {
  echo "bench:signature: host run failed:" >&2
  cat "$out/host.log" "$out/valgrind.log" >&2
  exit 1
}
callgrind_annotate --inclusive=yes --threshold=100 "$out/callgrind.out" >"$out/callgrind.txt" 2>/dev/null

node "$here/report.mjs" --qemu "$out/qemu.log" --mix "$out/mix.json" --callgrind "$out/callgrind.txt" --params "$params"
