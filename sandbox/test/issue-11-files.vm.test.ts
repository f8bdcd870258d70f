/**
 * Issue 11 against real microVMs: files a program writes come back byte for
 * byte (1 MiB of random bytes, a PNG it makes itself, text), a file over the
 * cap comes back truncated with its size, request files go in byte for byte
 * (all 256 values), a file that appears while a long run goes on is sent
 * before the run ends, and a pruned session workspace loses the files the
 * request no longer has (files deleted in a room are gone in its VM).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileEvent, RunEvent } from '@codecell/protocol';
import { silentLogger } from '@codecell/server-kit';
import { loadConfig } from '../src/config.js';
import { createSandbox } from '../src/server/createSandbox.js';
import type { Sandbox } from '../src/server/createSandbox.js';
import { runPy } from './runHelpers.js';

const CAP = 1536 * 1024;
// Cold boots (no snapshot template): on a loaded 2-core host the template's warm-up run overran its 15 s; files do not depend on the pool mode.
let sb: Sandbox;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cc-files-'));
  sb = await createSandbox(loadConfig({ POOL_SIZE: '1', SANDBOX_RUN_DIR: dir, OUTPUT_FILE_BYTES: String(CAP), SESSION_IDLE_MS: '60000', BOOT_TIMEOUT_MS: '120000', POOL_MODE: 'boot' }), silentLogger);
});
afterAll(async () => {
  await sb?.dispose();
});

const filesOf = (events: readonly RunEvent[]): FileEvent[] => events.filter((e): e is FileEvent => e.type === 'file');
const bytesOf = (f: FileEvent | undefined): Buffer => Buffer.from(f?.content ?? '', f?.encoding === 'base64' ? 'base64' : 'utf8');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('issue 11: files a program writes come back', () => {
  it('1 MiB of random bytes and a PNG byte for byte, text as utf8, an over-cap file truncated with its size, all before exit', async () => {
    const program = `
import hashlib, os, struct, zlib
rnd = os.urandom(1 << 20)
os.makedirs('out', exist_ok=True)
open('out/random.bin', 'wb').write(rnd)
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
raw = b''.join(b'\\0' + b''.join(bytes((x * 8, y * 8, 128)) for x in range(32)) for y in range(32))
png = b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 32, 32, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
open('plot.png', 'wb').write(png)
open('notes.txt', 'w').write('héllo\\n')
open('big.bin', 'wb').write(b'x' * (2 << 20))
os.makedirs('__pycache__', exist_ok=True); open('__pycache__/ignored.pyc', 'wb').write(b'x')
print(hashlib.sha256(rnd).hexdigest(), hashlib.sha256(png).hexdigest())
`;
    const r = await runPy(sb.runs, program, { limits: { timeoutMs: 60_000 } });
    expect(r.exit?.status, r.stderr).toBe('ok');
    const [rndSha, pngSha] = r.stdout.trim().split(' ');
    const files = filesOf(r.events);
    const by = new Map(files.map((f) => [f.path, f]));
    expect([...by.keys()].sort()).toEqual(['big.bin', 'notes.txt', 'out/random.bin', 'plot.png']);
    expect(sha(bytesOf(by.get('out/random.bin')))).toBe(rndSha);
    expect(by.get('out/random.bin')).toMatchObject({ size: 1 << 20, encoding: 'base64', truncated: false });
    const png = bytesOf(by.get('plot.png'));
    expect(sha(png)).toBe(pngSha);
    expect(png.subarray(0, 8).toString('latin1')).toBe('\x89PNG\r\n\x1a\n');
    expect(by.get('notes.txt')).toMatchObject({ encoding: 'utf8', content: 'héllo\n', truncated: false });
    expect(by.get('big.bin')).toEqual({ type: 'file', path: 'big.bin', size: 2 << 20, encoding: 'base64', content: '', truncated: true });
    // Every file event comes before the exit; the entry file (unchanged) is not reported.
    const exitAt = r.events.findIndex((e) => e.type === 'exit');
    expect(r.events.findLastIndex((e) => e.type === 'file')).toBeLessThan(exitAt);
  });

  it("a matplotlib savefig('plot.png') comes back as a PNG file event (Agg backend, no display)", async () => {
    const program = "import matplotlib.pyplot as plt\nplt.plot([0, 1, 2], [0, 1, 4])\nplt.savefig('plot.png')\nprint('saved')\n";
    const r = await runPy(sb.runs, program, { limits: { timeoutMs: 60_000 } });
    expect(r.exit?.status, r.stderr).toBe('ok');
    const plot = filesOf(r.events).find((f) => f.path === 'plot.png');
    expect(plot?.encoding).toBe('base64');
    expect(bytesOf(plot).subarray(0, 8).toString('latin1')).toBe('\x89PNG\r\n\x1a\n');
    expect(plot?.size).toBeGreaterThan(1000);
  });

  it('writes request files byte for byte (all 256 values) and reports a file the program changed', async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const program = `
import hashlib
data = open('all.bin', 'rb').read()
print(len(data), hashlib.sha256(data).hexdigest())
open('notes.txt', 'a').write('more\\n')
`;
    const r = await runPy(sb.runs, program, { files: [{ path: 'all.bin', content: all.toString('base64'), encoding: 'base64' }, { path: 'notes.txt', content: 'start\n' }] });
    expect(r.stdout.trim()).toBe(`256 ${sha(all)}`);
    expect(filesOf(r.events).map((f) => [f.path, f.content])).toEqual([['notes.txt', 'start\nmore\n']]);
  });

  it('sends a file while a long run goes on', async () => {
    const program = `
import sys, time
open('early.txt', 'w').write('first\\n')
print('wrote', flush=True)
time.sleep(4)
print('done')
`;
    const seen: Array<{ type: string; t: number }> = [];
    const t0 = Date.now();
    const job = sb.runs.start({ language: 'py', source: program });
    for await (const e of job.events) seen.push({ type: e.type === 'stdout' ? `stdout:${e.data.trim()}` : e.type, t: Date.now() - t0 });
    const file = seen.findIndex((e) => e.type === 'file');
    const done = seen.findIndex((e) => e.type === 'stdout:done');
    expect(file, JSON.stringify(seen)).toBeGreaterThanOrEqual(0);
    expect(file).toBeLessThan(done);
  });

  it('prunes a session workspace to the request files: a file deleted from the room is gone in the VM', async () => {
    const sessionId = `files-${Date.now()}`;
    const first = await runPy(sb.runs, "open('made.txt', 'w').write('x')\nprint(sorted(__import__('os').listdir('.')))", {
      sessionId,
      prune: true,
      files: [{ path: 'keep.txt', content: 'k' }, { path: 'old/gone.txt', content: 'g' }],
    });
    expect(first.exit?.status, first.stderr).toBe('ok');
    expect(first.stdout).toContain("'old'");
    // The room no longer has old/gone.txt nor made.txt: the next run's workspace must not either.
    const second = await runPy(sb.runs, "import os\nprint(sorted(p for p in os.listdir('.') if not p.startswith('.')))", { sessionId, prune: true, files: [{ path: 'keep.txt', content: 'k' }] });
    expect(second.stdout.trim()).toBe("['keep.txt', 'main.py']");
    expect(second.vmId).toBe(first.vmId);
    // Without prune (API callers that send only some files), earlier files stay.
    const third = await runPy(sb.runs, "import os\nprint(os.path.exists('keep.txt'))", { sessionId });
    expect(third.stdout.trim()).toBe('True');
  });
});
