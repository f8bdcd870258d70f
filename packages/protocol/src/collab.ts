/**
 * Collaboration (issue 4): the layout of a room's Yjs document, the run records
 * the gateway writes into it, the awareness state each client publishes, the
 * `createRoom` / `getRoom` procedures, and how the collab server says why it
 * refused something. The gateway serves rooms with Hocuspocus on
 * `ws://host:PORT/collab`; the Hocuspocus document name is the roomId.
 * @module
 */
import { z } from 'zod';
import { ERROR_CODES } from './errors.js';
import type { ErrorCode } from './errors.js';
import { roomIdSchema } from './gatewayApi.js';
import { roomRoleSchema } from './access.js';
import { RUNTIME_IDS, languageSchema } from './runtimes.js';
import { RUN_STATUSES, workspaceFileSchema, workspacePathSchema } from './sandboxApi.js';

/**
 * Bumped on any incompatible change of the room document layout or the
 * awareness state. Providers send it as the `protocolVersion` URL parameter;
 * the server refuses other versions with `clientTooOld` / `clientTooNew`.
 */
export const COLLAB_PROTOCOL_VERSION = 1;

/** Path of the collab WebSocket on the gateway's port. */
export const COLLAB_PATH = '/collab';

/**
 * Names of the shared types at the root of a room document.
 * - `files`: `Y.Map<Y.Text | Uint8Array>`, workspace path → file content: a
 *   `Y.Text` for text (edited together), a `Uint8Array` for any other bytes
 *   (replaced whole; at most MAX_FILE_BYTES). Nothing else is a file.
 * - `meta`: `Y.Map<unknown>`, keys in {@link ROOM_META_KEYS}.
 * - `runs`: `Y.Array<RoomRunRecord>` of plain objects, oldest first, at most
 *   {@link MAX_ROOM_RUNS}; written only by the gateway (clients read it).
 * @example
 * const files = doc.getMap<Y.Text>(ROOM_DOC.files);
 * const runs = doc.getArray<RoomRunRecord>(ROOM_DOC.runs);
 */
export const ROOM_DOC = { files: 'files', meta: 'meta', runs: 'runs' } as const;

/** Keys of the `meta` map. */
export const ROOM_META_KEYS = {
  /** Path of the file Run executes (a key of `files`). */
  entry: 'entry',
  /** Display title. */
  title: 'title',
  /** Epoch ms when the room was created. */
  createdAt: 'createdAt',
  /** {@link COLLAB_PROTOCOL_VERSION} the room was seeded with. */
  protocolVersion: 'protocolVersion',
  /**
   * The room's chosen runtime id (the "Run <entry> as" picker; a new room's
   * language). Run uses it where the entry's extension allows it (a `run`
   * script, a `.h` file: `runLanguage(entry, language)`); elsewhere the
   * extension decides. Clients write it: readers check it is a runtime id.
   */
  language: 'language',
} as const;

/** Run records kept in `runs`; older ones are dropped first. */
export const MAX_ROOM_RUNS = 50;
/** Longest room title, characters. */
export const MAX_ROOM_TITLE_LENGTH = 100;

/** The `meta` map of a seeded room, read with `meta.toJSON()`. */
export const roomMetaSchema = z.object({
  entry: workspacePathSchema,
  title: z.string().max(MAX_ROOM_TITLE_LENGTH),
  createdAt: z.int().nonnegative(),
  protocolVersion: z.int().positive(),
  language: z.enum(RUNTIME_IDS).optional(),
});
export type RoomMeta = z.infer<typeof roomMetaSchema>;

/**
 * Status of a run in the room: `queued`, then `running` once the program
 * started, then how it ended: an exit status (`ok`, `runtime_error`…) or an
 * error code when it never produced an exit (`sandbox_unavailable`…), or
 * `killed` (stopped, or the gateway shut down or restarted meanwhile).
 */
export const ROOM_RUN_STATUSES = [...new Set<string>(['queued', 'running', ...RUN_STATUSES, ...ERROR_CODES])] as [
  'queued' | 'running' | (typeof RUN_STATUSES)[number] | ErrorCode,
  ...Array<'queued' | 'running' | (typeof RUN_STATUSES)[number] | ErrorCode>,
];
export const roomRunStatusSchema = z.enum(ROOM_RUN_STATUSES);
export type RoomRunStatus = z.infer<typeof roomRunStatusSchema>;

/** True for the statuses of a run that has ended. */
export function isFinalRunStatus(status: RoomRunStatus): boolean {
  return status !== 'queued' && status !== 'running';
}

/**
 * What became of a file a run wrote (its `file` event), in the run's record:
 * - `written`: the room has its new content (for everyone, marked as this run's);
 * - `unchanged`: the room already had exactly these bytes;
 * - `truncated`: over the sandbox's per-file or per-run cap, so its content
 *   did not come back; it stays in the VM until the next run mirrors the room;
 * - `refused`: the room could not take it (`message` says which limit).
 */
export const ROOM_RUN_FILE_STATUSES = ['written', 'unchanged', 'truncated', 'refused'] as const;
export const roomRunFileSchema = z.object({
  path: workspacePathSchema,
  size: z.int().nonnegative(),
  status: z.enum(ROOM_RUN_FILE_STATUSES),
  message: z.string().max(300).nullable(),
});
export type RoomRunFile = z.infer<typeof roomRunFileSchema>;
/** Files listed in one run record at most (the rest are counted in `filesOmitted`). */
export const MAX_RUN_RECORD_FILES = 100;

/**
 * One element of the `runs` array: everything a client needs to show the run
 * and subscribe to `ws /stream/<jobId>`. Replaced in place as the run moves on.
 */
export const roomRunRecordSchema = z.object({
  jobId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  /** Display name given to `runCode` (`startedBy`), or null. */
  startedBy: z.string().max(64).nullable(),
  /** Epoch ms when `runCode` accepted the run. */
  startedAt: z.int().nonnegative(),
  status: roomRunStatusSchema,
  /** Epoch ms when it ended; null while queued or running. */
  endedAt: z.int().nonnegative().nullable(),
  /** Wall-clock time of the program from its `exit` event, ms; null without one. */
  wallMs: z.number().nonnegative().nullable(),
  /** Exit code; null while running, when killed by a signal or without an exit. */
  exitCode: z.int().nullable(),
  /** Files the run created or changed in /workspace, as they came back (absent before issue 11 and for runs that wrote none). */
  files: z.array(roomRunFileSchema).max(MAX_RUN_RECORD_FILES).optional(),
  /** Files beyond {@link MAX_RUN_RECORD_FILES} not listed in `files`. */
  filesOmitted: z.int().nonnegative().optional(),
});
export type RoomRunRecord = z.infer<typeof roomRunRecordSchema>;

/** A Yjs item id, as in a JSON-encoded `Y.RelativePosition`. */
const yIdSchema = z.object({ client: z.int().nonnegative(), clock: z.int().nonnegative() });

/**
 * A `Y.RelativePosition` as it travels in awareness (what
 * `Y.createRelativePositionFromTypeIndex(ytext, index)` serialises to).
 */
export const relativePositionSchema = z.object({
  type: yIdSchema.nullish(),
  tname: z.string().nullish(),
  item: yIdSchema.nullish(),
  assoc: z.int().optional(),
});

/** A selection in the active file; `head` is where the cursor is. Empty when anchor = head. */
export const collabSelectionSchema = z.object({ anchor: relativePositionSchema, head: relativePositionSchema });
export type CollabSelection = z.infer<typeof collabSelectionSchema>;

/** `#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb(…)`, `rgba(…)`, `hsl(…)`, `hsla(…)` or a colour name: safe to paste into CSS. */
export const CSS_COLOR = /^(#[0-9a-fA-F]{3,8}|(rgb|rgba|hsl|hsla)\([0-9a-z.,% /+-]{1,48}\)|[a-zA-Z]{3,20})$/;

/** Most selections (multi-cursor) one client publishes. */
export const MAX_AWARENESS_SELECTIONS = 32;
/** Largest awareness state of one client, bytes of JSON; larger states are dropped by the server. */
export const MAX_AWARENESS_STATE_BYTES = 8 * 1024;

/**
 * What each client publishes in awareness. Every field is optional (a client
 * fills them in as it starts up); unknown fields are kept. The server drops
 * states that do not match or exceed {@link MAX_AWARENESS_STATE_BYTES}.
 * - `user`: name and colour shown on cursors and in the people list. Colours are
 *   limited to {@link CSS_COLOR} so they can go into generated CSS as they are.
 * - `activeFile`: the path the user has open (a key of `files`), or null.
 * - `selection`: the primary selection; this is the field y-monaco's
 *   `MonacoBinding` writes and draws (`anchor`/`head` relative to the active file's Y.Text).
 * - `selections`: every selection, primary first (multi-cursor).
 * - `cursor`: the primary cursor as 1-based line/column, for "Ada is on main.py:12".
 */
export const awarenessStateSchema = z.looseObject({
  user: z
    .object({
      name: z.string().max(64),
      color: z.string().regex(CSS_COLOR, 'color must be #rgb, #rrggbb(aa), rgb(…), hsl(…) or a colour name'),
    })
    .optional(),
  activeFile: workspacePathSchema.nullable().optional(),
  selection: collabSelectionSchema.nullable().optional(),
  selections: z.array(collabSelectionSchema).max(MAX_AWARENESS_SELECTIONS).optional(),
  cursor: z.object({ line: z.int().positive(), column: z.int().positive() }).nullable().optional(),
});
export type AwarenessState = z.infer<typeof awarenessStateSchema>;

/** Input of `createRoom`. With `roomId`, creating an existing room returns it unchanged (idempotent). */
export const createRoomInputSchema = z.strictObject({
  title: z.string().trim().min(1).max(MAX_ROOM_TITLE_LENGTH).optional(),
  /** Create (or make sure of) this room instead of a new random id. */
  roomId: roomIdSchema.optional(),
  /**
   * A runtime id or alias: seed a new room with that runtime's hello-world
   * program (`main.go`…) instead of the Python starter, and make it the room's
   * `meta.language`. Ignored for a room that already exists.
   */
  language: languageSchema.optional(),
});
export type CreateRoomInput = z.infer<typeof createRoomInputSchema>;

export const createRoomOutputSchema = z.object({
  roomId: roomIdSchema,
  /** False when the room already existed (only possible with an explicit `roomId`). */
  created: z.boolean(),
});
export type CreateRoomOutput = z.infer<typeof createRoomOutputSchema>;

export const getRoomInputSchema = z.strictObject({ roomId: roomIdSchema });
export type GetRoomInput = z.infer<typeof getRoomInputSchema>;

/** What `getRoom` knows of a room without joining it. */
export const getRoomOutputSchema = z.object({
  /** True when the room was created or anything was ever stored in it. */
  exists: z.boolean(),
  title: z.string().nullable(),
  /** Paths in `files`, sorted. */
  files: z.array(z.string()),
  entry: z.string().nullable(),
  createdAt: z.int().nullable(),
  /** The caller's role in the room (null when it does not exist). Pages make the editor read-only below `editor`. */
  role: roomRoleSchema.nullable(),
  /** The gateway's room caps, so a page can refuse an upload before sending it. */
  limits: z
    .object({
      /** MAX_FILE_BYTES: largest binary file. */
      maxFileBytes: z.int().positive(),
      /** MAX_ROOM_BYTES: largest encoded room. */
      maxRoomBytes: z.int().positive(),
      /** MAX_ROOM_FILES */
      maxRoomFiles: z.int().positive(),
    })
    .optional(),
});
export type GetRoomOutput = z.infer<typeof getRoomOutputSchema>;

/**
 * `GET` this for a room as a zip (viewer and above; session cookie or
 * `Authorization: Bearer <API token>`). The zip has no top folder.
 */
export function roomExportPath(roomId: string): string {
  return `/rooms/${encodeURIComponent(roomId)}/export.zip`;
}

/**
 * `POST` a zip here (`Content-Type: application/zip`, editor and above) to have
 * it unpacked and checked; the answer ({@link zipImportOutputSchema}) is what
 * the page then writes into the room, so every room rule applies to it.
 */
export function roomImportPath(roomId: string): string {
  return `/rooms/${encodeURIComponent(roomId)}/import.zip`;
}

/** Answer of {@link roomImportPath}: the zip's files, text as `utf8`, anything else as `base64`. */
export const zipImportOutputSchema = z.object({ files: z.array(workspaceFileSchema) });
export type ZipImportOutput = z.infer<typeof zipImportOutputSchema>;

/**
 * Reasons the collab server gives when it refuses a room (provider
 * `authenticationFailed`) or a document connection (provider `close`):
 * `"<ErrorCode>: <message>"`, e.g. `"payload_too_large: ... (MAX_ROOM_BYTES)"`.
 * Version mismatches and role changes use the named reasons below. Access
 * ending (link revoked, member removed, room deleted) is `"forbidden: ..."` or
 * `"not_found: ..."`.
 */
export const CollabRejectReason = {
  clientTooOld: 'clientTooOld',
  clientTooNew: 'clientTooNew',
  /** The owner changed this person's role: reconnect to get the new rights (e.g. a now read-only editor). */
  roleChanged: 'roleChanged',
} as const;

/** Formats a refusal as `"<code>: <message>"`. */
export function formatCollabReason(code: ErrorCode, message: string): string {
  return `${code}: ${message}`;
}

/** Splits a `"<code>: <message>"` reason; null when it does not start with a known code. */
export function parseCollabReason(reason: string): { code: ErrorCode; message: string } | null {
  const i = reason.indexOf(': ');
  if (i < 0) return null;
  const code = reason.slice(0, i);
  return (ERROR_CODES as readonly string[]).includes(code) ? { code: code as ErrorCode, message: reason.slice(i + 2) } : null;
}
