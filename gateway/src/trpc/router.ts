/**
 * The gateway's tRPC router. Every input is parsed by a schema from
 * `@codecell/protocol`; every CodeCellError becomes a TRPCError whose tRPC code
 * comes from ERROR_CODE_TABLE and whose `data.codecellCode` is the original code.
 * @module
 */
import { initTRPC } from '@trpc/server';
import {
  createRoomInputSchema,
  createRoomOutputSchema,
  getRoomInputSchema,
  getRoomOutputSchema,
  runCodeInputSchema,
  runCodeOutputSchema,
  sendStdinInputSchema,
  stopRunInputSchema,
} from '@codecell/protocol';
import type { ErrorCode } from '@codecell/protocol';
import type { GatewayContext } from './context.js';
import { codecellCodeOf, toTRPCError } from './errors.js';

const t = initTRPC.context<GatewayContext>().create({
  // Never send stack traces to browsers.
  isDev: false,
  errorFormatter({ shape, error }): typeof shape & { data: typeof shape.data & { codecellCode: ErrorCode } } {
    return { ...shape, data: { ...shape.data, codecellCode: codecellCodeOf(error) } };
  },
});

/** Re-throws whatever a procedure (or its input parser) threw as a mapped TRPCError. */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) throw toTRPCError(result.error);
  return result;
});

const procedure = t.procedure.use(mapErrors);

/** The gateway API. The frontend imports only its type ({@link AppRouter}). */
export const appRouter = t.router({
  /** Queues a run of the room's files; returns at once. Output is on `ws /stream/<jobId>`. */
  runCode: procedure
    .input(runCodeInputSchema)
    .output(runCodeOutputSchema)
    .mutation(({ ctx, input }) => ctx.runs.submit(input)),
  /** Sends stdin to a run (buffered while it is queued or starting). */
  sendStdin: procedure.input(sendStdinInputSchema).mutation(async ({ ctx, input, signal }) => {
    await ctx.runs.sendStdin(input, signal);
    return { ok: true as const };
  }),
  /** Stops a run: a queued run is removed, a running one is killed. */
  stopRun: procedure.input(stopRunInputSchema).mutation(async ({ ctx, input, signal }) => {
    await ctx.runs.stop(input, signal);
    return { ok: true as const };
  }),
  /**
   * Creates a room seeded with the starter program (`main.py`) and returns its
   * id. With `roomId`, makes sure that room exists (idempotent). Clients then
   * join it on `ws /collab` (document name = roomId).
   */
  createRoom: procedure
    .input(createRoomInputSchema)
    .output(createRoomOutputSchema)
    .mutation(({ ctx, input }) => ctx.rooms.createRoom(input)),
  /** Whether a room exists, its title and file paths, without joining it. */
  getRoom: procedure
    .input(getRoomInputSchema)
    .output(getRoomOutputSchema)
    .query(({ ctx, input }) => ctx.rooms.getRoom(input)),
  /** The languages runs can use, with their default entry file. */
  runtimes: procedure.query(({ ctx, signal }) => ctx.runtimes(signal)),
  /** Whether the sandbox answers, with its own health report. Never fails. */
  health: procedure.query(({ ctx, signal }) => ctx.health(signal)),
});

/** The type the frontend's tRPC client is built from. */
export type AppRouter = typeof appRouter;
