#!/usr/bin/env bash
# A custom board's bootloader and example app built from its JSON alone
# (STM32DFU_BOARD_FILE=... scripts/build.sh), checked against what the JSON asks for: the
# clock tree planned for its crystal, images linked at its partitions, its RAM size, and
# the size report. Then the signed example (signed-f411-testkey.json, the test key of
# packages/image-tools/fixtures/signature-vectors.txt): signature check compiled in, its key
# in the image, and the bootloader within the 24 kB budget of signing builds.
# One PASS/FAIL line per check, then "N passed, N failed".
#
#   bash boards/examples/test.sh [board.json]    (default: boards/examples/example-f401.json)
set -uo pipefail
cd "$(dirname "$0")/../.."

json="${1:-boards/examples/example-f401.json}"
board=example-f401
build="build/$board"
log="$build-test.log"
passed=0
failed=0
check() { # check <name> <command...>
  local name="$1"
  shift
  if "$@" >/dev/null 2>&1; then
    echo "PASS $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    failed=$((failed + 1))
  fi
}
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

# Expected values for example-f401.json: STM32F401xC (256 kB flash, 64 kB SRAM), 8 MHz HSE,
# 84 MHz SYSCLK, 64 kB bootloader. RM0368: M=4 (2 MHz VCO input), N=168, P=4, Q=7, 2 WS.
bl_base=08000000
app_base=08010000
stack_top=20010000
pllcfgr=07412a04 # M | N << 6 | (P/2 - 1) << 16 | PLLSRC_HSE | Q << 24

rm -rf "$build"
if ! STM32DFU_BOARD_FILE="$json" bash scripts/build.sh >"$log" 2>&1; then
  echo "FAIL build the bootloader and app from $json (see firmware/$log)"
  failed=$((failed + 1))
  finish
fi
echo "PASS build the bootloader and app from $json"
passed=$((passed + 1))

# ---- The signed example: built first, so the checks below read the F401's header last ----
signed_json=boards/examples/signed-f411-testkey.json
signed=signed-f411-testkey
signed_build="build/$signed"
signed_log="$signed_build-test.log"
test_key=79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664
budget=24576
rm -rf "$signed_build"
if STM32DFU_BOARD_FILE="$signed_json" bash scripts/build.sh >"$signed_log" 2>&1; then
  echo "PASS build the signed bootloader and app from $signed_json"
  passed=$((passed + 1))
  signed_header="build/generated/$signed/stm32dfu_layout.h"
  signed_bl="$signed_build/src/port/stm32f4/bootloader"
  check "signed board: header asks for 1 key, required, verify at boot, upload locked, no lock-down" \
    bash -c "grep -Eq '^#define STM32DFU_SIGNING_KEY_COUNT +1u' $signed_header &&
      grep -Eq '^#define STM32DFU_SIGNING_REQUIRED +1u' $signed_header &&
      grep -Eq '^#define STM32DFU_SIGNING_VERIFY_AT_BOOT +1u' $signed_header &&
      grep -Eq '^#define STM32DFU_LOCK_UPLOAD +1u' $signed_header &&
      grep -Eq '^#define STM32DFU_PROTECT_FLASH +0u' $signed_header"
  check "signed board: the bootloader links the signature check, Ed25519 and the OTP counter" \
    bash -c "arm-none-eabi-nm $signed_bl.elf | grep -Eq ' T sig_check_image$' &&
      arm-none-eabi-nm $signed_bl.elf | grep -Eq ' T ed25519_verify$' &&
      arm-none-eabi-nm $signed_bl.elf | grep -Eq ' T hal_otp_program$'"
  check "signed board: the test key's 32 bytes are in bootloader.bin" \
    bash -c "od -An -tx1 -v $signed_bl.bin | tr -d ' \n' | grep -q $test_key"
  check "signed board: size report names the 24 kB budget" \
    grep -Eq "^bootloader.elf: flash [0-9]+ bytes .*budget $budget bytes" "$signed_log"
  size=$(grep -Eo '^bootloader.elf: flash [0-9]+' "$signed_log" | grep -Eo '[0-9]+$')
  check "signed board: bootloader ${size:-?} bytes <= $budget (24 kB)" test "${size:-999999}" -le "$budget"
  grep -E "^bootloader\.elf: flash" "$signed_log" | sed 's/^/signed: /'
else
  echo "FAIL build the signed bootloader and app from $signed_json (see firmware/$signed_log)"
  failed=$((failed + 1))
fi

header="build/generated/$board/stm32dfu_layout.h"
has_define() { grep -Eq "^#define STM32DFU_$1 +$2u" "$header"; }
check "clock tree planned from the JSON: PLL M 4, N 168, P 4, Q 7" \
  bash -c "$(declare -f has_define); header=$header; has_define PLL_M 4 && has_define PLL_N 168 && has_define PLL_P 4 && has_define PLL_Q 7"
check "F401 at 84 MHz: 2 flash wait states, no regulator scale 1, APB1 /2" \
  bash -c "$(declare -f has_define); header=$header; has_define FLASH_LATENCY 2 && has_define VOS_SCALE1 0 && has_define APB1_DIV 2"
check "the generic STM32F4 board header was used (no boards/$board/)" test ! -e "boards/$board"

bl="$build/src/port/stm32f4/bootloader"
app="$build/app/app"
vectors_at() { arm-none-eabi-readelf -SW "$1" | grep -Eq "\.isr_vector +PROGBITS +$2 "; }
check "bootloader vector table linked at 0x$bl_base" vectors_at "$bl.elf" "$bl_base"
check "application vector table linked at 0x$app_base (after the 64 kB bootloader)" \
  vectors_at "$app.elf" "$app_base"
check "both images start the stack at the top of the F401xC's 64 kB SRAM" \
  bash -c "[ \$(od -An -tx4 -N4 $bl.bin | tr -d ' ') = $stack_top ] && [ \$(od -An -tx4 -N4 $app.bin | tr -d ' ') = $stack_top ]"
check "the bootloader writes the planned RCC_PLLCFGR (0x$pllcfgr)" \
  bash -c "arm-none-eabi-objdump -d $bl.elf | grep -Eqi '\.word\s+0x$pllcfgr'"
check "size report: bootloader in its 64 kB partition" \
  grep -Eq "^bootloader.elf: flash [0-9]+ bytes .* of the 64 kB partition" "$log"
check "size report: application in the remaining 192 kB" \
  grep -Eq "^app.elf: flash [0-9]+ bytes .* of the 192 kB partition" "$log"
check "the application is stamped for its base" grep -q "base 0x$app_base" "$log"
grep -E "^(bootloader|app)\.elf: flash" "$log"
finish
