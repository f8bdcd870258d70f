import { describe, expect, it } from 'vitest';
import { CodeCellError, RUNTIME_IDS, runtimeList } from '@codecell/protocol';
import type { Health } from '@codecell/protocol';
import { RUNTIMES_RETRY_MS, RUNTIMES_TTL_MS, RuntimeCatalog } from './RuntimeCatalog.js';
import { captureLogger } from './test/captureLogger.js';
import { FakeSandbox } from './test/FakeSandbox.js';

function setup() {
  const sandbox = new FakeSandbox();
  const { logger, entries } = captureLogger();
  let now = 1_000;
  const catalog = new RuntimeCatalog({ sandbox, logger, now: () => now });
  return { sandbox, entries, catalog, advance: (ms: number) => (now += ms) };
}

const byId = (list: Awaited<ReturnType<RuntimeCatalog['list']>>, id: string) => list.find((r) => r.language === id);

describe('RuntimeCatalog: the runtimes procedure from GET /runtimes', () => {
  it('lists the whole table in its order, with the versions and availability the sandbox reports', async () => {
    const { sandbox, catalog } = setup();
    sandbox.runtimeList = [
      { id: 'py', version: '3.11.2' },
      { id: 'cpp', version: '12.2.0' },
      { id: 'rs', version: 'unknown' },
      { id: 'zig', version: '0.11' },
    ];
    const list = await catalog.list();
    expect(list.map((r) => r.language)).toEqual(RUNTIME_IDS);
    expect(byId(list, 'cpp')).toEqual({
      language: 'cpp',
      name: 'C++',
      version: '12.2.0',
      available: true,
      entry: 'main.cpp',
      aliases: ['c++', 'g++', 'cxx'],
      extensions: ['.cpp', '.cc', '.cxx', '.hpp', '.hh', '.hxx'],
      monaco: 'cpp',
      compiled: true,
    });
    expect(byId(list, 'rs')).toMatchObject({ version: null, available: true });
    expect(byId(list, 'go')).toMatchObject({ version: null, available: false, monaco: 'go', entry: 'main.go' });
    expect(byId(list, 'py')).toMatchObject({ version: '3.11.2', available: true, compiled: false });
    expect(catalog.source).toBe('sandbox');
  });

  it('asks the sandbox once per TTL, once for concurrent callers', async () => {
    const { sandbox, catalog, advance } = setup();
    await Promise.all([catalog.list(), catalog.list(), catalog.list()]);
    await catalog.list();
    expect(sandbox.runtimeCalls).toBe(1);
    advance(RUNTIMES_TTL_MS);
    sandbox.runtimeList = [{ id: 'go', version: '1.19.8' }];
    expect(byId(await catalog.list(), 'go')).toMatchObject({ version: '1.19.8', available: true });
    expect(sandbox.runtimeCalls).toBe(2);
  });

  it('an unreachable sandbox: the table, all unavailable, no versions; logged once; asked again soon; recovers', async () => {
    const { sandbox, catalog, entries, advance } = setup();
    sandbox.runtimeList = new CodeCellError('sandbox_unavailable', 'the sandbox at http://127.0.0.1:9 is not reachable: ECONNREFUSED');
    const list = await catalog.list();
    expect(list).toHaveLength(RUNTIME_IDS.length);
    expect(list.every((r) => !r.available && r.version === null)).toBe(true);
    advance(RUNTIMES_RETRY_MS);
    await catalog.list();
    expect(sandbox.runtimeCalls).toBe(2);
    const warnings = entries.filter((e) => e.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ msg: expect.stringMatching(/cannot list runtimes.*unavailable/) as string, data: { reason: expect.stringMatching(/ECONNREFUSED/) as string } });
    sandbox.runtimeList = [{ id: 'py', version: '3.11.2' }];
    advance(RUNTIMES_RETRY_MS);
    expect(byId(await catalog.list(), 'py')?.available).toBe(true);
    expect(entries.at(-1)).toMatchObject({ level: 'info', msg: 'runtimes from the sandbox', data: { available: 'py 3.11.2' } });
  });

  it('a sandbox older than GET /runtimes runs Python only: Python available with the version its health reports', async () => {
    const { sandbox, catalog, entries } = setup();
    sandbox.runtimeList = new CodeCellError('not_found', 'no route GET /runtimes');
    sandbox.healthAnswer = { python: '3.11.2' } as Health;
    const list = await catalog.list();
    expect(byId(list, 'py')).toMatchObject({ available: true, version: '3.11.2' });
    expect(list.filter((r) => r.available).map((r) => r.language)).toEqual(['py']);
    expect(catalog.source).toBe('older_sandbox');
    expect(entries).toEqual([expect.objectContaining({ level: 'warn', msg: expect.stringMatching(/no GET \/runtimes.*only Python.*update the sandbox/) as string })]);
  });

  it('a caller that gives up is answered at once; the shared request goes on', async () => {
    const { catalog } = setup();
    const ac = new AbortController();
    ac.abort(new Error('client went away'));
    await expect(catalog.list(ac.signal)).rejects.toThrow('client went away');
    expect(await catalog.list()).toHaveLength(RUNTIME_IDS.length);
  });

  it('runnable (issue 13): what a run can use now, as GET /runtimes entries, without runtimes whose version the image does not record; unreachable is sandbox_unavailable saying why', async () => {
    const { sandbox, catalog, advance } = setup();
    sandbox.runtimeList = [
      { id: 'py', version: '3.11.2' },
      { id: 'c', version: '12.2.0' },
      { id: 'rs', version: 'unknown' },
    ];
    expect(await catalog.runnable()).toEqual([
      { id: 'py', name: 'Python', version: '3.11.2', entry: 'main.py', aliases: ['python', 'python3', 'py3'], extensions: ['.py'], monaco: 'python', compiled: false },
      expect.objectContaining({ id: 'c', version: '12.2.0', compiled: true, entry: 'main.c' }),
    ]);
    advance(RUNTIMES_TTL_MS);
    sandbox.runtimeList = new CodeCellError('sandbox_unavailable', 'the sandbox at http://127.0.0.1:9 is not reachable: ECONNREFUSED');
    await expect(catalog.runnable()).rejects.toMatchObject({ code: 'sandbox_unavailable', message: expect.stringMatching(/is not reachable: ECONNREFUSED/) as string });
    sandbox.runtimeList = new CodeCellError('not_found', 'no route GET /runtimes');
    sandbox.healthAnswer = { python: '3.11.2' } as Health;
    advance(RUNTIMES_RETRY_MS);
    expect((await catalog.runnable()).map((r) => [r.id, r.version])).toEqual([['py', '3.11.2']]);
  });

  it('runtimeList marks what the sandbox lacks', () => {
    const list = runtimeList(new Map([['java', '17.0.9']]));
    expect(list.filter((r) => r.available)).toEqual([expect.objectContaining({ language: 'java', version: '17.0.9', name: 'Java', entry: 'Main.java' })]);
  });
});
