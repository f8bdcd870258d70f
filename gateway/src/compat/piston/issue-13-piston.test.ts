/**
 * Issue 13, Piston v2 over HTTP against the scripted sandbox: the real npm
 * `piston-client`, unchanged, lists our languages and runs programs in each
 * of them (compiled ones with their compile stage), with Piston's statuses,
 * errors, limits, authentication and its own port (P rules in gateway/SPEC.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_COMPILE_LIMITS, RUNTIME_IDS, PEER_RUNTIME_NAMES, pistonExecuteResponseSchema, pistonRuntimeSchema } from '@codecell/protocol';
import type { PistonExecuteResponse } from '@codecell/protocol';
import { piston } from 'piston-client';
import { silentLogger } from '@codecell/server-kit';
import { loadConfig } from '../../config.js';
import { createGateway } from '../../server.js';
import { startCompatGateway } from '../../test/compatGateway.js';
import type { CompatGateway } from '../../test/compatGateway.js';
import { createAdmin } from '../../test/hosted.js';
import { rawRequest } from '../../test/rawHttp.js';
import { freePort } from '../../test/sandboxProcess.js';
import { SCRIPTED_VERSIONS } from '../../test/scriptedSandbox.js';

let t: CompatGateway;
beforeAll(async () => {
  t = await startCompatGateway({ env: { PISTON_PORT: '0' } });
});
afterAll(() => t?.close());

const asResult = (v: unknown): PistonExecuteResponse => pistonExecuteResponseSchema.parse(v);
const post = (body: unknown, headers: Record<string, string> = {}) =>
  rawRequest(t.gw.url, { method: 'POST', path: '/api/v2/execute', headers: { Host: new URL(t.gw.url).host, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const py = (content: string, extra: object = {}) => ({ language: 'python', version: '*', files: [{ content }], ...extra });

describe('Piston v2 with piston-client (P1-P4)', () => {
  it('P1 runtimes() lists every runtime of the sandbox by Piston name, with SemVer versions and our ids among the aliases', async () => {
    const list = pistonRuntimeSchema.array().parse(await piston({ server: t.gw.url }).runtimes());
    expect(list.map((r) => r.language)).toEqual(RUNTIME_IDS.map((id) => PEER_RUNTIME_NAMES[id].piston));
    expect(list.find((r) => r.language === 'c++')).toEqual({ language: 'c++', version: '12.2.0', aliases: ['cpp', 'g++', 'cxx'] });
    expect(list.find((r) => r.language === 'python')?.version).toBe(SCRIPTED_VERSIONS.py);
  });

  it.each(RUNTIME_IDS.map((id) => [PEER_RUNTIME_NAMES[id].piston, id] as const))('P4 execute(%s) runs the program with its args (compiled: a compile stage too)', async (language, id) => {
    const res = asResult(await piston({ server: t.gw.url }).execute(language, 'out hello\nargv'));
    expect(res).toMatchObject({ language, version: SCRIPTED_VERSIONS[id] });
    expect(res.run).toMatchObject({ stdout: 'hello\n1 2 3\n', stderr: '', output: 'hello\n1 2 3\n', code: 0, signal: null, status: null, message: null, memory: 2048 * 1024 });
    if (id === 'c' || id === 'cpp' || id === 'rs' || id === 'go' || id === 'java' || id === 'ts') expect(res.compile).toMatchObject({ code: 0, status: null, cpu_time: 7, memory: 4096 * 1024 });
    else expect(res.compile).toBeUndefined();
    const sent = t.sandbox.runs.at(-1);
    expect(sent).toMatchObject({ language: id, args: ['1', '2', '3'], stdin: '\n', stdinOpen: false, limits: { timeoutMs: 3000, compileTimeoutMs: 10_000, memoryMb: 128, compileMemoryMb: DEFAULT_COMPILE_LIMITS.compileMemoryMb } });
  });

  it('P4 a compile error comes back as Piston reports it: compile RE with the compiler output, copied into run', async () => {
    const res = asResult(await piston({ server: t.gw.url }).execute('c', 'compile-error expected ";" before "}"'));
    expect(res.compile).toMatchObject({ status: 'RE', code: 1, message: 'Exited with error status 1', stderr: 'main.c:1:1: error: expected ";" before "}"\n' });
    expect(res.run).toEqual(res.compile);
  });

  it('P4 a timeout is TO with SIGKILL and no code', async () => {
    const res = asResult(await piston({ server: t.gw.url }).execute('python', 'out started\nhang', { runTimeout: 200 }));
    expect(res.run).toMatchObject({ status: 'TO', signal: 'SIGKILL', code: null, stdout: 'started\n', message: 'Time limit exceeded (wall clock)' });
  });

  it.each([
    ['exit 3', { status: 'RE', code: 3, signal: null, message: 'Exited with error status 3' }],
    ['signal SIGSEGV', { status: 'SG', code: null, signal: 'SIGSEGV', message: 'Caught fatal signal 11' }],
    ['out x\nstatus output_limit', { status: 'OL', signal: 'SIGKILL', code: null, message: 'stdout length exceeded' }],
    ['err x\nstatus output_limit', { status: 'EL', signal: 'SIGKILL', code: null, message: 'stderr length exceeded' }],
    ['status memory_limit', { status: 'SG', signal: 'SIGKILL', message: 'Memory limit exceeded' }],
    ['status internal_error', { status: 'XX' }],
    ['cpu 900', { status: 'TO', signal: 'SIGKILL', code: null, message: 'Time limit exceeded' }],
  ])('P4 "%s" ends with Piston status %o', async (program, expected) => {
    const res = await post(py(program, { run_cpu_time: 500 }));
    expect(res.status).toBe(200);
    expect(asResult(JSON.parse(res.body)).run).toMatchObject(expected);
  });

  it('P3 stdin gets the newline Piston adds; files are decoded (base64, hex) and named; the first is the entry', async () => {
    const res = await post({ language: 'py', version: '3.x', stdin: 'abc', files: [{ name: 'app.py', content: Buffer.from('cat').toString('base64'), encoding: 'base64' }, { name: 'lib.py', content: Buffer.from('x = 1').toString('hex'), encoding: 'hex' }] });
    expect(asResult(JSON.parse(res.body)).run.stdout).toBe('abc\n');
    expect(t.sandbox.runs.at(-1)).toMatchObject({ entry: 'app.py', source: 'cat', files: [{ path: 'lib.py', content: 'x = 1' }], stdin: 'abc\n' });
  });

  it('P3 limits: -1 asks for the maximum, 0 for the default, more than the maximum is refused in Piston\'s words', async () => {
    await post(py('out x', { run_timeout: -1, run_memory_limit: -1, compile_timeout: 0 }));
    expect(t.sandbox.runs.at(-1)?.limits).toEqual({ timeoutMs: 60_000, memoryMb: 128, vcpus: 1 });
    await post(py('out x', { run_memory_limit: 64 * 1024 * 1024 }));
    expect(t.sandbox.runs.at(-1)?.limits?.memoryMb).toBe(64);
    const over = await post(py('out x', { run_timeout: 60_001 }));
    expect([over.status, JSON.parse(over.body)]).toEqual([400, { message: 'run_timeout cannot exceed the configured limit of 60000' }]);
    const memory = await post(py('out x', { run_memory_limit: 129 * 1024 * 1024 }));
    expect(JSON.parse(memory.body)).toEqual({ message: `run_memory_limit cannot exceed the configured limit of ${128 * 1024 * 1024}` });
  });

  it('P2 bad input is 400 {message} as Piston words it', async () => {
    const cases: Array<[unknown, string]> = [
      [{ version: '*', files: [{ content: '' }] }, 'language is required as a string'],
      [{ language: 'python', files: [{ content: '' }] }, 'version is required as a string'],
      [{ language: 'python', version: '*' }, 'files is required as an array'],
      [{ language: 'python', version: '*', files: [{ content: 'x' }, { name: 'b.py' }] }, 'files[1].content is required as a string'],
      [{ language: 'html', version: '5.0.0', files: [{ content: '' }] }, 'html-5.0.0 runtime is unknown'],
      [{ language: 'python', version: '2.x', files: [{ content: '' }] }, 'python-2.x runtime is unknown'],
      [py('x', { run_timeout: 'soon' }), 'If specified, run_timeout must be a number'],
      [{ language: 'python', version: '*', files: [{ name: '../etc/passwd', content: '' }] }, 'files[0].name "../etc/passwd": path may not contain empty, "." or ".." segments'],
      [{ language: 'python', version: '*', files: [{ content: '//79', encoding: 'base64' }] }, 'files[0] is not UTF-8 text once decoded from base64; this server keeps files as text'],
      ['{"language":', 'the request body is not valid JSON; send a JSON object (Content-Type: application/json)'],
    ];
    for (const [body, message] of cases) {
      const res = await post(body);
      expect([res.status, JSON.parse(res.body)], JSON.stringify(body)).toEqual([400, { message }]);
    }
  });

  it('X6 a body without Content-Type (or text/plain, or a form type) is read as JSON from programs; from a browser page it is refused', async () => {
    expect((await post(py('out x'))).status).toBe(200);
    expect((await post(py('out x'), { 'Content-Type': 'text/plain;charset=UTF-8' })).status).toBe(200);
    expect((await post(py('out x'), { 'Content-Type': 'application/x-www-form-urlencoded' })).status).toBe(200);
    const crossSite = await post(py('out x'), { 'Content-Type': 'text/plain', 'Sec-Fetch-Site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    const page = await post(py('out x'), { 'Content-Type': 'text/plain', Origin: new URL(t.gw.url).origin });
    expect(page.status).toBe(415);
    expect(JSON.parse(page.body)).toEqual({ message: expect.stringMatching(/POST needs Content-Type: application\/json/) as string });
    const foreign = await post(py('out x'), { 'Content-Type': 'application/json', Origin: 'https://evil.test' });
    expect([foreign.status, JSON.parse(foreign.body)]).toEqual([403, { message: expect.stringMatching(/origin https:\/\/evil.test is not allowed/) as string }]);
  });

  it('P7 PISTON_PORT serves Piston alone, in its own error format; a foreign Host is refused there too', async () => {
    const url = t.gw.apiUrls.piston ?? '';
    expect(await piston({ server: url }).runtimes()).toHaveLength(RUNTIME_IDS.length);
    expect(asResult(await piston({ server: url }).execute('bash', 'out on its own port')).run.stdout).toBe('on its own port\n');
    const other = await rawRequest(url, { path: '/submissions', headers: { Host: new URL(url).host } });
    expect([other.status, JSON.parse(other.body)]).toEqual([404, { message: 'no route /submissions; Piston\'s routes are under /api/v2' }]);
    const host = await rawRequest(url, { path: '/api/v2/runtimes', headers: { Host: 'evil.test' } });
    expect([host.status, JSON.parse(host.body) as unknown]).toEqual([403, { message: expect.stringMatching(/^Host "evil.test" is not served here/) as string }]);
  });

  it('P1 a sandbox without GET /runtimes runs Python only: only python is listed and other languages are unknown', async () => {
    await using only = await startCompatGateway();
    only.sandbox.runtimes = null;
    const client = piston({ server: only.gw.url });
    expect(pistonRuntimeSchema.array().parse(await client.runtimes()).map((r) => r.language)).toEqual(['python']);
    // piston-client finds no version of c to ask for, so it sends none.
    expect(await client.execute('c', 'out x')).toEqual({ message: 'version is required as a string' });
    const raw = await rawRequest(only.gw.url, { method: 'POST', path: '/api/v2/execute', headers: { Host: new URL(only.gw.url).host }, body: JSON.stringify({ language: 'c', version: '*', files: [{ content: '' }] }) });
    expect(JSON.parse(raw.body)).toEqual({ message: 'c-* runtime is unknown' });
  });
});

describe('Piston v2 without a sandbox (P2)', () => {
  it('answers 503 {message} when the sandbox cannot be reached, for the list and for a run', async () => {
    const port = await freePort();
    await using gw = await createGateway(loadConfig({ PORT: '0', SANDBOX_ADDR: `127.0.0.1:${port}`, COLLAB_DB: ':memory:', LOG_LEVEL: 'silent' }), silentLogger);
    const list = await rawRequest(gw.url, { path: '/api/v2/runtimes', headers: { Host: new URL(gw.url).host } });
    expect([list.status, JSON.parse(list.body)]).toEqual([503, { message: expect.stringMatching(/sandbox .* is not reachable/) as string }]);
    // A sandbox that goes away after the list was fetched: the run cannot start.
    await using g = await startCompatGateway();
    await piston({ server: g.gw.url }).runtimes();
    await g.sandbox.close();
    const run = await rawRequest(g.gw.url, { method: 'POST', path: '/api/v2/execute', headers: { Host: new URL(g.gw.url).host }, body: JSON.stringify(py('out x')) });
    expect([run.status, JSON.parse(run.body)]).toEqual([503, { message: expect.stringMatching(/sandbox .* is not reachable/) as string }]);
    const judged = await fetch(`${g.gw.url}/submissions?wait=true&fields=status,message`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ language_id: 71, source_code: 'out x' }) });
    expect(await judged.json()).toEqual({ status: { id: 13, description: 'Internal Error' }, message: expect.stringMatching(/sandbox .* is not reachable/) as string });
  });
});

describe('Piston v2 in hosted mode (P8)', () => {
  it('needs an API token: Bearer, or the token as the password of the server URL (piston-client sends no headers); a session cookie is not enough', async () => {
    await using h = await startCompatGateway({ env: { AUTH_MODE: 'local', QUOTA_RUNS_PER_MINUTE: '3' } });
    const admin = await createAdmin(h.gw);
    const { token } = await admin.trpc.auth.createToken.mutate({ name: 'bot' });
    const bare = piston({ server: h.gw.url });
    expect(await bare.execute('python', 'out x')).toEqual({ message: 'this gateway needs an API token: send Authorization: Bearer <API token>, or put it in the server URL as http://token:<API token>@host (make one with auth.createToken in the IDE)' });
    const withToken = piston({ server: h.gw.url.replace('http://', `http://token:${token}@`) });
    expect(asResult(await withToken.execute('python', 'out signed in')).run.stdout).toBe('signed in\n');
    const bearer = await rawRequest(h.gw.url, { method: 'POST', path: '/api/v2/execute', headers: { Host: new URL(h.gw.url).host, Authorization: `Bearer ${token}` }, body: JSON.stringify(py('out x')) });
    expect(bearer.status).toBe(200);
    const cookie = await rawRequest(h.gw.url, { method: 'POST', path: '/api/v2/execute', headers: { Host: new URL(h.gw.url).host, Cookie: admin.headers()['cookie'] ?? '' }, body: JSON.stringify(py('out x')) });
    expect(cookie.status).toBe(401);
    const wrong = piston({ server: h.gw.url.replace('http://', 'http://token:cct_not-a-token@') });
    expect(await wrong.execute('python', 'out x')).toMatchObject({ message: expect.stringMatching(/needs an API token/) as string });
    // Quotas apply as to runCode: the third run this minute was the last one allowed.
    expect(await withToken.execute('python', 'out x')).toMatchObject({ run: { stdout: 'x\n' } });
    expect(await withToken.execute('python', 'out x')).toEqual({ message: expect.stringMatching(/^quota runs_per_minute reached: you started 3 runs this minute \(QUOTA_RUNS_PER_MINUTE=3\)/) as string });
  });
});
