#!/usr/bin/env bash
# Boot tests in QEMU's netduinoplus2 (STM32F405): the bootloader's startup, boot decision,
# jump and boot-request handoff, with the real bootloader and example application images;
# first, the stamped application files against objcopy and srec_cat. Last, a board that
# checks signatures at every boot (tests/qemu/signed-f405-testkey.json, the TEST key), built
# from its JSON: a signed app boots, an unsigned one and one with a changed signature stay.
# One PASS/FAIL line per test, then "N passed, N failed"; exit status 1 if any failed.
#
#   bash tests/qemu/run.sh [build dir]     (default: build/netduinoplus2)
set -uo pipefail
cd "$(dirname "$0")/../.."

board=netduinoplus2
build="${1:-build/$board}"
bootloader="$build/src/port/stm32f4/bootloader.elf"
app="$build/app/app.bin"
app_base=0x08008000
work="$build/qemu-tests"
per_test_timeout="${QEMU_TEST_TIMEOUT:-20}"

for tool in qemu-system-arm timeout node arm-none-eabi-objcopy srec_cat; do
  if ! command -v "$tool" >/dev/null; then
    echo "FAIL qemu boot tests: $tool not found (the repository's bootstrap installs it)"
    echo "0 passed, 1 failed"
    exit 1
  fi
done
for file in "$bootloader" "$app"; do
  if [ ! -f "$file" ]; then
    echo "FAIL qemu boot tests: $file is missing; build the firmware first (bash scripts/build.sh)"
    echo "0 passed, 1 failed"
    exit 1
  fi
done

mkdir -p "$work"
if ! node tests/qemu/make-images.mjs --board "$board" --app "$app" --out "$work" >"$work/make-images.log" 2>&1; then
  echo "FAIL qemu boot tests: could not make the test images:"
  sed 's/^/  /' "$work/make-images.log"
  echo "0 passed, 1 failed"
  exit 1
fi

passed=0
failed=0

# run_qemu <name> <semihosting args> [app image]: output in $work/<name>.log, status in $status.
run_qemu() {
  local name="$1" args="$2" image="${3:-}"
  local semihosting="enable=on,target=native"
  [ -n "$args" ] && semihosting="$semihosting,$args"
  local loader=()
  [ -n "$image" ] && loader=(-device "loader,file=$image,addr=$app_base")
  timeout "$per_test_timeout" qemu-system-arm -M "$board" -nographic -monitor none -serial stdio \
    -semihosting-config "$semihosting" -kernel "$bootloader" "${loader[@]}" \
    </dev/null >"$work/$name.log" 2>&1
  status=$?
}

# check <name> <description> <expected exit status> then lines: "+text" must appear in the
# output, "-text" must not.
check() {
  local name="$1" description="$2" expected_status="$3"
  shift 3
  local problems=()
  if [ "$status" -eq 124 ]; then
    problems+=("timed out after ${per_test_timeout}s")
  elif [ "$status" -ne "$expected_status" ]; then
    problems+=("qemu exited with $status, expected $expected_status")
  fi
  for expectation in "$@"; do
    local text="${expectation:1}"
    if [ "${expectation:0:1}" = "+" ] && ! grep -qF -- "$text" "$work/$name.log"; then
      problems+=("missing: $text")
    elif [ "${expectation:0:1}" = "-" ] && grep -qF -- "$text" "$work/$name.log"; then
      problems+=("unexpected: $text")
    fi
  done
  if [ "${#problems[@]}" -eq 0 ]; then
    echo "PASS $description"
    passed=$((passed + 1))
  else
    echo "FAIL $description"
    printf '  %s\n' "${problems[@]}"
    echo "  output ($work/$name.log):"
    sed 's/^/  | /' "$work/$name.log"
    failed=$((failed + 1))
  fi
}

# The stamped artefacts against the reference tools: app.bin is objcopy's binary of app.elf
# except the 16 stamp bytes at 0x1C-0x2B, and srec_cat reads app.hex back to app.bin.
image_problems=()
if ! arm-none-eabi-objcopy -O binary "$build/app/app.elf" "$work/app.objcopy.bin" 2>"$work/objcopy.log"; then
  image_problems+=("arm-none-eabi-objcopy failed: $(cat "$work/objcopy.log")")
elif [ "$(stat -c %s "$work/app.objcopy.bin")" -ne "$(stat -c %s "$app")" ]; then
  image_problems+=("app.bin is $(stat -c %s "$app") bytes, objcopy's binary $(stat -c %s "$work/app.objcopy.bin")")
else
  differing=$(cmp -l "$work/app.objcopy.bin" "$app" | awk '$1 < 29 || $1 > 44 { print $1 - 1 }' | head -5)
  [ -n "$differing" ] && image_problems+=("app.bin differs from objcopy's binary outside the stamp at offsets: $differing")
  stamp_bytes=$(cmp -l "$work/app.objcopy.bin" "$app" | wc -l)
  [ "$stamp_bytes" -eq 0 ] && image_problems+=("app.bin carries no stamp (identical to objcopy's binary)")
fi
if ! srec_cat "$build/app/app.hex" -intel -offset -$app_base -o "$work/app.from-hex.bin" -binary 2>"$work/srec.log"; then
  image_problems+=("srec_cat could not read app.hex: $(cat "$work/srec.log")")
elif ! cmp -s "$work/app.from-hex.bin" "$app"; then
  image_problems+=("app.hex (read by srec_cat) differs from app.bin")
fi
if [ "${#image_problems[@]}" -eq 0 ]; then
  echo "PASS stamped app.bin and app.hex agree with objcopy and srec_cat outside the stamp"
  passed=$((passed + 1))
else
  echo "FAIL stamped app.bin and app.hex agree with objcopy and srec_cat outside the stamp"
  printf '  %s\n' "${image_problems[@]}"
  failed=$((failed + 1))
fi

run_qemu no-app "" "$work/erased.bin"
check no-app "no application: the bootloader stays" 0 \
  "+stay: no application (first word erased)" \
  "+dfu mode" \
  "-jump to" \
  "-stm32dfu example app"

run_qemu valid-app "" "$app"
check valid-app "valid stamped application (stamp CRC in software: QEMU has no CRC unit): jump, banner, VTOR, MSP and SysTick in the app" 0 \
  "+crc: software" \
  "+jump: application valid" \
  "+stm32dfu example app v" \
  "+ok   vtor 0x08008000" \
  "+ok   msp  0x20020000" \
  "+ok   systick ticks" \
  "+app: hand-over checks passed" \
  "-FAIL"

run_qemu bad-crc "" "$work/app-bad-crc.bin"
check bad-crc "application with a bad CRC: the bootloader stays" 0 \
  "+stay: application stamp invalid" \
  "-jump to" \
  "-stm32dfu example app"

run_qemu boot-request "arg=app,arg=detach" "$app"
check boot-request "application writes the boot-request word and resets: the bootloader stays and clears it" 0 \
  "+stm32dfu example app v" \
  "+detach: boot-request word written, resetting" \
  "+stay: the application asked for DFU mode (boot-request word)" \
  "+boot-request word after decision: 0x00000000 0x00000000"

run_qemu bad-vectors "" "$work/app-bad-vectors.bin"
check bad-vectors "vector table pointing outside the application region: the bootloader stays" 0 \
  "+stay: application vector table points outside SRAM or its region" \
  "-jump to" \
  "-stm32dfu example app"

# ---- Verify at boot: the signed QEMU board, built here from its JSON ----
signed_board=signed-qemu-f405
signed_build="build/$signed_board"
signed_work="$signed_build/qemu-tests"
mkdir -p "$signed_build"
if ! STM32DFU_BOARD_FILE=tests/qemu/signed-f405-testkey.json bash scripts/build.sh >"$signed_build-qemu-build.log" 2>&1; then
  echo "FAIL signed board: build from tests/qemu/signed-f405-testkey.json (see firmware/$signed_build-qemu-build.log)"
  failed=$((failed + 1))
elif ! mkdir -p "$signed_work" || ! node tests/qemu/sign-images.mjs --header "build/generated/$signed_board/stm32dfu_layout.h" \
  --app "$signed_build/app/app.bin" --out "$signed_work" >"$signed_work/sign-images.log" 2>&1; then
  echo "FAIL signed board: could not sign the test images:"
  sed 's/^/  /' "$signed_work/sign-images.log"
  failed=$((failed + 1))
else
  bootloader="$signed_build/src/port/stm32f4/bootloader.elf"
  work="$signed_work"
  run_qemu signed "" "$work/app-signed.bin"
  check signed "verify at boot: an app signed with the board's key boots (signature and counter checked)" 0 \
    "+jump: application valid" \
    "+stm32dfu example app v" \
    "+app: hand-over checks passed" \
    "-stay:"
  run_qemu unsigned "" "$work/app-unsigned.bin"
  check unsigned "verify at boot: a correctly stamped but unsigned app stays in the bootloader" 0 \
    "+stay: application signature invalid" \
    "-jump to" \
    "-stm32dfu example app"
  run_qemu signature-flipped "" "$work/app-signature-flipped.bin"
  check signature-flipped "verify at boot: an app whose signature has one bit changed stays in the bootloader" 0 \
    "+stay: application signature invalid" \
    "-jump to" \
    "-stm32dfu example app"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
