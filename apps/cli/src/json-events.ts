/**
 * The `--json` stream: NDJSON on stdout, each line one of these objects; the last line is
 * the result. The schemas are the documentation and what the tests check every line with.
 */
import { z } from 'zod';

export const ProgressEventSchema = z.object({
  type: z.literal('progress'),
  /** Which board: "sim:<file>" or "usb:<serial>". */
  board: z.string(),
  phase: z.enum(['erase', 'write', 'verify', 'read']),
  bytesDone: z.number().int().nonnegative(),
  bytesTotal: z.number().int().nonnegative(),
  address: z.number().int().nonnegative().optional(),
});

/** A board's operation finished (several boards at once: one per board, as each ends). */
export const BoardEventSchema = z.object({
  type: z.literal('board'),
  board: z.string(),
  ok: z.boolean(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

export const ResultSchema = z
  .object({
    type: z.literal('result'),
    command: z.string(),
    ok: z.boolean(),
    exitStatus: z.number().int().min(0).max(10),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  })
  .loose();

/**
 * `info --json`: the board's security record (our bootloader's GET_SECURITY), absent when the
 * board does not report one (ST's ROM, an older bootloader, a running application).
 */
export const SecuritySchema = z.object({
  signaturesRequired: z.boolean(),
  verifyAtBoot: z.boolean(),
  uploadLocked: z.boolean(),
  flashProtected: z.boolean(),
  checkBuiltIn: z.boolean(),
  /** The keys it holds: 8 hex digits each, as `stm32dfu keygen` prints key ids. */
  keyIds: z.array(z.string().regex(/^[0-9a-f]{8}$/)),
  boardId: z.string().regex(/^[0-9a-f]{8}$/),
  /** Anti-rollback: images signed with a lower --counter are refused. */
  counter: z.number().int().nonnegative(),
  /** The highest counter it can keep; 0: it keeps none. */
  counterCapacity: z.number().int().nonnegative(),
  lastVerdict: z.string(),
});

export const JsonLineSchema = z.discriminatedUnion('type', [
  ProgressEventSchema,
  BoardEventSchema,
  ResultSchema,
]);

export type JsonEvent = z.infer<typeof ProgressEventSchema> | z.infer<typeof BoardEventSchema>;
