import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  buildTree,
  createFile,
  deleteFile,
  entryOf,
  filePaths,
  filesOf,
  FileNameError,
  languageOf,
  metaOf,
  pathProblem,
  renameFile,
  runFiles,
  setEntry,
} from './roomFiles';

function seeded(): Y.Doc {
  const doc = new Y.Doc();
  filesOf(doc).set('main.py', new Y.Text('print(1)\n'));
  metaOf(doc).set('entry', 'main.py');
  return doc;
}

/** Applies every update of `a` to `b` and back (two clients in a room). */
function sync(a: Y.Doc, b: Y.Doc): void {
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)));
}

describe('room files', () => {
  it('creates files with checked paths', () => {
    const doc = seeded();
    expect(createFile(doc, ' ./lib/util.py ')).toBe('lib/util.py');
    expect(filePaths(doc)).toEqual(['lib/util.py', 'main.py']);
    expect(() => createFile(doc, 'main.py')).toThrow('main.py already exists');
    expect(() => createFile(doc, '../x.py')).toThrow(FileNameError);
    expect(() => createFile(doc, 'lib')).toThrow('lib is a folder');
    expect(() => createFile(doc, 'main.py/x')).toThrow('main.py is a file, not a folder');
    expect(pathProblem('a\\b', [])).toMatch(/backslash/);
  });

  it('renames in one transaction, the entry following', () => {
    const doc = seeded();
    const events: string[][] = [];
    filesOf(doc).observe((e) => events.push([...e.keysChanged].map(String).sort()));
    renameFile(doc, 'main.py', 'app.py');
    expect(events).toEqual([['app.py', 'main.py']]);
    expect(filePaths(doc)).toEqual(['app.py']);
    expect((filesOf(doc).get('app.py') as Y.Text).toJSON()).toBe('print(1)\n');
    expect(entryOf(doc)).toBe('app.py');
    expect(() => renameFile(doc, 'gone.py', 'x.py')).toThrow('gone.py no longer exists');
  });

  it('moves the entry when the entry file is deleted, and can delete the last file', () => {
    const doc = seeded();
    createFile(doc, 'notes.txt');
    createFile(doc, 'b.py');
    deleteFile(doc, 'main.py');
    expect(entryOf(doc)).toBe('b.py');
    deleteFile(doc, 'notes.txt');
    deleteFile(doc, 'b.py');
    expect(filePaths(doc)).toEqual([]);
    expect(entryOf(doc)).toBe('b.py');
  });

  it('sets the entry and lists what Run sends', () => {
    const doc = seeded();
    createFile(doc, 'lib/a.py', 'A = 1\n');
    setEntry(doc, 'lib/a.py');
    expect(runFiles(doc)).toEqual({
      entry: 'lib/a.py',
      files: [
        { path: 'lib/a.py', content: 'A = 1\n' },
        { path: 'main.py', content: 'print(1)\n' },
      ],
    });
  });

  it('converges when two clients create and rename concurrently', () => {
    const a = seeded();
    const b = new Y.Doc();
    sync(a, b);
    createFile(a, 'x.py', 'from a');
    renameFile(b, 'main.py', 'app.py');
    sync(a, b);
    expect(filePaths(a)).toEqual(filePaths(b));
    expect(filePaths(a)).toEqual(['app.py', 'x.py']);
    expect(entryOf(a)).toBe('app.py');
  });

  it('builds a tree, folders first', () => {
    const tree = buildTree(['main.py', 'pkg/b.py', 'pkg/a.py', 'pkg/sub/c.txt', 'a.txt']);
    expect(tree.map((n) => n.path)).toEqual(['pkg', 'a.txt', 'main.py']);
    const pkg = tree[0]!;
    expect(pkg.kind === 'dir' && pkg.children.map((n) => n.path)).toEqual(['pkg/sub', 'pkg/a.py', 'pkg/b.py']);
  });

  it('picks the Monaco mode from the runtime table (issue 10)', () => {
    expect(languageOf('x/main.py')).toBe('python');
    expect(languageOf('main.go')).toBe('go');
    expect(languageOf('src/lib.HPP')).toBe('cpp');
    expect(languageOf('list.h')).toBe('c');
    expect(languageOf('app.mjs')).toBe('javascript');
    expect(languageOf('main.ts')).toBe('typescript');
    expect(languageOf('Main.java')).toBe('java');
    expect(languageOf('main.rs')).toBe('rust');
    expect(languageOf('main.rb')).toBe('ruby');
    expect(languageOf('run.sh')).toBe('shell');
    expect(languageOf('README.md')).toBe('plaintext');
  });

  it('a deleted entry passes to a file of the same language first', () => {
    const doc = new Y.Doc();
    for (const p of ['a.py', 'main.go', 'util.go', 'notes.txt']) filesOf(doc).set(p, new Y.Text(''));
    metaOf(doc).set('entry', 'main.go');
    deleteFile(doc, 'main.go');
    expect(entryOf(doc)).toBe('util.go');
    deleteFile(doc, 'util.go');
    expect(entryOf(doc)).toBe('a.py');
  });
});
