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
    exitStatus: z.number().int().min(0).max(9),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  })
  .loose();

export const JsonLineSchema = z.discriminatedUnion('type', [
  ProgressEventSchema,
  BoardEventSchema,
  ResultSchema,
]);

export type JsonEvent = z.infer<typeof ProgressEventSchema> | z.infer<typeof BoardEventSchema>;
