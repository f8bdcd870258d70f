/**
 * The gateway's public API (tRPC on :4000 and `ws /stream/<jobId>`): procedure
 * inputs/outputs and stream messages. The frontend and the gateway both use these.
 * @module
 */
import { z } from 'zod';
import { DEFAULT_ENTRY, runEventSchema, runLimitsSchema, runRequestSchema, workspaceFileSchema, workspacePathSchema } from './sandboxApi.js';
import { RUNTIMES, RUNTIME_IDS, languageSchema } from './runtimes.js';
import { languageMismatch, runLanguage } from './runLanguage.js';
import { ttyOptionSchema } from './terminal.js';

/** Bumped on any incompatible change of the gateway API or stream messages. */
export const GATEWAY_PROTOCOL_VERSION = 1;

export const roomIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'roomId must be 1-64 of [A-Za-z0-9_-]');
export const jobIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'jobId must be 1-64 of [A-Za-z0-9_-]');

const runCodeFieldsSchema = z.strictObject({
  /** Runs of one room share a VM and its /workspace. */
  roomId: roomIdSchema.optional(),
  /**
   * A runtime id or alias (`go`, `c++`, `python`…). Default: the runtime the
   * entry's extension names (`main.go` runs Go), else `py` ({@link runLanguage}).
   * Needed only where the extension cannot tell (`run`, `notes.txt`; `.h` is C
   * or C++); a language the entry's extension rules out is refused.
   */
  language: languageSchema.optional(),
  /**
   * The seed's one-file run: the program itself, written to `entry` (default:
   * the language's {@link DEFAULT_ENTRY}). Give either `source` or `files`.
   */
  source: z.string().optional(),
  /** Every file of the room; `entry` must be one of them. */
  files: z.array(workspaceFileSchema).min(1, 'files must contain at least the entry file').optional(),
  /** The file to run. Default: the language's {@link DEFAULT_ENTRY} (`main.py`, `main.go`…). */
  entry: workspacePathSchema.optional(),
  /** Initial stdin; more can be sent with `sendStdin` while the program runs. */
  stdin: z.string().optional(),
  /** False: the program's stdin ends after `stdin` (batch runs). @default true: open for `sendStdin` until eof */
  stdinOpen: z.boolean().optional(),
  /** Command-line arguments after the entry. */
  args: runRequestSchema.shape.args,
  limits: runLimitsSchema.optional(),
  /**
   * Run on a terminal (`true`: 80 × 24, or `{cols, rows}`): what the IDE does.
   * Output then carries the terminal's bytes (stderr merged), stdin is typed
   * at it, and the stream's `size` events say its size. Default: pipes.
   */
  tty: ttyOptionSchema.optional(),
  /** Display name of whoever pressed Run (shown to the room). */
  startedBy: z.string().max(64).optional(),
});

/**
 * Input of `runCode`: either a room's files and which one to run
 * (`{roomId, files, entry}`), or the seed's one-file form `{language, source}`.
 * Both parse to `{language, files, entry}`; giving `source` and `files`
 * together is refused, and so is a `language` that cannot run `entry`
 * (`main.go` as `py`).
 * @example
 * runCodeInputSchema.parse({ language: 'py', source: "print('hello')" });
 * // → { language: 'py', entry: 'main.py', files: [{ path: 'main.py', content: "print('hello')" }] }
 */
export const runCodeInputSchema = runCodeFieldsSchema
  .superRefine((input, ctx) => {
    if (input.source !== undefined && input.files !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['source'], message: 'give either source (a one-file run) or files, not both' });
    } else if (input.source === undefined && input.files === undefined) {
      ctx.addIssue({ code: 'custom', path: ['files'], message: 'give files (including the entry file) or source (a one-file run)' });
    }
    const mismatch = input.entry !== undefined && input.language !== undefined ? languageMismatch(input.entry, input.language) : null;
    if (mismatch !== null) ctx.addIssue({ code: 'custom', path: ['language'], message: mismatch });
  })
  .transform(({ source, files, entry, language: given, ...rest }) => {
    // An explicit language wins where the entry allows it; else the extension decides (issue 10).
    const language = runLanguage(entry, given);
    const path = entry ?? DEFAULT_ENTRY[language];
    return { ...rest, language, entry: path, files: files ?? [{ path, content: source ?? '' }] };
  });
export type RunCodeInput = z.input<typeof runCodeInputSchema>;

export const runCodeOutputSchema = z.object({
  jobId: jobIdSchema,
  /** Place in the gateway's queue: 0 = starting now. */
  position: z.int().nonnegative(),
});
export type RunCodeOutput = z.infer<typeof runCodeOutputSchema>;

export const sendStdinInputSchema = z.strictObject({
  jobId: jobIdSchema,
  data: z.string().max(64 * 1024, 'send at most 64 KiB of stdin at a time'),
  eof: z.boolean().optional(),
});
export type SendStdinInput = z.infer<typeof sendStdinInputSchema>;

export const stopRunInputSchema = z.strictObject({ jobId: jobIdSchema });
export type StopRunInput = z.infer<typeof stopRunInputSchema>;

/**
 * One entry of the gateway's `runtimes`: a row of the runtime table with the
 * version the sandbox's guest image reports.
 */
export const runtimeSchema = z.object({
  language: z.enum(RUNTIME_IDS),
  /** Display name, e.g. "C++". */
  name: z.string(),
  /** Version in the sandbox's guest image (e.g. "12.2.0"); null when it could not say (unreachable, older, or not recorded). */
  version: z.string().nullable(),
  /**
   * True when the sandbox lists it in `GET /runtimes`. False for every runtime
   * while the sandbox cannot be reached, and for all but Python on a sandbox
   * older than `GET /runtimes` (issue 10).
   */
  available: z.boolean(),
  /** Default entry file of a new program (`main.cpp`, `Main.java`). */
  entry: z.string(),
  /** Other names `language` accepts. */
  aliases: z.array(z.string()),
  /** File extensions of the language, the canonical one first. */
  extensions: z.array(z.string()),
  /** Monaco language id of its files. */
  monaco: z.string(),
  /** True when runs have a compile stage (and compile errors come as diagnostics). */
  compiled: z.boolean(),
});
export type Runtime = z.infer<typeof runtimeSchema>;

/**
 * The `runtimes` list: the whole runtime table, in its order, with what a
 * sandbox reports. `listed` maps the ids the sandbox has to their version
 * (`unknown` when its image did not record one); ids it lacks are
 * `available: false`, ids not in the table are ignored.
 * @example runtimeList(new Map([['py', '3.11.2']]))[0] // { language: 'py', name: 'Python', version: '3.11.2', available: true, … }
 */
export function runtimeList(listed: ReadonlyMap<string, string>): Runtime[] {
  return RUNTIME_IDS.map((id) => {
    const r = RUNTIMES[id];
    const version = listed.get(id);
    return {
      language: id,
      name: r.name,
      version: version === undefined || version === 'unknown' ? null : version,
      available: version !== undefined,
      entry: r.entry,
      aliases: [...r.aliases],
      extensions: [...r.extensions],
      monaco: r.monaco,
      compiled: r.compile !== undefined,
    };
  });
}

/** Messages on `ws /stream/<jobId>`, in order; `seq` counts from 0 per job. */
export const streamMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('hello'),
    protocolVersion: z.int(),
    jobId: jobIdSchema,
    startedBy: z.string().nullable(),
    /** True when earlier messages were dropped from the replay buffer. */
    truncated: z.boolean(),
  }),
  z.strictObject({ type: z.literal('queued'), position: z.int().nonnegative() }),
  z.strictObject({ type: z.literal('event'), seq: z.int().nonnegative(), event: runEventSchema }),
  /**
   * Replays only (issue 12): the screen of a TTY run or terminal session whose
   * early output was dropped, as a terminal shows it after every event up to
   * `seq` (its scrollback included): the bytes that draw it on a fresh
   * terminal of `cols` x `rows`. It stands for the output events up to `seq`,
   * which the replay then leaves out: a client resets its terminal and writes
   * `data`; one that already has event `seq` skips it.
   */
  z.strictObject({ type: z.literal('screen'), seq: z.int().nonnegative(), cols: z.int().positive(), rows: z.int().positive(), data: z.string() }),
  /** Last message: how the run ended (`exit` status, or an error code). */
  z.strictObject({
    type: z.literal('end'),
    status: z.string(),
    code: z.int().nullable(),
    message: z.string().nullable(),
  }),
]);
export type StreamMessage = z.infer<typeof streamMessageSchema>;

/** Close codes of `ws /stream/<jobId>` (besides 1000 after `end`). */
export const StreamCloseCode = {
  unknownJob: 4404,
  slowConsumer: 4429,
  shuttingDown: 4503,
} as const;
