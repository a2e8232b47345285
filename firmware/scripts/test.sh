#!/usr/bin/env bash
# Host unit tests (ctest), then the boot tests in QEMU when they exist.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p reports
ctest --test-dir build/host --output-on-failure --output-junit "$PWD/reports/ctest.xml"
if [ -f tests/qemu/run.sh ]; then
  bash tests/qemu/run.sh
fi
