import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { helloTemplate, runtimeList } from '@codecell/protocol';
import { entryOf, filePaths, filesOf, metaOf } from './roomFiles';
import { chooseLanguage, languageChange, languageChoiceOf, pickerLabel, roomRunLanguage, runSubmission } from './roomLanguage';

function room(paths: readonly string[], entry: string): Y.Doc {
  const doc = new Y.Doc();
  for (const p of paths) filesOf(doc).set(p, new Y.Text(`// ${p}\n`));
  metaOf(doc).set('entry', entry);
  return doc;
}

describe('the language a room runs as (issue 10)', () => {
  it('follows the entry file; meta.language decides only where the extension cannot', () => {
    const doc = room(['main.go', 'run', 'list.h'], 'main.go');
    expect(roomRunLanguage(doc, 'main.go')).toBe('go');
    expect(roomRunLanguage(doc, 'run')).toBe('py');
    metaOf(doc).set('language', 'sh');
    expect(roomRunLanguage(doc, 'run')).toBe('sh');
    expect(roomRunLanguage(doc, 'main.go')).toBe('go');
    metaOf(doc).set('language', 'cpp');
    expect(roomRunLanguage(doc, 'list.h')).toBe('cpp');
    // A client may write anything into meta: only runtime ids count.
    metaOf(doc).set('language', 'c++');
    expect(languageChoiceOf(doc)).toBeNull();
    expect(runSubmission(doc)).toEqual({ files: expect.any(Array) as unknown[], entry: 'main.go', language: 'go' });
  });

  it('choosing a language the entry can run as only records the choice', () => {
    const doc = room(['run'], 'run');
    expect(chooseLanguage(doc, 'rb')).toBe('run');
    expect(metaOf(doc).toJSON()).toEqual({ entry: 'run', language: 'rb' });
    expect(filePaths(doc)).toEqual(['run']);
  });

  it("choosing another language switches the entry to that language's source (its main first), never to a header", () => {
    expect(languageChange({ entry: 'main.py', paths: ['main.py', 'b.go', 'main.go'], language: 'go' })).toEqual({ kind: 'switchEntry', path: 'main.go' });
    expect(languageChange({ entry: 'main.py', paths: ['main.py', 'src/app.cpp', 'src/app.hpp'], language: 'cpp' })).toEqual({ kind: 'switchEntry', path: 'src/app.cpp' });
    expect(languageChange({ entry: 'main.py', paths: ['main.py', 'list.h'], language: 'c' })).toMatchObject({ kind: 'create', path: 'main.c' });
    const doc = room(['main.py', 'tool.go'], 'main.py');
    expect(chooseLanguage(doc, 'go')).toBe('tool.go');
    expect(metaOf(doc).toJSON()).toEqual({ entry: 'tool.go', language: 'go' });
  });

  it("adds the language's hello world when the room has none of its files, in one change", () => {
    const doc = room(['main.py'], 'main.py');
    const changes: number[] = [];
    doc.on('update', () => changes.push(1));
    expect(chooseLanguage(doc, 'java')).toBe('Main.java');
    expect(changes).toHaveLength(1);
    expect((filesOf(doc).get('Main.java') as Y.Text).toJSON()).toBe(helloTemplate('java')[0]?.content);
    expect(entryOf(doc)).toBe('Main.java');
    expect(roomRunLanguage(doc, 'Main.java')).toBe('java');
  });

  it('says so when the new file cannot be added', () => {
    const doc = room(['main.py', 'main.rs/notes.txt'], 'main.py');
    expect(() => chooseLanguage(doc, 'rs')).toThrow('cannot add main.rs: main.rs is a folder');
    expect(entryOf(doc)).toBe('main.py');
  });

  it('labels picker options with the version, what choosing does, and what the sandbox lacks', () => {
    const [py, , , go] = runtimeList(new Map([['py', '3.11.2'], ['js', 'unknown']]));
    expect(pickerLabel(py!, { kind: 'choose' })).toBe('Python 3.11.2');
    expect(pickerLabel(go!, { kind: 'create', path: 'main.go', content: '' })).toBe('Go (adds main.go; not on this sandbox)');
    expect(pickerLabel({ ...go!, version: '1.19.8', available: true }, { kind: 'switchEntry', path: 'tool.go' })).toBe('Go 1.19.8 (runs tool.go)');
  });
});
