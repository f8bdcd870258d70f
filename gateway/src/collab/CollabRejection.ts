/**
 * The error collab hooks throw to refuse a room, a connection or an update.
 * @module
 */
import { CodeCellError, formatCollabReason } from '@codecell/protocol';
import type { ErrorCode } from '@codecell/protocol';

/**
 * A refusal by a collab hook. Hocuspocus sends `reason` to the provider: in
 * `authenticationFailed` when the room was refused at connect, in `close` when
 * a document connection was dropped for a bad update. `reason` is
 * `"<code>: <message>"` (see `parseCollabReason`) unless a named reason is given.
 */
export class CollabRejection extends CodeCellError {
  override readonly name = 'CollabRejection';
  /** What the provider is told. */
  readonly reason: string;

  constructor(code: ErrorCode, message: string, options?: { reason?: string }) {
    super(code, message);
    this.reason = options?.reason ?? formatCollabReason(code, message);
  }
}
