import { describe, expect, it } from 'vitest';
import type { RunRequest } from '@codecell/protocol';
import { loadConfig } from '../config.js';
import { planRun } from './runPlan.js';
import { codeOf } from '../../test/runHelpers.js';

const config = loadConfig({ MAX_SOURCE_BYTES: '1000', MAX_FILES: '3', MAX_FILES_BYTES: '2000', MAX_MEM_MB: '256', MAX_VCPUS: '2' });
const req = (extra: Partial<RunRequest> = {}): RunRequest => ({ language: 'py', source: 'print(1)', ...extra });
describe('planRun', () => {
  it('applies defaults: entry main.py, limits from config, stdin open when no stdin is given', () => {
    const p = planRun(req(), config);
    expect(p.entry).toBe('main.py');
    expect(p.files).toEqual([{ path: 'main.py', content: Buffer.from('print(1)') }]);
    expect(p.timeoutMs).toBe(config.RUN_TIMEOUT_MS);
    expect(p.memoryMb).toBe(config.DEFAULT_MEM_MB);
    expect(p.stdinOpen).toBe(true);
    expect(planRun(req({ stdin: 'x' }), config).stdinOpen).toBe(false);
    expect(planRun(req({ stdin: 'x', stdinOpen: true }), config).stdinOpen).toBe(true);
  });

  it('puts args at the end of the run stage (issue 13)', () => {
    expect(planRun(req({ args: ['a', 'b c'] }), config).stages.at(-1)?.argv.slice(-3)).toEqual(['main.py', 'a', 'b c']);
  });

  it('sizes the VM from the program memory plus the guest overhead', () => {
    const p = planRun(req({ limits: { memoryMb: 200, vcpus: 2 } }), config);
    expect(p.shape.vcpus).toBe(2);
    expect(p.shape.memMb).toBeGreaterThan(200);
  });

  it('rejects each oversize input with its own code and names the variable', () => {
    expect(codeOf(() => planRun(req({ source: 'x'.repeat(1001) }), config))).toBe('source_too_large');
    const files = (n: number) => Array.from({ length: n }, (_, i) => ({ path: `f${i}.py`, content: '' }));
    expect(codeOf(() => planRun(req({ files: files(4) }), config))).toBe('too_many_files');
    expect(codeOf(() => planRun(req({ files: [{ path: 'a', content: 'x'.repeat(2001) }] }), config))).toBe('files_too_large');
    expect(codeOf(() => planRun(req({ limits: { memoryMb: 257 } }), config))).toBe('limit_exceeded');
    expect(codeOf(() => planRun(req({ limits: { vcpus: 3 } }), config))).toBe('limit_exceeded');
    expect(codeOf(() => planRun(req({ limits: { timeoutMs: 10_000_000 } }), config))).toBe('limit_exceeded');
    expect(() => planRun(req({ limits: { memoryMb: 257 } }), config)).toThrow(/MAX_MEM_MB/);
  });

  it('rejects duplicate files and file/directory clashes', () => {
    expect(codeOf(() => planRun(req({ files: [{ path: 'main.py', content: '' }] }), config))).toBe('invalid_path');
    expect(codeOf(() => planRun(req({ files: [{ path: 'a', content: '' }, { path: 'a', content: '' }] }), config))).toBe('invalid_path');
    expect(codeOf(() => planRun(req({ files: [{ path: 'a', content: '' }, { path: 'a/b', content: '' }] }), config))).toBe('invalid_path');
  });

  it('issue 11: writes base64 files byte for byte (all 256 values) and counts decoded bytes against MAX_FILES_BYTES', () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const p = planRun(req({ files: [{ path: 'all.bin', content: bytes.toString('base64'), encoding: 'base64' }, { path: 't.txt', content: 'é', encoding: 'utf8' }] }), config);
    expect(p.files[1]?.content.equals(bytes)).toBe(true);
    expect(p.files[2]?.content.equals(Buffer.from('é'))).toBe(true);
    // 1500 bytes decoded is 2000 characters of base64: within MAX_FILES_BYTES=2000 only because decoded bytes count.
    const big = Buffer.alloc(1500, 7).toString('base64');
    expect(big.length).toBe(2000);
    expect(codeOf(() => planRun(req({ files: [{ path: 'a.bin', content: big, encoding: 'base64' }] }), config))).toBeUndefined();
    const tooBig = Buffer.alloc(2001, 7).toString('base64');
    expect(codeOf(() => planRun(req({ files: [{ path: 'a.bin', content: tooBig, encoding: 'base64' }] }), config))).toBe('files_too_large');
  });
});
