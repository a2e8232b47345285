#!/usr/bin/env bash
# Build everything firmware: layout codegen, host core + unit tests, the chips' images.
#
#   bash scripts/build.sh                                  built-in boards and host tests
#   STM32DFU_BOARD_FILE=my-board.json bash scripts/build.sh
#       only the bootloader and example app for a custom STM32F4 board described in JSON
#       (see docs/hardware.md, "Your own board"), into build/<board id>/
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

arm_build() {
  local board="$1" board_file="${2:-}"
  cmake --no-warn-unused-cli -S . -B "build/$board" -DSTM32DFU_TARGET=arm -DSTM32DFU_BOARD="$board" \
    -DSTM32DFU_BOARD_FILE="$board_file" \
    -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake -DCMAKE_BUILD_TYPE=MinSizeRel >/dev/null
  cmake --build "build/$board" -j"$jobs"
}

if [ -n "${STM32DFU_BOARD_FILE:-}" ]; then
  board_file="$(cd "$(dirname "$STM32DFU_BOARD_FILE")" && pwd)/$(basename "$STM32DFU_BOARD_FILE")"
  # codegen checks the JSON and plans the clock tree; a refusal names the file and exits 1.
  node ../packages/layout/dist/cli.js codegen --out build/generated --board-file "$board_file"
  board=$(node --input-type=module -e '
    import { readFileSync } from "node:fs";
    import { parseBoardJson } from "../packages/layout/dist/index.js";
    console.log(parseBoardJson(readFileSync(process.argv[1], "utf8"), process.argv[1]).id);
  ' "$board_file")
  arm_build "$board" "$board_file"
  exit 0
fi

node ../packages/layout/dist/cli.js codegen --out build/generated

cmake -S . -B build/host -DSTM32DFU_TARGET=host -DSTM32DFU_BOARD=blackpill-f411 >/dev/null
cmake --build build/host -j"$jobs"

if [ -f cmake/arm-none-eabi.cmake ]; then
  for board in blackpill-f411 netduinoplus2; do
    arm_build "$board"
  done
fi
