/**
 * Issue 13 through a REAL sandbox and microVMs: the npm `piston-client`,
 * unchanged, and Judge0 REST calls (wait=true, statuses, base64, a batch of
 * 20, polling), Piston's WebSocket (stdin round trip, kill), and hosted mode
 * with API tokens. The language lists come from the sandbox's image (issue
 * 10's runtime table and GET /runtimes); besides Python, C runs through both
 * APIs (compile stage, compiler warnings, a compile error as Piston's compile
 * RE and Judge0's 6) and so does JavaScript (args, stdin, exit codes). Lean:
 * every run gets a fresh VM, and a C compile in one costs seconds under TCG.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { PEER_RUNTIME_NAMES, RUNTIME_IDS, judge0SubmissionSchema, pistonExecuteResponseSchema, pistonRuntimeSchema, semverOf } from '@codecell/protocol';
import type { Judge0Submission, PistonRuntime, RuntimeId } from '@codecell/protocol';
import { silentLogger } from '@codecell/server-kit';
import { piston } from 'piston-client';
import { loadConfig } from './config.js';
import { SandboxClient } from './sandboxClient.js';
import { createGateway } from './server.js';
import type { Gateway } from './server.js';
import { createAdmin } from './test/hosted.js';
import { startSandbox } from './test/sandboxProcess.js';
import type { SandboxProcess } from './test/sandboxProcess.js';

let sandbox: SandboxProcess;
let gw: Gateway;
let runtimes: PistonRuntime[];
/** The versions the sandbox's image reports (GET /runtimes), by runtime id. */
let imageVersions: Map<string, string>;

beforeAll(async () => {
  sandbox = await startSandbox({ env: { POOL_SIZE: '2' } });
  gw = await createGateway(loadConfig({ PORT: '0', SANDBOX_ADDR: sandbox.url, SANDBOX_TOKEN_FILE: sandbox.tokenFile, COLLAB_DB: ':memory:', LOG_LEVEL: 'silent', RUN_TIMEOUT_MS: '20000' }), silentLogger);
  runtimes = pistonRuntimeSchema.array().parse(await piston({ server: gw.url }).runtimes());
  const client = new SandboxClient({ baseUrl: sandbox.url, tokenFile: sandbox.tokenFile });
  try {
    imageVersions = new Map((await client.runtimes()).map((r) => [r.id, r.version]));
  } finally {
    client.dispose();
  }
});

afterAll(async () => {
  await gw?.close();
  await sandbox?.stop();
});

/**
 * piston-client sends compile_timeout 10 s and run_timeout 3 s unless told: a C
 * compile, or node's start, in a fresh VM under TCG on a busy host can take longer.
 */
const SLOW = { compileTimeout: 60_000, runTimeout: 20_000 };
const result = (v: unknown) => pistonExecuteResponseSchema.parse(v);

async function judge0(path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${gw.url}${path}`, { method: body === undefined ? 'GET' : 'POST', headers: { 'Content-Type': 'application/json', ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, body: (await res.json()) };
}
const sub = (v: { body: unknown }): Judge0Submission => judge0SubmissionSchema.parse(v.body);

describe('piston-client against the real stack', () => {
  it("runtimes() lists every language of the sandbox's image by Piston name, with the image's versions as SemVer", () => {
    expect(runtimes.map((r) => r.language)).toEqual(RUNTIME_IDS.map((id) => PEER_RUNTIME_NAMES[id].piston));
    for (const id of RUNTIME_IDS) {
      const version = imageVersions.get(id);
      expect(version, id).toMatch(/^\d+\.\d+/);
      expect(runtimes.find((r) => r.language === PEER_RUNTIME_NAMES[id].piston), id).toMatchObject({ version: semverOf(version ?? ''), aliases: expect.arrayContaining(id === PEER_RUNTIME_NAMES[id].piston ? [] : [id]) as string[] });
    }
    expect(runtimes.find((r) => r.language === 'python')?.version).toMatch(/^3\.11\.\d+$/);
  });

  it('execute("python") passes args and stdin and answers Piston\'s shape', async () => {
    const res = result(await piston({ server: gw.url }).execute('python', 'import sys\nprint(sys.argv[1:], input())\nprint("oops", file=sys.stderr)\nsys.exit(3)', { stdin: 'typed', args: ['a', 'b c'] }));
    expect(res.language).toBe('python');
    expect(res.run).toMatchObject({ stdout: "['a', 'b c'] typed\n", stderr: 'oops\n', code: 3, signal: null, status: 'RE', message: 'Exited with error status 3' });
    expect(res.run.output).toBe("['a', 'b c'] typed\noops\n");
    expect(res.run.wall_time).toBeGreaterThan(0);
    expect(res.run.memory).toBeGreaterThan(0);
  });

  it('a timeout is TO (SIGKILL, no code)', async () => {
    const res = result(await piston({ server: gw.url }).execute('python', 'print("spinning", flush=True)\nwhile True: pass', { runTimeout: 1500 }));
    expect(res.run).toMatchObject({ status: 'TO', signal: 'SIGKILL', code: null, stdout: 'spinning\n' });
  });

  it('execute("c") compiles (the compile stage with gcc\'s warning) and runs with args; a compile error comes back in compile, copied into run', async () => {
    const client = piston({ server: gw.url });
    const ok = result(await client.execute('c', '#include <stdio.h>\nint main(int c, char **v) { int unused; printf("%s %s\\n", v[1], v[3]); return 0; }', SLOW));
    expect(ok.language).toBe('c');
    expect(ok.version).toBe(semverOf(imageVersions.get('c') ?? ''));
    expect(ok.compile).toMatchObject({ code: 0, status: null, signal: null, stdout: '' });
    expect(ok.compile?.stderr).toMatch(/unused variable 'unused'/);
    expect(ok.compile?.output).toBe(ok.compile?.stderr);
    // piston-client's default args are 1 2 3.
    expect(ok.run).toMatchObject({ stdout: '1 3\n', stderr: '', code: 0, status: null });
    const bad = result(await client.execute('c', 'int main() { return x; }', SLOW));
    expect(bad.compile).toMatchObject({ status: 'RE', code: 1, signal: null });
    expect(bad.compile?.stderr).toMatch(/main\.c:1:\d+: error: 'x' undeclared/);
    expect(bad.run).toEqual(bad.compile);
  });

  it('execute("javascript") passes args and stdin to node and reports its exit code', async () => {
    const source = "const fs = require('fs');\nconsole.log(process.argv.slice(2).join(','), fs.readFileSync(0, 'utf8').trim());\nconsole.error('oops');\nprocess.exit(4);";
    const res = result(await piston({ server: gw.url }).execute('javascript', source, { ...SLOW, stdin: 'typed', args: ['a', 'b c'] }));
    expect(res).toMatchObject({ language: 'javascript', version: semverOf(imageVersions.get('js') ?? '') });
    expect(res.compile).toBeUndefined();
    expect(res.run).toMatchObject({ stdout: 'a,b c typed\n', stderr: 'oops\n', code: 4, signal: null, status: 'RE' });
  });
});

describe('Judge0 REST calls against the real stack', () => {
  it('wait=true answers Accepted, Wrong Answer, Time Limit Exceeded, NZEC and SIGSEGV as Judge0 does', async () => {
    const run = (body: object) => judge0('/submissions?wait=true&fields=status,stdout,stderr,exit_code,exit_signal,time,memory', { language_id: 71, ...body });
    const accepted = sub(await run({ source_code: 'print(int(input()) * 2)', stdin: '21', expected_output: '42' }));
    expect(accepted).toMatchObject({ status: { id: 3, description: 'Accepted' }, stdout: '42\n', exit_code: 0 });
    expect(Number(accepted.time)).toBeGreaterThan(0);
    expect(sub(await run({ source_code: 'print(41)', expected_output: '42' })).status?.id).toBe(4);
    expect(sub(await run({ source_code: 'while True: pass', wall_time_limit: 1, cpu_time_limit: 1 })).status).toEqual({ id: 5, description: 'Time Limit Exceeded' });
    expect(sub(await run({ source_code: 'import sys\nsys.exit(2)' }))).toMatchObject({ status: { id: 11 }, exit_code: 2 });
    expect(sub(await run({ source_code: 'import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)' }))).toMatchObject({ status: { id: 7, description: 'Runtime Error (SIGSEGV)' }, exit_signal: 11 });
  });

  it("GET /languages has Judge0's id and the image's version for every language", async () => {
    const { body } = await judge0('/languages');
    const name = (id: RuntimeId): string => PEER_RUNTIME_NAMES[id].judge0Name.replace('{version}', imageVersions.get(id) ?? '?');
    expect(body).toEqual(expect.arrayContaining(RUNTIME_IDS.map((id) => ({ id: PEER_RUNTIME_NAMES[id].judge0Id, name: name(id) }))));
    expect(body).toHaveLength(RUNTIME_IDS.length);
  });

  it('C: wait=true compiles and judges (Accepted, with the compiler\'s warning in compile_output); a compile error is 6 with compile_output', async () => {
    const fields = 'fields=status,stdout,stderr,compile_output,exit_code';
    const source = '#include <stdio.h>\nint main(void) { int n, unused; scanf("%d", &n); printf("%d\\n", n * 2); return 0; }';
    const ok = sub(await judge0(`/submissions?wait=true&${fields}`, { language_id: 50, source_code: source, stdin: '21', expected_output: '42' }));
    expect(ok).toMatchObject({ status: { id: 3, description: 'Accepted' }, stdout: '42\n', exit_code: 0 });
    expect(ok.compile_output).toMatch(/unused variable 'unused'/);
    const bad = sub(await judge0(`/submissions?wait=true&${fields}`, { language_id: 50, source_code: 'int main() { return x; }' }));
    expect(bad).toMatchObject({ status: { id: 6, description: 'Compilation Error' }, stdout: null, exit_code: null });
    expect(bad.compile_output).toMatch(/main\.c:1:\d+: error: 'x' undeclared/);
  });

  // One run: node's exit codes are checked through Piston above, NZEC through Python.
  it('JavaScript: wait=true with command_line_arguments and stdin is Accepted', async () => {
    const source = "const n = Number(require('fs').readFileSync(0, 'utf8'));\nconsole.log(n * Number(process.argv[2]), process.argv[3]);";
    const body = { language_id: 63, source_code: source, stdin: '21', command_line_arguments: "2 'b c'", expected_output: '42 b c' };
    expect(sub(await judge0('/submissions?wait=true&fields=status,stdout,exit_code', body))).toMatchObject({ status: { id: 3, description: 'Accepted' }, stdout: '42 b c\n', exit_code: 0 });
  });

  it('base64_encoded=true round-trips output that is not UTF-8', async () => {
    const source = Buffer.from('import sys\nsys.stdout.buffer.write(bytes([0, 0xff, 0x41, 0xfe]))').toString('base64');
    const s = sub(await judge0('/submissions?wait=true&base64_encoded=true', { language_id: 71, source_code: source }));
    expect(Buffer.from(s.stdout ?? '', 'base64')).toEqual(Buffer.from([0, 0xff, 0x41, 0xfe]));
  });

  // Eight: more than MAX_CONCURRENT_RUNS, so some wait In Queue; each needs a fresh VM, which
  // under TCG on a busy host costs seconds. The batch of 20 is in issue-13-judge0.test.ts.
  it('a batch larger than the run slots, then polling the tokens until every one finished', async () => {
    const submissions = Array.from({ length: 8 }, (_, i) => ({ language_id: 71, source_code: `print(${i} * ${i})`, expected_output: String(i * i) }));
    const created = await judge0('/submissions/batch', { submissions });
    expect(created.status).toBe(201);
    const tokens = (created.body as Array<{ token: string }>).map((t) => t.token);
    let shown: Array<{ status: { id: number }; stdout: string | null }> = [];
    for (let i = 0; i < 900; i++) {
      shown = ((await judge0(`/submissions/batch?tokens=${tokens.join(',')}&fields=status,stdout`)).body as { submissions: typeof shown }).submissions;
      if (shown.every((s) => s.status.id > 2)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(shown.map((s) => [s.status.id, s.stdout])).toEqual(submissions.map((_, i) => [3, `${i * i}\n`]));
  });
});

describe('Piston WebSocket against the real stack', () => {
  function connect(): { ws: WebSocket; messages: Array<Record<string, unknown>>; closed: Promise<number>; next: (match: (m: Record<string, unknown>) => boolean) => Promise<void> } {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/api/v2/connect`);
    const messages: Array<Record<string, unknown>> = [];
    const waiters: Array<() => void> = [];
    ws.on('message', (d: Buffer) => {
      messages.push(JSON.parse(d.toString('utf8')) as Record<string, unknown>);
      for (const w of waiters.splice(0)) w();
    });
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    // A socket the server closed before the awaited message fails the test at once, saying what did arrive.
    const closedEarly = closed.then((code) => Promise.reject(new Error(`socket closed (${code}) before the awaited message; got ${JSON.stringify(messages)}`)));
    closedEarly.catch(() => undefined);
    const next = async (match: (m: Record<string, unknown>) => boolean): Promise<void> => {
      while (!messages.some(match)) await Promise.race([new Promise<void>((r) => waiters.push(r)), closedEarly]);
    };
    return { ws, messages, closed, next };
  }

  it('interactive stdin round trip', async () => {
    const s = connect();
    await new Promise((r) => s.ws.once('open', r));
    s.ws.send(JSON.stringify({ type: 'init', language: 'python', version: '*', files: [{ content: 'name = input("name? ")\nprint(f"hello {name}")' }] }));
    await s.next((m) => m['type'] === 'data' && m['data'] === 'name? ');
    s.ws.send(JSON.stringify({ type: 'data', stream: 'stdin', data: 'Ada\n' }));
    expect(await s.closed).toBe(4999);
    const out = s.messages.filter((m) => m['type'] === 'data').map((m) => String(m['data'])).join('');
    expect(out).toBe('name? hello Ada\n');
    expect(s.messages.at(-1)).toEqual({ type: 'exit', stage: 'run', code: 0, signal: null });
  });

  it('a kill ends a program that would run forever', async () => {
    const s = connect();
    await new Promise((r) => s.ws.once('open', r));
    s.ws.send(JSON.stringify({ type: 'init', language: 'python', version: '*', run_timeout: 30_000, files: [{ content: 'print("up", flush=True)\nwhile True: pass' }] }));
    await s.next((m) => m['type'] === 'data');
    s.ws.send(JSON.stringify({ type: 'signal', signal: 'SIGKILL' }));
    expect(await s.closed).toBe(4999);
    expect(s.messages.at(-1)).toMatchObject({ type: 'exit', stage: 'run', code: null, signal: 'SIGKILL' });
  });
});

describe('hosted mode against the real stack', () => {
  it('piston-client with the token in its server URL and Judge0 with X-Auth-Token run code; without a token they are refused', async () => {
    const hosted = await createGateway(loadConfig({ PORT: '0', SANDBOX_ADDR: sandbox.url, SANDBOX_TOKEN_FILE: sandbox.tokenFile, COLLAB_DB: ':memory:', LOG_LEVEL: 'silent', AUTH_MODE: 'local', RUN_TIMEOUT_MS: '20000' }), silentLogger);
    try {
      const admin = await createAdmin(hosted);
      const { token } = await admin.trpc.auth.createToken.mutate({ name: 'grader' });
      const withToken = piston({ server: hosted.url.replace('http://', `http://grader:${token}@`) });
      expect(result(await withToken.execute('python', 'print("as the grader")')).run.stdout).toBe('as the grader\n');
      expect(await piston({ server: hosted.url }).execute('python', 'print(1)')).toMatchObject({ message: expect.stringMatching(/needs an API token/) as string });
      const res = await fetch(`${hosted.url}/submissions?wait=true`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Auth-Token': token }, body: JSON.stringify({ language_id: 71, source_code: 'print(6 * 7)' }) });
      expect(sub({ body: await res.json() }).stdout).toBe('42\n');
      const refused = await fetch(`${hosted.url}/submissions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ language_id: 71, source_code: 'print(1)' }) });
      expect(refused.status).toBe(401);
    } finally {
      await hosted.close();
    }
  });
});
