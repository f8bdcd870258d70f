/**
 * The language a room's Run uses, and what choosing another one in the
 * "Run <entry> as" picker does. The entry's extension decides
 * (`runLanguage(entry, meta.language)` from the protocol); `meta.language`
 * is the room's choice, for entries the extension cannot decide (a `run`
 * script, a `.h` file). Choosing a language the entry cannot be run as makes
 * a file of that language the entry, adding its hello-world program when the
 * room has none. Every change is one Yjs transaction, seen by everyone.
 * @module
 */
import * as Y from 'yjs';
import { RUNTIMES, ROOM_META_KEYS, extensionOf, helloTemplate, isRuntimeId, runLanguage, runtimesForEntry } from '@codecell/protocol';
import type { Runtime, RuntimeId, WorkspaceFile } from '@codecell/protocol';
import { FileNameError, comparePaths, entryOf, filePaths, filesOf, metaOf, pathProblem, runFiles } from './roomFiles';

/** The room's chosen runtime (`meta.language`) when it is a runtime id, else null. */
export function languageChoiceOf(doc: Y.Doc): RuntimeId | null {
  const value = metaOf(doc).get(ROOM_META_KEYS.language);
  return isRuntimeId(value) ? value : null;
}

/** The language Run uses for `entry` in this room. */
export function roomRunLanguage(doc: Y.Doc, entry: string): RuntimeId {
  return runLanguage(entry, languageChoiceOf(doc) ?? undefined);
}

/** What Run sends: every file, the entry, and the language it runs as. */
export function runSubmission(doc: Y.Doc): { files: WorkspaceFile[]; entry: string; language: RuntimeId } {
  const { files, entry } = runFiles(doc);
  return { files, entry, language: roomRunLanguage(doc, entry) };
}

/** What choosing `language` in the picker does to the room. */
export type LanguageChange =
  /** The entry can run as it: only `meta.language` changes. */
  | { readonly kind: 'choose' }
  /** `path`, a source file of that language, becomes the entry. */
  | { readonly kind: 'switchEntry'; readonly path: string }
  /** The room has no file of that language: its hello-world program is added at `path` and becomes the entry. */
  | { readonly kind: 'create'; readonly path: string; readonly content: string };

/**
 * What choosing `language` would do, given the room's files and entry.
 * @example languageChange({ entry: 'main.py', paths: ['main.py'], language: 'go' }) // { kind: 'create', path: 'main.go', … }
 */
export function languageChange(o: { readonly entry: string; readonly paths: readonly string[]; readonly language: RuntimeId }): LanguageChange {
  if (runtimesForEntry(o.entry).includes(o.language)) return { kind: 'choose' };
  const spec = RUNTIMES[o.language];
  const sources = o.paths.filter((p) => spec.sources.extensions.includes(extensionOf(p) ?? '')).sort(comparePaths);
  const path = sources.find((p) => p === spec.entry) ?? sources.find((p) => /^main\./i.test(p.slice(p.lastIndexOf('/') + 1))) ?? sources[0];
  if (path !== undefined) return { kind: 'switchEntry', path };
  const [template] = helloTemplate(o.language);
  return { kind: 'create', path: template?.path ?? spec.entry, content: template?.content ?? '' };
}

/**
 * Makes the room run as `language` (see {@link languageChange}) and returns the
 * entry afterwards, for the page to open. @throws FileNameError when the new file's name is taken by a folder
 */
export function chooseLanguage(doc: Y.Doc, language: RuntimeId): string {
  const entry = entryOf(doc) ?? filePaths(doc)[0] ?? RUNTIMES[language].entry;
  const change = languageChange({ entry, paths: filePaths(doc), language });
  if (change.kind === 'create') {
    const problem = pathProblem(change.path, filePaths(doc));
    if (problem !== null) throw new FileNameError(`cannot add ${change.path}: ${problem}`);
  }
  doc.transact(() => {
    if (change.kind === 'create') filesOf(doc).set(change.path, new Y.Text(change.content));
    if (change.kind !== 'choose') metaOf(doc).set(ROOM_META_KEYS.entry, change.path);
    if (languageChoiceOf(doc) !== language) metaOf(doc).set(ROOM_META_KEYS.language, language);
  });
  return change.kind === 'choose' ? entry : change.path;
}

/** "C++ 12.2.0"; "Go" while the version is unknown. */
export function runtimeName(r: Pick<Runtime, 'name' | 'version'>): string {
  return r.version === null ? r.name : `${r.name} ${r.version}`;
}

/**
 * A picker option's words: the runtime and its version, what choosing it does
 * to the room, and whether the sandbox has it.
 * @example pickerLabel(go, { kind: 'create', path: 'main.go', content: '…' }) // 'Go 1.19.8 (adds main.go)'
 */
export function pickerLabel(r: Runtime, change: LanguageChange): string {
  const does = change.kind === 'create' ? `adds ${change.path}` : change.kind === 'switchEntry' ? `runs ${change.path}` : null;
  const notes = [does, r.available ? null : 'not on this sandbox'].filter((x) => x !== null);
  return notes.length === 0 ? runtimeName(r) : `${runtimeName(r)} (${notes.join('; ')})`;
}
