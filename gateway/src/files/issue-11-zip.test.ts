/**
 * Issue 11: zip import refuses what a room cannot hold, naming the entry:
 * `..` and absolute paths, backslashes, symbolic links, devices, duplicates,
 * file/folder clashes, too many files, oversized entries (declared, and a zip
 * bomb that lies about its size). Export then import gives the same bytes.
 */
import { randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { CodeCellError } from '@codecell/protocol';
import { rawZip } from '../test/rawZip.js';
import type { RawZipEntry } from '../test/rawZip.js';
import { zipStream } from './zipExport.js';
import { unpackZip } from './zipImport.js';

const limits = { maxFileBytes: 64 * 1024, maxTotalBytes: 256 * 1024, maxFiles: 5 };
const ok = (name: string, data = 'x'): RawZipEntry => ({ name, data: Buffer.from(data) });

async function refusal(entries: readonly RawZipEntry[]): Promise<{ code: string; message: string }> {
  const err = await unpackZip(rawZip(entries), limits).then(
    () => new Error('the zip was accepted'),
    (e: unknown) => e,
  );
  if (!(err instanceof CodeCellError)) throw err;
  return { code: err.code, message: err.message };
}

describe('issue 11: zip import', () => {
  it('unpacks files and folders, telling text from binary', async () => {
    const bin = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const files = await unpackZip(rawZip([{ name: 'src/', data: Buffer.alloc(0), mode: 0o040755 }, ok('src/main.py', 'print(1)\n'), { name: 'data/all.bin', data: bin, deflate: true }]), limits);
    expect(files.map((f) => [f.path, f.text])).toEqual([['src/main.py', 'print(1)\n'], ['data/all.bin', null]]);
    expect(files[1]?.bytes.equals(bin)).toBe(true);
  });

  it.each([
    ['../evil.py', 'invalid_path', /zip entry "..\/evil.py" has a path a room cannot hold: .*".."/],
    ['a/../../evil.py', 'invalid_path', /zip entry "a\/..\/..\/evil.py" has a path/],
    ['/etc/passwd', 'invalid_path', /zip entry "\/etc\/passwd" has a path a room cannot hold: path must be relative/],
    ['dir/.', 'invalid_path', /zip entry "dir\/\." has a path/],
  ])('refuses the name %s', async (name, code, message) => {
    expect(await refusal([ok('fine.py'), ok(name)])).toEqual({ code, message: expect.stringMatching(message) as string });
  });

  it('reads Windows backslashes as folders (as yauzl does), then applies the same rule', async () => {
    expect((await unpackZip(rawZip([ok('dir\\win.py')]), limits)).map((f) => f.path)).toEqual(['dir/win.py']);
    expect((await refusal([ok('..\\evil.py')])).code).toBe('invalid_path');
  });

  it('refuses symbolic links and devices', async () => {
    expect(await refusal([{ name: 'link', data: Buffer.from('/etc/passwd'), mode: 0o120777 }])).toEqual({
      code: 'invalid_path',
      message: 'zip entry "link" is a symbolic link; a room holds only files (zip the file it points to instead)',
    });
    expect((await refusal([{ name: 'dev', data: Buffer.alloc(0), mode: 0o020644 }])).message).toMatch(/"dev" is not a file or folder/);
  });

  it('refuses duplicates, a file that is also a folder, and too many files', async () => {
    expect((await refusal([ok('a.py'), ok('a.py')])).message).toBe('zip entry "a.py" appears twice in the zip');
    expect((await refusal([ok('lib'), ok('lib/x.py')])).message).toBe('zip entry "lib/x.py" is inside "lib", which is also a file in this zip');
    expect(await refusal(['1', '2', '3', '4', '5', '6'].map((n) => ok(`${n}.txt`)))).toEqual({
      code: 'too_many_files',
      message: 'zip entry "6.txt" is file number 6; a room holds at most 5 (MAX_ROOM_FILES)',
    });
  });

  it('refuses oversized entries before inflating them, and a zip bomb that lies about its size', async () => {
    const bomb = Buffer.alloc(50 * 1024 * 1024);
    expect(await refusal([{ name: 'zeros.bin', data: bomb, deflate: true }])).toEqual({
      code: 'files_too_large',
      message: 'zip entry "zeros.bin" is 50.0 MiB uncompressed; the limit is 256.0 KiB (MAX_ROOM_BYTES)',
    });
    const liar = await refusal([{ name: 'liar.bin', data: bomb, deflate: true, declaredSize: 1000 }]);
    expect(liar.code).toBe('invalid_request');
    expect(liar.message).toMatch(/damaged|inflates past/);
    expect((await refusal([ok('a.txt', 'a'.repeat(200 * 1024)), ok('b.txt', 'b'.repeat(100 * 1024))])).message).toBe(
      'zip entry "b.txt" brings the zip to 300.0 KiB uncompressed; a room holds at most 256.0 KiB (MAX_ROOM_BYTES)',
    );
    const bigBinary = await refusal([{ name: 'big.bin', data: randomBytes(65 * 1024) }]);
    expect(bigBinary).toEqual({ code: 'files_too_large', message: 'zip entry "big.bin" is a binary file of 65.0 KiB; the limit is 64.0 KiB (MAX_FILE_BYTES)' });
  });

  it('refuses what is not a zip', async () => {
    const err = await unpackZip(Buffer.from('hello, not a zip'), limits).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/not a zip file/) as string });
  });

  it('exports a room as a zip that imports back byte for byte', async () => {
    const files = [
      { path: 'main.py', bytes: Buffer.from('print("hé")\n') },
      { path: 'data/all.bin', bytes: Uint8Array.from({ length: 256 }, (_, i) => i) },
      { path: 'data/random.bin', bytes: Uint8Array.from(randomBytes(40_000)) },
    ];
    const zip = await buffer(zipStream(files));
    const back = await unpackZip(zip, limits);
    expect(back.map((f) => f.path)).toEqual(files.map((f) => f.path));
    for (const [i, f] of back.entries()) expect(f.bytes.equals(Buffer.from(files[i]!.bytes))).toBe(true);
  });
});
