#!/usr/bin/env bash
# Host unit tests (ctest running the cmocka programs), the example application's USB
# descriptors on the host, the STM32F4 port's watchdog arithmetic and register-level
# drivers on the host, a custom board built from its JSON alone, then the boot tests in QEMU.
# Each leaves a JUnit file in reports/ for the repository's test summary.
set -uo pipefail
cd "$(dirname "$0")/.."
rm -rf reports && mkdir -p reports
status=0

ctest --test-dir build/host --output-on-failure --output-junit "$PWD/reports/ctest.xml" || status=1
node scripts/junit.mjs cmocka reports/ctest.xml > reports/cmocka.xml && rm reports/ctest.xml

bash app/tests/run.sh | tee reports/app-usb.log || status=1
node scripts/junit.mjs lines "application USB descriptors" reports/app-usb.log > reports/app-usb.xml

bash src/port/stm32f4/tests/run.sh | tee reports/port-host.log || status=1
node scripts/junit.mjs lines "STM32F4 port host tests" reports/port-host.log > reports/port-host.xml

bash boards/examples/test.sh | tee reports/custom-board.log || status=1
node scripts/junit.mjs lines "custom board from JSON" reports/custom-board.log > reports/custom-board.xml

bash tests/qemu/run.sh | tee reports/qemu.log || status=1
node scripts/junit.mjs lines "qemu boot tests" reports/qemu.log > reports/qemu.xml

exit $status
