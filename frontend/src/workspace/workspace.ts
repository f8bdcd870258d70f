/**
 * The files a run is made of. Today one local file kept in localStorage; later
 * a multi-file tree backed by the room's Yjs document. The editor and the run
 * controller only use this interface, so that swap stays local.
 * @module
 */
import type { WorkspaceFile } from '@codecell/protocol';
import { STARTER_PROGRAM } from './starter';

/** What `runCode` needs: every file of the workspace and the one to run. */
export interface WorkspaceSnapshot {
  readonly files: readonly WorkspaceFile[];
  readonly entry: string;
}

export interface Workspace {
  /** The file run by the Run button. */
  readonly entry: string;
  /** Every file and the entry point, as they are now. */
  snapshot(): WorkspaceSnapshot;
  /** Content of one file ('' when missing). */
  read(path: string): string;
  /** Replaces a file's content (creates the file when missing). */
  write(path: string, content: string): void;
}

/** Minimal Storage (localStorage, or a Map in tests). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export interface LocalWorkspaceOptions {
  readonly store?: KeyValueStore | null;
  /** Storage key. */
  readonly key?: string;
  readonly entry?: string;
  /** Content of `entry` when nothing was saved. */
  readonly starter?: string;
  /** Delay before writing to `store` after an edit. */
  readonly saveDelayMs?: number;
}

/** A workspace kept in the browser (localStorage), one file per path. */
export function createLocalWorkspace(opts: LocalWorkspaceOptions = {}): Workspace {
  const { store = null, key = 'codecell.workspace.v1', entry = 'main.py', starter = STARTER_PROGRAM } = opts;
  const saveDelayMs = opts.saveDelayMs ?? 300;
  const files = new Map<string, string>(load(store, key) ?? [[entry, starter]]);
  if (!files.has(entry)) files.set(entry, starter);
  let timer: ReturnType<typeof setTimeout> | null = null;

  const save = (): void => {
    timer = null;
    try {
      store?.setItem(key, JSON.stringify(Object.fromEntries(files)));
    } catch {
      // Quota or disabled storage: the session still works, it just is not kept.
    }
  };

  return {
    entry,
    snapshot: () => ({ entry, files: [...files].map(([path, content]) => ({ path, content })) }),
    read: (path) => files.get(path) ?? '',
    write(path, content) {
      files.set(path, content);
      if (store && timer === null) timer = setTimeout(save, saveDelayMs);
    },
  };
}

function load(store: KeyValueStore | null, key: string): Array<[string, string]> | null {
  try {
    const raw = store?.getItem(key);
    if (!raw) return null;
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null) return null;
    const entries = Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string');
    return entries.length > 0 ? entries : null;
  } catch {
    return null;
  }
}
