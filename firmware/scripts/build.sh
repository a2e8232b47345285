#!/usr/bin/env bash
# Build everything firmware: layout codegen, host core + unit tests, the chips' images.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

node ../packages/layout/dist/cli.js codegen --out build/generated

cmake -S . -B build/host -DSTM32DFU_TARGET=host -DSTM32DFU_BOARD=blackpill-f411 >/dev/null
cmake --build build/host -j"$jobs"

if [ -f cmake/arm-none-eabi.cmake ]; then
  for board in blackpill-f411 netduinoplus2; do
    cmake --no-warn-unused-cli -S . -B "build/$board" -DSTM32DFU_TARGET=arm -DSTM32DFU_BOARD="$board" \
      -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake -DCMAKE_BUILD_TYPE=MinSizeRel >/dev/null
    cmake --build "build/$board" -j"$jobs"
  done
fi
