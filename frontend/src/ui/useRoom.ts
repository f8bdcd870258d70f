/**
 * React views of a room: connection state, files and entry, run history and
 * participants, each re-rendering only when what it shows changed.
 * @module
 */
import { useMemo, useSyncExternalStore } from 'react';
import type { Awareness } from 'y-protocols/awareness';
import type * as Y from 'yjs';
import type { RoomRunRecord, RuntimeId } from '@codecell/protocol';
import { participantsFrom, sameParticipants } from '../collab/participants';
import type { Participant } from '../collab/participants';
import { entryOf, filePaths, filesOf, metaOf, titleOf } from '../collab/roomFiles';
import { roomRunLanguage } from '../collab/roomLanguage';
import { readRuns, runsOf } from '../collab/roomRuns';
import type { RoomSession, RoomSessionState } from '../collab/RoomSession';

interface StoreSpec<T> {
  /** What the store belongs to (the document or awareness); `read` and `listen` derive from it. */
  readonly deps: readonly unknown[];
  readonly read: () => T;
  readonly listen: (onChange: () => void) => () => void;
  readonly equal: (a: T, b: T) => boolean;
}

/** A cached snapshot recomputed when `listen` reports a change. */
function useStore<T>({ deps, read, listen, equal }: StoreSpec<T>): T {
  const store = useMemo(() => {
    let value = read();
    return {
      get: () => value,
      subscribe: (notify: () => void) =>
        listen(() => {
          const next = read();
          if (equal(value, next)) return;
          value = next;
          notify();
        }),
    };
  }, deps);
  return useSyncExternalStore(store.subscribe, store.get);
}

export function useSessionState(session: RoomSession): RoomSessionState {
  return useSyncExternalStore(session.subscribe, session.getState);
}

/** What the file tree and the runtime picker show. */
export interface RoomFilesView {
  readonly paths: readonly string[];
  /** Paths whose value is bytes (not a Y.Text). */
  readonly binary: readonly string[];
  readonly entry: string | null;
  readonly title: string | null;
  /** The language Run uses for the entry (its extension, else the room's choice). */
  readonly language: RuntimeId;
}

const sameStrings = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export function useRoomFiles(doc: Y.Doc): RoomFilesView {
  return useStore<RoomFilesView>({
    deps: [doc],
    read: () => {
      const paths = filePaths(doc);
      const files = filesOf(doc);
      const entry = entryOf(doc);
      return {
        paths,
        binary: paths.filter((p) => files.get(p) instanceof Uint8Array),
        entry,
        title: titleOf(doc),
        language: roomRunLanguage(doc, entry ?? paths[0] ?? 'main.py'),
      };
    },
    listen: (onChange) => {
      const files = filesOf(doc);
      const meta = metaOf(doc);
      files.observe(onChange);
      meta.observe(onChange);
      return () => {
        files.unobserve(onChange);
        meta.unobserve(onChange);
      };
    },
    equal: (a, b) => a.entry === b.entry && a.title === b.title && a.language === b.language && sameStrings(a.paths, b.paths) && sameStrings(a.binary, b.binary),
  });
}

export function useRoomRuns(doc: Y.Doc): readonly RoomRunRecord[] {
  return useStore<readonly RoomRunRecord[]>({
    deps: [doc],
    read: () => readRuns(doc),
    listen: (onChange) => {
      const runs = runsOf(doc);
      runs.observe(onChange);
      return () => runs.unobserve(onChange);
    },
    equal: (a, b) => a.length === b.length && a.every((r, i) => JSON.stringify(r) === JSON.stringify(b[i])),
  });
}

export function useParticipants(awareness: Awareness, selfId: number): readonly Participant[] {
  return useStore<readonly Participant[]>({
    deps: [awareness, selfId],
    read: () => participantsFrom(awareness.getStates(), selfId),
    listen: (onChange) => {
      awareness.on('change', onChange);
      return () => awareness.off('change', onChange);
    },
    equal: sameParticipants,
  });
}
