import type { BoardHandle, SelectionOptions } from './boards.js';
import { CliError, EXIT, type ExitStatus } from './errors.js';
import type { Output } from './output.js';
export async function openUsbBoards(_o: SelectionOptions, _out: Output): Promise<BoardHandle[]> {
  throw new CliError('NO_DEVICE', 'USB pending', EXIT.NO_DEVICE);
}
export async function listUsb(_o: SelectionOptions, _out: Output): Promise<ExitStatus> {
  throw new CliError('NO_DEVICE', 'USB pending', EXIT.NO_DEVICE);
}
