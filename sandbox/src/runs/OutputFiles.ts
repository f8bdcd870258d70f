/**
 * The host's check of the files a run sent back (issue 11): the guest is not
 * trusted, so every `file` frame is held to the run's caps again (path inside
 * /workspace, count, content per file and per run) before it becomes a `file`
 * event. Text (UTF-8 without NUL) travels as `utf8`, anything else as base64.
 * @module
 */
import { textOf, workspacePathSchema } from '@codecell/protocol';
import type { FileEvent, FileFrame } from '@codecell/protocol';

/** Caps of one run's files (OUTPUT_FILE_BYTES, OUTPUT_FILES_BYTES, OUTPUT_FILES). */
export interface OutputFileCaps {
  readonly maxFileBytes: number;
  readonly maxRunBytes: number;
  readonly maxFiles: number;
}

/** Turns one run's file frames into file events, within its caps. */
export class OutputFiles {
  readonly #caps: OutputFileCaps;
  #files = 0;
  #bytes = 0;

  constructor(caps: OutputFileCaps) {
    this.#caps = caps;
  }

  /** The event for a file frame and its content (null: truncated), or null when it must be dropped. */
  event(file: FileFrame, content: Buffer | null): FileEvent | null {
    if (!workspacePathSchema.safeParse(file.path).success || this.#files >= this.#caps.maxFiles) return null;
    this.#files++;
    const fits = content !== null && content.length === file.size && content.length <= this.#caps.maxFileBytes && this.#bytes + content.length <= this.#caps.maxRunBytes;
    if (!fits) return { type: 'file', path: file.path, size: file.size, encoding: 'base64', content: '', truncated: true };
    this.#bytes += content.length;
    const text = textOf(content);
    return text === null
      ? { type: 'file', path: file.path, size: file.size, encoding: 'base64', content: content.toString('base64'), truncated: false }
      : { type: 'file', path: file.path, size: file.size, encoding: 'utf8', content: text, truncated: false };
  }
}
