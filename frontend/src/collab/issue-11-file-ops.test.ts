/**
 * Issue 11: folders and uploads in the room document. Renaming a folder is one
 * transaction (the other client sees one change); uploads are checked whole
 * and refused by name; binary files run as base64 and round trip every byte.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { base64ToBytes } from '@codecell/protocol';
import { addFiles, createFolder, deleteFolder, FOLDER_KEEP_FILE, incomingFromWorkspace, renameFolder } from './fileOps';
import { entryOf, fileBytes, filePaths, filesOf, metaOf, renameFile, runFiles } from './roomFiles';

const limits = { maxFileBytes: 1024, maxRoomBytes: 16 * 1024, maxRoomFiles: 6 };
const ALL = Uint8Array.from({ length: 256 }, (_, i) => i);
const utf8 = (s: string) => new TextEncoder().encode(s);

function room(): Y.Doc {
  const doc = new Y.Doc();
  const files = filesOf(doc);
  files.set('main.py', new Y.Text('import lib.a\n'));
  files.set('lib/a.py', new Y.Text('A = 1\n'));
  files.set('lib/deep/b.bin', Uint8Array.of(1, 2, 3));
  metaOf(doc).set('entry', 'lib/a.py');
  return doc;
}

describe('issue 11: folders', () => {
  it('creates an empty folder as a .gitkeep file, and refuses names that are taken', () => {
    const doc = room();
    expect(createFolder(doc, 'data/')).toBe('data');
    expect(filePaths(doc)).toContain(`data/${FOLDER_KEEP_FILE}`);
    expect(() => createFolder(doc, 'lib')).toThrow('lib already exists');
    expect(() => createFolder(doc, 'main.py')).toThrow('main.py already exists');
    expect(() => createFolder(doc, '../up')).toThrow(/"\.\."/);
  });

  it('renames a folder in one transaction, moving text and bytes and the entry; the other client sees one change', () => {
    const doc = room();
    const other = new Y.Doc();
    Y.applyUpdate(other, Y.encodeStateAsUpdate(doc));
    const seen: string[][] = [];
    filesOf(other).observe((e) => seen.push([...e.keysChanged].map(String).sort()));
    const before = Y.encodeStateVector(other);
    renameFolder(doc, 'lib', 'src/lib');
    Y.applyUpdate(other, Y.encodeStateAsUpdate(doc, before));
    expect(seen).toEqual([['lib/a.py', 'lib/deep/b.bin', 'src/lib/a.py', 'src/lib/deep/b.bin']]);
    expect(filePaths(other)).toEqual(['src/lib/deep/b.bin', 'src/lib/a.py', 'main.py']);
    expect(fileBytes(other, 'src/lib/deep/b.bin')).toEqual(Uint8Array.of(1, 2, 3));
    expect(fileBytes(other, 'src/lib/a.py')).toEqual(utf8('A = 1\n'));
    expect(entryOf(other)).toBe('src/lib/a.py');
    expect(() => renameFolder(doc, 'src', 'src/inner')).toThrow('src/inner is inside src');
    expect(() => renameFolder(doc, 'src/lib', 'main.py')).toThrow('main.py is a file, not a folder');
  });

  it('deletes every file under a folder at once', () => {
    const doc = room();
    deleteFolder(doc, 'lib');
    expect(filePaths(doc)).toEqual(['main.py']);
    expect(entryOf(doc)).toBe('main.py');
  });
});

describe('issue 11: uploads', () => {
  it('adds text as Y.Text and anything else as bytes, replacing files of the same name', () => {
    const doc = room();
    expect(addFiles(doc, [{ path: 'up/all.bin', bytes: ALL }, { path: 'up/notes.md', bytes: utf8('# hi') }, { path: 'main.py', bytes: utf8('print(2)') }], limits)).toEqual(['up/all.bin', 'up/notes.md', 'main.py']);
    expect(filesOf(doc).get('up/all.bin')).toEqual(ALL);
    expect(filesOf(doc).get('up/notes.md')).toBeInstanceOf(Y.Text);
    expect(fileBytes(doc, 'main.py')).toEqual(utf8('print(2)'));
  });

  it('refuses the whole upload, naming the file, on a bad path, a clash, an oversized binary or too many files', () => {
    const doc = room();
    const refused = (files: Array<{ path: string; bytes: Uint8Array }>) => {
      const before = filePaths(doc);
      let message = '';
      try {
        addFiles(doc, files, limits);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(filePaths(doc)).toEqual(before);
      return message;
    };
    const ok = { path: 'ok.txt', bytes: utf8('fine') };
    expect(refused([ok, { path: '../x', bytes: utf8('x') }])).toMatch(/^\.\.\/x: path may not contain/);
    expect(refused([ok, { path: 'lib', bytes: utf8('x') }])).toBe('lib: lib is a folder');
    expect(refused([ok, { path: 'big.bin', bytes: new Uint8Array(1025) }])).toBe('big.bin is 1.0 KiB; a binary file may be at most 1.0 KiB (MAX_FILE_BYTES)');
    expect(refused(['1', '2', '3', '4'].map((n) => ({ path: `${n}.txt`, bytes: utf8(n) })))).toBe('4 files do not fit: the room has 3 and holds at most 6 (MAX_ROOM_FILES)');
    expect(refused([{ path: 'huge.txt', bytes: utf8('x'.repeat(20 * 1024)) }])).toMatch(/^huge.txt does not fit: the room would hold over 16.0 KiB \(MAX_ROOM_BYTES\)/);
  });

  it('runs binary files as base64 that decodes to every original byte; renaming keeps the bytes', () => {
    const doc = room();
    addFiles(doc, incomingFromWorkspace([{ path: 'all.bin', content: 'AAECAw==', encoding: 'base64' }, { path: 't.txt', content: 'é' }]), limits);
    expect(fileBytes(doc, 'all.bin')).toEqual(Uint8Array.of(0, 1, 2, 3));
    filesOf(doc).set('every.bin', ALL);
    renameFile(doc, 'every.bin', 'moved/every.bin');
    const sent = runFiles(doc).files.find((f) => f.path === 'moved/every.bin');
    expect(sent?.encoding).toBe('base64');
    expect(base64ToBytes(sent?.content ?? '')).toEqual(ALL);
    expect(runFiles(doc).files.find((f) => f.path === 't.txt')).toEqual({ path: 't.txt', content: 'é' });
  });
});
