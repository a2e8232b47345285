/**
 * One job per rig: a lock file created exclusively, holding the owner's pid. A lock whose
 * process is gone (a killed job) is taken over; a live one is an error naming its owner.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HilError } from './errors.js';

export interface RigLock {
  readonly path: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockRig(
  name: string,
  dir = process.env.STM32DFU_HIL_LOCK_DIR ?? join(tmpdir(), 'stm32dfu-hil-locks'),
): RigLock {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return { path, release: () => rmSync(path, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(owner) && alive(owner)) {
        throw new HilError(
          'RIG_LOCKED',
          `Rig ${name} is in use by process ${owner} (${path}): wait for that job, or give each job its own rig (one runner label and concurrency group per rig).`,
        );
      }
      rmSync(path, { force: true }); // left by a job that died
    }
  }
  throw new HilError('RIG_LOCKED', `Could not take the lock ${path}: another job took it first.`);
}
