#!/usr/bin/env node
// The stm32dfu-layout command; the work is in cli-main.ts so tests can run it in-process.
import { runCli } from './cli-main.js';

process.exitCode = runCli(process.argv.slice(2));
