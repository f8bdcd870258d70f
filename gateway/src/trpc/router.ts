/**
 * The gateway's tRPC router. Every input is parsed by a schema from
 * `@codecell/protocol`; every CodeCellError becomes a TRPCError whose tRPC code
 * comes from ERROR_CODE_TABLE and whose `data.codecellCode` is the original code.
 * Every procedure acts as `ctx.caller`; what they may do is decided behind it.
 * @module
 */
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
import { authRouter } from './authRouter.js';
import { procedure, router } from './init.js';
import { quotasRouter, roomsRouter } from './roomsRouter.js';

/** The gateway API. The frontend imports only its type ({@link AppRouter}). */
export const appRouter = router({
  /** Queues a run of the room's files (runner and above); returns at once. Output is on `ws /stream/<jobId>`. */
  runCode: procedure
    .input(runCodeInputSchema)
    .output(runCodeOutputSchema)
    .mutation(({ ctx, input }) => ctx.runs.submit(ctx.caller, input)),
  /** Sends stdin to a run (runner and above; buffered while it is queued or starting). */
  sendStdin: procedure.input(sendStdinInputSchema).mutation(async ({ ctx, input, signal }) => {
    await ctx.runs.sendStdin(ctx.caller, input, signal);
    return { ok: true as const };
  }),
  /** Stops a run (runner and above): a queued run is removed, a running one is killed. */
  stopRun: procedure.input(stopRunInputSchema).mutation(async ({ ctx, input, signal }) => {
    await ctx.runs.stop(ctx.caller, input, signal);
    return { ok: true as const };
  }),
  /**
   * Creates a room owned by the caller, seeded with the starter program
   * (`main.py`; with `language`, that runtime's hello world: `main.go`…), and returns its id. With `roomId`, makes sure that room exists
   * (idempotent for its members; `already_exists` for others). Clients then
   * join it on `ws /collab` (document name = roomId).
   */
  createRoom: procedure
    .input(createRoomInputSchema)
    .output(createRoomOutputSchema)
    .mutation(({ ctx, input }) => ctx.rooms.createRoom(ctx.caller, input)),
  /** A room's title, file paths and the caller's role, without joining it (members only; others get not_found). */
  getRoom: procedure
    .input(getRoomInputSchema)
    .output(getRoomOutputSchema)
    .query(({ ctx, input }) => ctx.rooms.getRoom(ctx.caller, input.roomId)),
  /**
   * Every runtime of the table (id, name, aliases, extensions, Monaco mode,
   * entry file, compiled or not) with its version in the sandbox's image and
   * whether the sandbox has it (`GET /runtimes`; all unavailable while it is unreachable).
   */
  runtimes: procedure.query(({ ctx, signal }) => ctx.runtimes(signal)),
  /** Whether the sandbox answers, with its own health report. Never fails. */
  health: procedure.query(({ ctx, signal }) => ctx.health(signal)),
  auth: authRouter,
  rooms: roomsRouter,
  quotas: quotasRouter,
});

/** The type the frontend's tRPC client is built from. */
export type AppRouter = typeof appRouter;
