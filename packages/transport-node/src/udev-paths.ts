import { fileURLToPath } from 'node:url';

/** Where `installUdevRules` writes by default. */
export const UDEV_RULES_PATH = '/etc/udev/rules.d/70-stm32dfu.rules';

/** The rules file shipped in this package (`udev/70-stm32dfu.rules`). */
export const UDEV_RULES_FILE = fileURLToPath(new URL('../udev/70-stm32dfu.rules', import.meta.url));
