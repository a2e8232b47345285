/*
 * bench_arm.c — the signature benchmark as Cortex-M4 code, for QEMU's netduinoplus2
 * (STM32F405) run with `-icount shift=0`: every guest instruction advances the virtual
 * clock by exactly 1 ns, so a timer on the virtual clock counts instructions.
 *
 * Two counters, read around every phase:
 *   TIM2, 32 bits, prescaler 0: QEMU clocks the STM32F2/F4 timers at 1 GHz of virtual time,
 *        so with shift=0 one count is one instruction.
 *   SysTick on the processor clock (168 MHz in QEMU's model), 24 bits, its wraps counted
 *        by its interrupt: one count is 1000/168 ≈ 5.95 instructions; a cross-check, and
 *        the counter that cannot wrap in a long phase.
 * A loop of a known instruction count runs first so the reader sees both counters agree
 * with arithmetic before trusting them. Output through Arm semihosting (SYS_WRITE0), one
 * "key value" line per result for run.sh to read; exit through SYS_EXIT.
 */
#include <stddef.h>
#include <stdint.h>

#include "bench_phases.h"
#include "sha256.h"

#define REG32(address) (*(volatile uint32_t *)(uintptr_t)(address))

#define TIM2_BASE 0x40000000u
#define TIM_CR1 (TIM2_BASE + 0x00u)
#define TIM_EGR (TIM2_BASE + 0x14u)
#define TIM_CNT (TIM2_BASE + 0x24u)
#define TIM_PSC (TIM2_BASE + 0x28u)
#define TIM_ARR (TIM2_BASE + 0x2Cu)
#define RCC_APB1ENR 0x40023840u

#define SYST_CSR 0xE000E010u
#define SYST_RVR 0xE000E014u
#define SYST_CVR 0xE000E018u
#define SYST_RELOAD 0x00FFFFFFu

/* ---- startup ---------------------------------------------------------------------- */

extern uint32_t _data_start, _data_end, _data_load, _bss_start, _bss_end, _stack_top;
int bench_main(void);
void bench_reset(void);
void bench_systick(void);
void bench_fault(void);

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)&_stack_top,
    bench_reset,
    bench_fault, /* NMI */
    bench_fault, /* HardFault */
    bench_fault, /* MemManage */
    bench_fault, /* BusFault */
    bench_fault, /* UsageFault */
    0, 0, 0, 0,
    bench_fault, /* SVCall */
    bench_fault, /* DebugMonitor */
    0,
    bench_fault, /* PendSV */
    bench_systick,
};

/* GCC may call these even in freestanding code. */
void *memcpy(void *destination, const void *source, size_t length) {
  uint8_t *out = destination;
  const uint8_t *in = source;
  while (length-- > 0u) *out++ = *in++;
  return destination;
}

void *memset(void *destination, int value, size_t length) {
  uint8_t *out = destination;
  while (length-- > 0u) *out++ = (uint8_t)value;
  return destination;
}

/* ---- semihosting ------------------------------------------------------------------ */

static uint32_t semihost(uint32_t operation, uint32_t argument) {
  register uint32_t r0 __asm__("r0") = operation;
  register uint32_t r1 __asm__("r1") = argument;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

static void put(const char *text) { (void)semihost(0x04u /* SYS_WRITE0 */, (uint32_t)(uintptr_t)text); }

static void put_u64(uint64_t value) {
  char text[24];
  char *p = text + sizeof text - 1;
  *p = '\0';
  do {
    *--p = (char)('0' + value % 10u);
    value /= 10u;
  } while (value != 0u && p > text);
  put(p);
}

static void put_hex(const uint8_t *bytes, uint32_t length) {
  static const char digits[] = "0123456789abcdef";
  char text[3] = {0, 0, 0};
  for (uint32_t i = 0; i < length; i++) {
    text[0] = digits[bytes[i] >> 4];
    text[1] = digits[bytes[i] & 15u];
    put(text);
  }
}

static __attribute__((noreturn)) void bench_exit(int success) {
  (void)semihost(0x18u /* SYS_EXIT */, success ? 0x20026u /* ApplicationExit */ : 0x20023u /* RunTimeError */);
  for (;;) {
  }
}

void bench_fault(void) {
  put("fault\n");
  bench_exit(0);
}

/* ---- counters --------------------------------------------------------------------- */

static volatile uint32_t systick_wraps;

void bench_systick(void) { systick_wraps++; }

static void counters_start(void) {
  REG32(RCC_APB1ENR) |= 1u; /* TIM2 clock (ignored by QEMU, needed on a chip) */
  REG32(TIM_CR1) = 0u;
  REG32(TIM_PSC) = 0u;
  REG32(TIM_ARR) = 0xFFFFFFFFu;
  REG32(TIM_EGR) = 1u; /* UG: load the prescaler, counter to 0 */
  REG32(TIM_CR1) = 1u; /* CEN */
  REG32(SYST_RVR) = SYST_RELOAD;
  REG32(SYST_CVR) = 0u;
  REG32(SYST_CSR) = 7u; /* ENABLE | TICKINT | CLKSOURCE = processor clock */
}

typedef struct {
  uint32_t tim2;
  uint64_t systick; /* processor-clock ticks since counters_start */
} stamp_t;

static void take(stamp_t *s) {
  /* A wrap between reading the count and the wrap counter shows as a changed wrap counter:
   * read again (the interrupt is taken at the next instruction boundary), at most 4 times. */
  uint32_t wraps = 0, current = 0;
  for (uint32_t attempt = 0; attempt < 4u; attempt++) {
    wraps = systick_wraps;
    current = REG32(SYST_CVR);
    if (wraps == systick_wraps) break;
  }
  s->tim2 = REG32(TIM_CNT);
  s->systick = (uint64_t)wraps * (SYST_RELOAD + 1u) + (SYST_RELOAD - current);
}

static stamp_t empty; /* the cost of a measurement with nothing measured */

static void report(const char *key, const stamp_t *before, const stamp_t *after) {
  put(key);
  put(" tim2 ");
  put_u64((uint32_t)(after->tim2 - before->tim2) - empty.tim2);
  put(" systick ");
  put_u64(after->systick - before->systick - empty.systick);
  put("\n");
}

/* n iterations of two instructions (subs, bne): 2n instructions. */
static __attribute__((noinline)) void known_loop(uint32_t n) {
  __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
}

/* ---- the benchmark ---------------------------------------------------------------- */

const uint8_t *bench_flash_at(uint32_t address) { return (const uint8_t *)(uintptr_t)address; }

static int digest_matches(uint32_t base, uint32_t length, const uint8_t digest[32]) {
  const uint8_t *expected = bench_flash_at(base + length + 28u);
  for (uint32_t i = 0; i < 32u; i++) {
    if (digest[i] != expected[i]) return 0;
  }
  return 1;
}

static const char *const verdicts[] = {"valid",       "missing",     "bad-format", "wrong-length",
                                       "wrong-board", "unknown-key", "bad-digest", "bad-signature"};

/* `-append mix`: only SHA-256 of the 100 kB image and one Ed25519 verification, for
 * mix.sh's instruction-mix trace (QEMU logging every block is slow). */
static int mix_only(void) {
  char line[16] = {0};
  volatile uint32_t block[2] = {(uint32_t)(uintptr_t)line, sizeof line};
  if (semihost(0x15u /* SYS_GET_CMDLINE */, (uint32_t)(uintptr_t)block) != 0u) return 0;
  return line[0] == 'm' && line[1] == 'i' && line[2] == 'x' && line[3] == '\0';
}

int bench_main(void) {
  stamp_t a, b;
  int ok = 1;
  if (mix_only()) {
    uint8_t digest[32];
    put("mix-start\n");
    bench_sha256(BENCH_SMALL_BASE, BENCH_SMALL_LENGTH, digest);
    ok &= digest_matches(BENCH_SMALL_BASE, BENCH_SMALL_LENGTH, digest);
    ok &= bench_ed25519(BENCH_SMALL_BASE + BENCH_SMALL_LENGTH);
    put(ok ? "mix-end ok\n" : "mix-end FAILED\n");
    bench_exit(ok);
  }
  counters_start();
  put("target cortex-m4 qemu-netduinoplus2 icount-shift-0\n");

  take(&a);
  take(&b);
  empty.tim2 = b.tim2 - a.tim2;
  empty.systick = b.systick - a.systick;
  put("overhead tim2 ");
  put_u64(empty.tim2);
  put(" systick ");
  put_u64(empty.systick);
  put("\n");

  static const uint32_t loops[] = {1000000u, 3000000u, 30000000u};
  for (uint32_t i = 0; i < 3u; i++) {
    take(&a);
    known_loop(loops[i]);
    take(&b);
    put("known-loop ");
    put_u64(2ull * loops[i]);
    put(" ");
    report("instructions", &a, &b);
  }

  uint8_t digest[32];
  take(&a);
  bench_sha256(BENCH_SMALL_BASE, BENCH_SMALL_LENGTH, digest);
  take(&b);
  report("sha256-small", &a, &b);
  ok &= digest_matches(BENCH_SMALL_BASE, BENCH_SMALL_LENGTH, digest);
  put("digest-small ");
  put_hex(digest, 32);
  put("\n");

  take(&a);
  bench_sha256(BENCH_LARGE_BASE, BENCH_LARGE_LENGTH, digest);
  take(&b);
  report("sha256-large", &a, &b);
  ok &= digest_matches(BENCH_LARGE_BASE, BENCH_LARGE_LENGTH, digest);
  put("digest-large ");
  put_hex(digest, 32);
  put("\n");

  bool verified;
  take(&a);
  verified = bench_ed25519(BENCH_SMALL_BASE + BENCH_SMALL_LENGTH);
  take(&b);
  report("ed25519-small", &a, &b);
  ok &= verified;
  take(&a);
  verified = bench_ed25519(BENCH_LARGE_BASE + BENCH_LARGE_LENGTH);
  take(&b);
  report("ed25519-large", &a, &b);
  ok &= verified;

  sig_verdict_t verdict;
  take(&a);
  verdict = bench_check(BENCH_SMALL_BASE);
  take(&b);
  report("check-small", &a, &b);
  put("verdict-small ");
  put(verdicts[verdict & 7u]);
  put("\n");
  ok &= verdict == SIG_VALID;
  take(&a);
  verdict = bench_check(BENCH_LARGE_BASE);
  take(&b);
  report("check-large", &a, &b);
  put("verdict-large ");
  put(verdicts[verdict & 7u]);
  put("\n");
  ok &= verdict == SIG_VALID;

  put(ok ? "result ok\n" : "result FAILED: a digest or signature did not check\n");
  bench_exit(ok);
}

void bench_reset(void) {
  for (uint32_t *from = &_data_load, *to = &_data_start; to < &_data_end;) *to++ = *from++;
  for (uint32_t *to = &_bss_start; to < &_bss_end;) *to++ = 0u;
  (void)bench_main();
  bench_exit(0);
}
