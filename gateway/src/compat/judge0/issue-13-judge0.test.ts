/**
 * Issue 13, Judge0 CE over plain HTTP against the scripted sandbox (J rules
 * in gateway/SPEC.md): languages with Judge0's ids, `wait=true` in each
 * language, every status, base64 both ways, a batch of 20, polling,
 * Judge0's errors, hosted-mode tokens, the queue and JUDGE0_PORT.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_COMPILE_LIMITS, JUDGE0_FIELDS, JUDGE0_STATUSES, PEER_RUNTIME_NAMES, RUNTIME_IDS, isCompiled, judge0SubmissionSchema } from '@codecell/protocol';
import type { Judge0Submission } from '@codecell/protocol';
import { startCompatGateway } from '../../test/compatGateway.js';
import type { CompatGateway } from '../../test/compatGateway.js';
import { createAdmin, signUp } from '../../test/hosted.js';
import { rawRequest } from '../../test/rawHttp.js';
import { SCRIPTED_VERSIONS } from '../../test/scriptedSandbox.js';
import { newRecord } from './judge0Records.js';

let t: CompatGateway;
beforeAll(async () => {
  t = await startCompatGateway({ env: { JUDGE0_PORT: '0' } });
});
afterAll(() => t?.close());

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

async function call(base: string, o: { method?: string; path: string; body?: unknown; headers?: Record<string, string> }): Promise<Answer> {
  const res = await fetch(`${base}${o.path}`, {
    method: o.method ?? (o.body === undefined ? 'GET' : 'POST'),
    headers: { ...(o.body === undefined ? {} : { 'Content-Type': 'application/json' }), ...o.headers },
    ...(o.body === undefined ? {} : { body: JSON.stringify(o.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
}
const api = (o: Parameters<typeof call>[1]) => call(t.gw.url, o);
const submission = (a: Answer): Judge0Submission => judge0SubmissionSchema.parse(a.body);
const wait = (body: object, query = '') => api({ path: `/submissions?wait=true${query}`, body: { language_id: 71, ...body } });

/** Polls `GET /submissions/{token}` until the status is past Processing. */
async function finished(base: string, token: string, o: { query?: string; headers?: Record<string, string> } = {}): Promise<Judge0Submission> {
  for (let i = 0; i < 200; i++) {
    const s = submission(await call(base, { path: `/submissions/${token}${o.query ?? ''}`, headers: o.headers ?? {} }));
    if ((s.status?.id ?? 0) > 2) return s;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`submission ${token} did not finish`);
}

describe('Judge0 CE: languages, statuses, about (J1)', () => {
  it('lists the sandbox\'s languages with Judge0\'s ids and the image\'s versions, ordered by id', async () => {
    const { body } = await api({ path: '/languages' });
    const expected = RUNTIME_IDS.map((id) => PEER_RUNTIME_NAMES[id].judge0Id).sort((a, b) => a - b);
    expect((body as Array<{ id: number }>).map((l) => l.id)).toEqual(expected);
    expect(expected).toEqual([46, 50, 54, 60, 62, 63, 71, 72, 73, 74]);
    expect(body).toContainEqual({ id: 71, name: `Python (${SCRIPTED_VERSIONS.py})` });
    expect(body).toContainEqual({ id: 54, name: 'C++ (GCC 12.2.0)' });
    expect((await api({ path: '/languages/50' })).body).toEqual({ id: 50, name: 'C (GCC 12.2.0)', is_archived: false, source_file: 'main.c', compile_cmd: expect.stringMatching(/^\/usr\/bin\/gcc /) as string, run_cmd: '{build}/main' });
    expect(await api({ path: '/languages/1' })).toEqual({ status: 404, body: { error: "language with id 1 doesn't exist; GET /languages lists them" } });
    expect((await api({ path: '/statuses' })).body).toEqual(JUDGE0_STATUSES);
    expect((await api({ path: '/about' })).body).toMatchObject({ version: expect.stringMatching(/Judge0 CE 1\.13\.1 API/) as string });
    expect((await api({ path: '/config_info' })).body).toMatchObject({ max_cpu_time_limit: 60, max_memory_limit: 128 * 1024, max_submission_batch_size: 20, enable_wait_result: true });
  });
});

describe('Judge0 CE submissions (J2-J4)', () => {
  it.each(RUNTIME_IDS.map((id) => [PEER_RUNTIME_NAMES[id].judge0Id, id] as const))('wait=true with language_id %i runs it and answers the result (201)', async (languageId, id) => {
    const res = await wait({ language_id: languageId, source_code: 'out hello\nargv', command_line_arguments: 'a "b c"', stdin: '' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ token: expect.any(String) as string, stdout: 'hello\na b c\n', stderr: null, compile_output: null, message: null, time: '0.003', memory: 2048, status: { id: 3, description: 'Accepted' } });
    const sent = t.sandbox.runs.at(-1);
    expect(sent).toMatchObject({ language: id, args: ['a', 'b c'], stdinOpen: false, limits: { timeoutMs: 5000, memoryMb: 128 } });
    // Judge0 compiles with its configured maxima, not the submission's limits (isolate_job.rb): here MAX_RUN_TIMEOUT_MS and the compile memory.
    if (isCompiled(id)) expect(sent?.limits).toMatchObject({ compileTimeoutMs: 60_000, compileMemoryMb: DEFAULT_COMPILE_LIMITS.compileMemoryMb });
    else expect(sent?.limits).not.toHaveProperty('compileTimeoutMs');
  });

  it.each([
    ['out 42', { expected_output: '42' }, 3],
    ['out 42   \nout ', { expected_output: '42\n\n\n' }, 3],
    ['out 41', { expected_output: '42' }, 4],
    ['err 42', { expected_output: '42' }, 4],
    ['err 42', { expected_output: '42', redirect_stderr_to_stdout: true }, 3],
    ['hang', { wall_time_limit: 1 }, 5],
    ['cpu 2500', { cpu_time_limit: 2 }, 5],
    ['signal SIGSEGV', {}, 7],
    ['signal SIGXFSZ', {}, 8],
    ['signal SIGFPE', {}, 9],
    ['signal SIGABRT', {}, 10],
    ['exit 1', {}, 11],
    ['signal SIGTERM', {}, 12],
    ['status output_limit', {}, 8],
    ['status internal_error', {}, 13],
  ])('"%s" with %o has status %i', async (source_code, extra, status) => {
    const s = submission(await wait({ source_code, ...extra }));
    expect(s.status).toEqual(JUDGE0_STATUSES.find((x) => x.id === status));
  });

  it('a compile error is 6 with the compiler\'s output in compile_output', async () => {
    const s = submission(await wait({ language_id: 50, source_code: 'compile-error expected ";"' }, '&fields=status,compile_output,stdout,time,exit_code'));
    expect(s).toEqual({ status: { id: 6, description: 'Compilation Error' }, compile_output: 'main.c:1:1: error: expected ";"\n', stdout: null, time: null, exit_code: null });
  });

  it('runtime errors carry exit_code, exit_signal and isolate\'s message (fields=*)', async () => {
    const s = submission(await wait({ source_code: 'err boom\nsignal SIGSEGV' }, '&fields=*'));
    expect(s).toMatchObject({ exit_signal: 11, exit_code: 0, message: 'Caught fatal signal 11', stderr: 'boom\n', language: { id: 71, name: 'Python (3.11.2)' }, source_code: 'err boom\nsignal SIGSEGV', wall_time: '0.005', number_of_runs: 1 });
    expect(Object.keys(s).sort()).toEqual([...JUDGE0_FIELDS].sort());
    expect(submission(await wait({ source_code: 'exit 3' }, '&fields=exit_code,message'))).toEqual({ exit_code: 3, message: 'Exited with error status 3' });
  });

  it('base64_encoded=true round-trips bytes that are not UTF-8, both ways; without it the answer is Judge0\'s conversion error', async () => {
    const source = Buffer.from('hex 00ff41fe0a\ncat').toString('base64');
    const stdin = Buffer.from('é€\n').toString('base64');
    const res = await wait({ source_code: source, stdin, expected_output: Buffer.from([0x00, 0xff, 0x41, 0xfe, 0x0a]).toString('base64') }, '&base64_encoded=true&fields=token,stdout,status,stdin');
    const s = submission(res);
    expect(Buffer.from(s.stdout ?? '', 'base64')).toEqual(Buffer.concat([Buffer.from([0x00, 0xff, 0x41, 0xfe, 0x0a]), Buffer.from('é€\n')]));
    expect(s['stdin']).toBe(stdin);
    expect(s.status?.id).toBe(4);
    // The sandbox takes stdin as text: stdin that is not UTF-8 is refused rather than changed.
    expect((await wait({ source_code: source, stdin: Buffer.from([0xc3, 0x28]).toString('base64') }, '&base64_encoded=true')).body).toEqual({ stdin: ['is not UTF-8 text; CodeCell passes stdin as text'] });
    expect(await api({ path: `/submissions/${s.token ?? ''}` })).toEqual({ status: 400, body: { error: 'some attributes for this submission cannot be converted to UTF-8, use base64_encoded=true query parameter' } });
    const plain = await wait({ source_code: 'hex ff' });
    expect(plain).toEqual({ status: 201, body: { token: expect.any(String) as string, error: 'some attributes for this submission cannot be converted to UTF-8, use base64_encoded=true query parameter' } });
    const asB64 = submission(await api({ path: `/submissions/${(plain.body as { token: string }).token}?base64_encoded=true&fields=stdout,message` }));
    expect(asB64).toEqual({ stdout: Buffer.from([0xff]).toString('base64'), message: null });
  });

  it('without wait a submission answers {token} at once; polling shows In Queue or Processing, then the result', async () => {
    const created = await api({ path: '/submissions', body: { language_id: 71, source_code: 'out polled\nline', stdin: null } });
    expect(created).toEqual({ status: 201, body: { token: expect.stringMatching(/^[0-9a-f-]{36}$/) as string } });
    const { token } = created.body as { token: string };
    const early = submission(await api({ path: `/submissions/${token}?fields=status,stdout` }));
    expect([1, 2, 3]).toContain(early.status?.id);
    const done = await finished(t.gw.url, token);
    expect(done).toMatchObject({ status: { id: 3 }, stdout: 'polled\n' });
    expect((await api({ path: '/submissions/not-a-token' })).status).toBe(404);
  });

  it('a batch of 20 answers 20 tokens; GET /submissions/batch?tokens= shows them in order, null for unknown ones', async () => {
    const submissions = Array.from({ length: 20 }, (_, i) => ({ language_id: RUNTIME_IDS.map((id) => PEER_RUNTIME_NAMES[id].judge0Id)[i % 10], source_code: `out run ${i}`, expected_output: `run ${i}` }));
    const created = await api({ path: '/submissions/batch', body: { submissions } });
    expect(created.status).toBe(201);
    const tokens = (created.body as Array<{ token: string }>).map((r) => r.token);
    expect(new Set(tokens).size).toBe(20);
    for (const token of tokens) await finished(t.gw.url, token);
    const shown = await api({ path: `/submissions/batch?tokens=${[...tokens, 'unknown'].slice(1).join(',')}&fields=stdout,status_id` });
    expect((shown.body as { submissions: unknown[] }).submissions).toEqual([...tokens.slice(1).map((_, i) => ({ stdout: `run ${i + 1}\n`, status_id: 3 })), null]);
  });

  it('422 {field: [messages]} for invalid submissions; a batch answers each entry, 201 when any was valid', async () => {
    const bad = await api({ path: '/submissions', body: { language_id: 999, source_code: '', memory_limit: 1024, cpu_time_limit: 100, compiler_options: '-O3', enable_network: true, number_of_runs: 3 } });
    expect(bad).toEqual({
      status: 422,
      body: {
        source_code: ["can't be blank"],
        language_id: ["language with id 999 doesn't exist"],
        number_of_runs: ['must be less than or equal to 1'],
        cpu_time_limit: ['must be less than or equal to 60'],
        memory_limit: ['must be greater than or equal to 2048'],
        compiler_options: ['setting compiler options is not allowed'],
        enable_network: ['enabling network is not allowed'],
      },
    });
    expect((await api({ path: '/submissions', body: { source_code: 'out x', language_id: 'python' } })).body).toEqual({ language_id: ['is not a number'] });
    const mixed = await api({ path: '/submissions/batch', body: { submissions: [{ language_id: 71, source_code: 'out ok' }, { language_id: 71 }] } });
    expect(mixed).toEqual({ status: 201, body: [{ token: expect.any(String) as string }, { source_code: ["can't be blank"] }] });
    expect((await api({ path: '/submissions/batch', body: { submissions: [{}] } })).status).toBe(422);
  });

  it('400 {error} as Judge0 words it: fields, batch sizes, bad JSON', async () => {
    expect(await api({ path: '/submissions/x?fields=stdout,nope,bad' })).toEqual({ status: 400, body: { error: 'invalid fields: [nope, bad]' } });
    expect(await api({ path: '/submissions/batch', body: { submissions: [] } })).toEqual({ status: 400, body: { error: 'there should be at least one submission in a batch' } });
    expect(await api({ path: '/submissions/batch', body: { submissions: Array.from({ length: 21 }, () => ({})) } })).toEqual({ status: 400, body: { error: 'number of submissions in a batch should be less than or equal to 20' } });
    expect(await api({ path: '/submissions/batch?tokens=' })).toEqual({ status: 400, body: { error: 'there should be at least one submission in a batch' } });
    const json = await rawRequest(t.gw.url, { method: 'POST', path: '/submissions', headers: { Host: new URL(t.gw.url).host, 'Content-Type': 'application/json' }, body: '{"source_code":' });
    expect([json.status, JSON.parse(json.body)]).toEqual([400, { error: 'the request body is not valid JSON; send a JSON object (Content-Type: application/json)' }]);
    expect((await api({ method: 'DELETE', path: '/submissions/abc' })).status).toBe(400);
    expect((await api({ path: '/submissions' })).status).toBe(403);
  });

  it('J7 JUDGE0_PORT serves Judge0 at its root, alone, in its own error format', async () => {
    const url = t.gw.apiUrls.judge0 ?? '';
    const s = submission(await call(url, { path: '/submissions?wait=true', body: { language_id: 72, source_code: 'out own port' } }));
    expect(s.stdout).toBe('own port\n');
    expect(await call(url, { path: '/api/v2/runtimes' })).toEqual({ status: 404, body: { error: "no route /api/v2/runtimes; Judge0's routes are /submissions, /languages, /statuses, /about" } });
    const host = await rawRequest(url, { path: '/languages', headers: { Host: 'evil.test' } });
    expect([host.status, JSON.parse(host.body) as unknown]).toEqual([403, { error: expect.stringMatching(/^Host "evil.test" is not served here/) as string }]);
  });
});

describe('Judge0 CE in hosted mode (J6)', () => {
  it('needs an API token (X-Auth-Token or Bearer); one account cannot read another\'s submissions; a full queue is 503', async () => {
    await using h = await startCompatGateway({ env: { AUTH_MODE: 'local', JUDGE0_MAX_QUEUE_SIZE: '2' } });
    const admin = await createAdmin(h.gw);
    const other = await signUp(h.gw, admin, { username: 'olga' });
    const { token } = await admin.trpc.auth.createToken.mutate({ name: 'grader' });
    const { token: otherToken } = await other.trpc.auth.createToken.mutate({ name: 'hers' });
    const j = (o: Parameters<typeof call>[1]) => call(h.gw.url, o);
    expect(await j({ path: '/submissions?wait=true', body: { language_id: 71, source_code: 'out x' } })).toEqual({ status: 401, body: { error: expect.stringMatching(/needs an API token: send X-Auth-Token/) as string } });
    expect((await j({ path: '/languages' })).status).toBe(200);
    const mine = submission(await j({ path: '/submissions?wait=true', body: { language_id: 71, source_code: 'out mine' }, headers: { 'X-Auth-Token': token } }));
    expect(mine.stdout).toBe('mine\n');
    expect(submission(await j({ path: `/submissions/${mine.token ?? ''}`, headers: { Authorization: `Bearer ${token}` } })).stdout).toBe('mine\n');
    expect((await j({ path: `/submissions/${mine.token ?? ''}`, headers: { 'X-Auth-Token': otherToken } })).status).toBe(404);
    expect((await j({ path: `/submissions/${mine.token ?? ''}`, headers: { Cookie: admin.headers()['cookie'] ?? '' } })).status).toBe(401);
    const hang = { language_id: 71, source_code: 'hang', wall_time_limit: 5 };
    await j({ path: '/submissions/batch', body: { submissions: [hang, hang] }, headers: { 'X-Auth-Token': token } });
    expect(await j({ path: '/submissions', body: hang, headers: { 'X-Auth-Token': token } })).toEqual({ status: 503, body: { error: 'queue is full', detail: 'queue is full: 2 of your submissions are unfinished (JUDGE0_MAX_QUEUE_SIZE=2)' } });
    expect((await j({ path: '/submissions', body: hang, headers: { 'X-Auth-Token': otherToken } })).status).toBe(201);
  });

  it('a batch larger than QUOTA_CONCURRENT_RUNS waits for the quota instead of failing: all finish, never more at once', async () => {
    await using h = await startCompatGateway({ env: { AUTH_MODE: 'local', QUOTA_CONCURRENT_RUNS: '2', MAX_CONCURRENT_RUNS: '4' } });
    const admin = await createAdmin(h.gw);
    const { token } = await admin.trpc.auth.createToken.mutate({ name: 'grader' });
    // Each runs until its 1 s wall-clock limit: six of them take three rounds of two.
    const submissions = Array.from({ length: 6 }, (_, i) => ({ language_id: 46, source_code: `out ${i}\nhang`, wall_time_limit: 1 }));
    const created = await call(h.gw.url, { path: '/submissions/batch', body: { submissions }, headers: { 'X-Auth-Token': token } });
    const tokens = (created.body as Array<{ token: string }>).map((r) => r.token);
    const results = [];
    for (const tk of tokens) results.push(await finished(h.gw.url, tk, { query: '?fields=stdout,status', headers: { 'X-Auth-Token': token } }));
    expect(results.map((r) => [r.stdout, r.status?.id])).toEqual([0, 1, 2, 3, 4, 5].map((i) => [`${i}\n`, 5]));
    expect(h.sandbox.active.max).toBe(2);
  });
});

describe('Judge0 CE retention and restarts (J5)', () => {
  it('a submission is kept JUDGE0_RETENTION_HOURS, then GET answers 404', async () => {
    let now = Date.now();
    await using g = await startCompatGateway({ env: { JUDGE0_RETENTION_HOURS: '1' }, overrides: { now: () => now } });
    const kept = submission(await call(g.gw.url, { path: '/submissions?wait=true', body: { language_id: 71, source_code: 'out kept' } }));
    now += 59 * 60_000;
    expect((await call(g.gw.url, { path: `/submissions/${kept.token ?? ''}` })).status).toBe(200);
    now += 2 * 60_000;
    expect((await call(g.gw.url, { path: `/submissions/${kept.token ?? ''}` })).status).toBe(404);
  });

  it('results outlive a restart; a run cut short by the shutdown and one lost in a crash are Internal Error, saying so', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'judge0-restart-'));
    const env = { COLLAB_DB: join(dir, 'gw.sqlite') };
    try {
      const first = await startCompatGateway({ env });
      const done = submission(await call(first.gw.url, { path: '/submissions?wait=true', body: { language_id: 71, source_code: 'out survived' } }));
      const cut = (await call(first.gw.url, { path: '/submissions', body: { language_id: 71, source_code: 'hang', wall_time_limit: 30 } })).body as { token: string };
      for (let i = 0; i < 200 && first.sandbox.active.now === 0; i++) await new Promise((r) => setTimeout(r, 10));
      // What a crash leaves behind: a stored submission that never finished.
      const lost = newRecord({ token: 'lost-in-a-crash', languageId: 71, languageName: 'Python (3.11.2)', source: Buffer.from('out x'), stdin: null, expectedOutput: null, request: {}, createdAt: Date.now() });
      await first.gw.store.createSubmissions([{ token: lost.token, owner: 'user:local', createdAt: Date.now(), expiresAt: Date.now() + 3_600_000, finishedAt: null, record: JSON.stringify(lost) }]);
      await first.close();

      await using second = await startCompatGateway({ env });
      const show = (token: string) => call(second.gw.url, { path: `/submissions/${token}?fields=stdout,status,message` });
      expect((await show(done.token ?? '')).body).toEqual({ stdout: 'survived\n', status: { id: 3, description: 'Accepted' }, message: null });
      expect((await show(cut.token)).body).toEqual({ stdout: null, status: { id: 13, description: 'Internal Error' }, message: 'the gateway is shutting down' });
      expect((await show(lost.token)).body).toEqual({ stdout: null, status: { id: 13, description: 'Internal Error' }, message: 'the gateway restarted before this submission finished; submit it again' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
