/*
 * port_test.h — the few lines every host test program of the port shares: a test is a
 * function that records problems; it passes when it records none. Prints one
 * "PASS name" / "FAIL name" line per test and "N passed, N failed" at the end.
 */
#ifndef STM32DFU_PORT_TEST_H
#define STM32DFU_PORT_TEST_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static unsigned port_test_passed, port_test_failed;
static char port_test_problems[4096];

/* Record a problem of the running test. */
__attribute__((format(printf, 1, 2), unused)) static void problem(const char *format, ...) {
  size_t used = strlen(port_test_problems);
  if (used + 3u >= sizeof port_test_problems) {
    return;
  }
  port_test_problems[used++] = ' ';
  port_test_problems[used++] = ' ';
  va_list args;
  va_start(args, format);
  vsnprintf(port_test_problems + used, sizeof port_test_problems - used, format, args);
  va_end(args);
  used = strlen(port_test_problems);
  if (used + 1u < sizeof port_test_problems) {
    port_test_problems[used] = '\n';
    port_test_problems[used + 1u] = '\0';
  }
}

__attribute__((unused)) static void run(const char *name, void (*test)(void)) {
  port_test_problems[0] = '\0';
  test();
  if (port_test_problems[0] == '\0') {
    printf("PASS %s\n", name);
    port_test_passed++;
  } else {
    printf("FAIL %s\n%s", name, port_test_problems);
    port_test_failed++;
  }
}

/* The summary line; the program's exit status. */
__attribute__((unused)) static int finish(void) {
  printf("%u passed, %u failed\n", port_test_passed, port_test_failed);
  return port_test_failed == 0u ? 0 : 1;
}

#endif /* STM32DFU_PORT_TEST_H */
