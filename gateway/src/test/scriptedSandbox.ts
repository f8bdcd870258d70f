/**
 * A fake sandbox server (over HTTP, as the real one) whose "programs" are
 * scripts, for tests of the compatible APIs in every language without VMs.
 * `GET /runtimes` lists the whole runtime table (or what the test sets);
 * `GET /healthz` reports Python's version, as an older sandbox's health does.
 * A program's source is read line by line:
 *
 * - `out <text>` / `err <text>`: writes the text and a newline to stdout / stderr
 * - `hex <hex>`: writes these bytes to stdout (bytesB64 when not UTF-8)
 * - `argv`: writes the args, space-separated, and a newline
 * - `cat`: copies stdin to stdout until EOF (stdin sent later too)
 * - `line`: waits for one line of stdin and writes it to stdout
 * - `compile-error <text>`: a compiled language's compile fails with `text` on stderr
 * - `hang`: runs until killed or until `limits.timeoutMs` (then `timeout`)
 * - `exit <n>` / `signal <NAME>` / `status <runStatus>` / `cpu <ms>`: how it ends
 *
 * Compiled runtimes get a `compile` stage first, as the real sandbox's runs.
 * @module
 */
import type { ServerResponse } from 'node:http';
import { isCompiled, runRequestSchema, runtimeInfos } from '@codecell/protocol';
import type { Health, RunEvent, RunRequest, RunStatus, RuntimeInfo } from '@codecell/protocol';
import { sendError, startFakeSandboxServer, startNdjson, writeEvent } from './fakeSandboxServer.js';
import type { FakeSandboxServer } from './fakeSandboxServer.js';

/** Versions the scripted sandbox reports (what a Debian 12 image has). */
export const SCRIPTED_VERSIONS = { py: '3.11.2', js: '18.19.0', ts: '4.8.4', go: '1.19.8', c: '12.2.0', cpp: '12.2.0', rs: '1.63.0', java: '17.0.12', rb: '3.1.2', sh: '5.2.15' } as const;

/** What `GET /healthz` answers: an idle fake sandbox whose guest reported Python's version. */
const HEALTH: Health = {
  ok: true,
  driver: 'fake',
  acceleration: 'none',
  accelerationReason: 'scripted sandbox',
  ready: true,
  pool: { idle: 1, starting: 0, attached: 0, target: 1, mode: 'boot', guestMemoryMb: 0 },
  runs: { active: 0, queued: 0, total: 0 },
  limits: { timeoutMs: 1, maxTimeoutMs: 1, memoryMb: 1, maxMemoryMb: 1, vcpus: 1, maxVcpus: 1, outputBytes: 1, maxSessions: 1, maxGuestMemoryMb: 1 },
  hostCgroups: { mode: 'none', memoryLimitMb: null, warning: null },
  version: '0.0.0',
  python: SCRIPTED_VERSIONS.py,
};

/** A running scripted sandbox. */
export interface ScriptedSandbox extends FakeSandboxServer {
  /** What `GET /runtimes` answers; null answers 404 (a sandbox that predates it). */
  runtimes: RuntimeInfo[] | null;
  /** Requests of `POST /run`, in order. */
  readonly runs: RunRequest[];
  /** Runs going on now, and the most there were at once. */
  readonly active: { now: number; max: number };
}

interface Job {
  readonly res: ServerResponse;
  readonly req: RunRequest;
  stdin: string;
  eof: boolean;
  ended: boolean;
  timer: NodeJS.Timeout | null;
  wake: (() => void) | null;
}

/** Starts it on a free port; with `token`, it refuses requests without `Authorization: Bearer <token>`, as the real one does. */
export async function startScriptedSandbox(o: { token?: string } = {}): Promise<ScriptedSandbox> {
  const jobs = new Map<string, Job>();
  let next = 0;
  const state = { runtimes: runtimeInfos(SCRIPTED_VERSIONS) as RuntimeInfo[] | null, runs: [] as RunRequest[], active: { now: 0, max: 0 } };
  const fake = await startFakeSandboxServer((r, res) => {
    if (r.method === 'GET' && r.path === '/runtimes') {
      // The test may have replaced the list on the returned object.
      state.runtimes = self.runtimes;
      if (state.runtimes === null) return sendError(res, 404, { code: 'not_found', message: 'no route GET /runtimes' });
      return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ runtimes: state.runtimes }));
    }
    if (r.method === 'GET' && r.path === '/healthz') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(HEALTH));
    const m = /^\/run\/([^/]+)\/(stdin|kill)$/.exec(r.path);
    const job = m ? jobs.get(m[1] ?? '') : undefined;
    if (m && job) {
      res.writeHead(202, { 'Content-Type': 'application/json' }).end('{}');
      if (m[2] === 'kill') return end(job, { status: 'killed', signal: 'SIGKILL' });
      const body = r.body as { data?: string; eof?: boolean };
      job.stdin += body.data ?? '';
      job.eof ||= body.eof === true;
      return job.wake?.();
    }
    if (m) return sendError(res, 409, { code: 'run_finished', message: 'the run has finished' });
    if (r.method !== 'POST' || r.path !== '/run') return sendError(res, 404, { code: 'not_found', message: `no route ${r.path}` });
    const req = runRequestSchema.parse(r.body);
    state.runs.push(req);
    const jobId = `s${next++}`;
    const j: Job = { res, req, stdin: req.stdin ?? '', eof: req.stdinOpen === false, ended: false, timer: null, wake: null };
    jobs.set(jobId, j);
    startNdjson(res, jobId);
    writeEvent(res, { type: 'start', jobId, vmId: 'vm-fake', at: Date.now() });
    state.active.max = Math.max(state.active.max, ++state.active.now);
    void play(j).finally(() => {
      state.active.now--;
      jobs.delete(jobId);
    });
  }, o.token === undefined ? {} : { token: o.token });
  const self: ScriptedSandbox = Object.assign(fake, state);
  return self;
}

function emit(j: Job, ev: RunEvent): void {
  if (!j.ended) writeEvent(j.res, ev);
}

function end(j: Job, o: { status: RunStatus; code?: number | null; signal?: string | null; cpuMs?: number; compile?: boolean }): void {
  if (j.ended) return;
  emit(j, { type: 'exit', code: o.code ?? null, signal: o.signal ?? null, status: o.status, cpuMs: o.cpuMs ?? 3, wallMs: 5, maxRssKb: 2048, ...(o.compile ? { compile: { code: 0, signal: null, cpuMs: 7, wallMs: 9, maxRssKb: 4096 } } : {}) });
  j.ended = true;
  if (j.timer) clearTimeout(j.timer);
  j.wake?.();
  j.res.end();
}

async function play(j: Job): Promise<void> {
  const lines = j.req.source.split('\n');
  const compiled = isCompiled(j.req.language);
  if (compiled) {
    emit(j, { type: 'stage', name: 'compile' });
    const failure = lines.find((l) => l.startsWith('compile-error '));
    if (failure !== undefined) {
      emit(j, { type: 'stderr', data: `${j.req.entry ?? 'main'}:1:1: error: ${failure.slice(14)}\n` });
      return end(j, { status: 'compile_error', code: 1 });
    }
    emit(j, { type: 'stage', name: 'run' });
  }
  const fin = { status: 'ok' as RunStatus, code: 0 as number | null, signal: null as string | null, cpuMs: 3, compile: compiled };
  for (const text of lines) {
    const [word = '', ...rest] = text.split(' ');
    const arg = rest.join(' ');
    if (word === 'out' || word === 'err') emit(j, { type: word === 'out' ? 'stdout' : 'stderr', data: `${arg}\n` });
    if (word === 'hex') emit(j, hexEvent(arg));
    if (word === 'argv') emit(j, { type: 'stdout', data: `${(j.req.args ?? []).join(' ')}\n` });
    if (word === 'cat') await cat(j);
    if (word === 'line') await readLine(j);
    if (word === 'hang') await hang(j);
    if (word === 'exit') Object.assign(fin, { code: Number(arg), status: Number(arg) === 0 ? 'ok' : 'runtime_error' });
    if (word === 'signal') Object.assign(fin, { code: null, signal: arg, status: 'runtime_error' });
    if (word === 'status') fin.status = arg as RunStatus;
    if (word === 'cpu') fin.cpuMs = Number(arg);
    if (j.ended) return;
  }
  end(j, fin);
}

function hexEvent(hex: string): RunEvent {
  const bytes = Buffer.from(hex, 'hex');
  const data = bytes.toString('utf8');
  return Buffer.from(data, 'utf8').equals(bytes) ? { type: 'stdout', data } : { type: 'stdout', data, bytesB64: bytes.toString('base64') };
}

async function cat(j: Job): Promise<void> {
  for (;;) {
    if (j.stdin !== '') {
      emit(j, { type: 'stdout', data: j.stdin });
      j.stdin = '';
    }
    if (j.eof || j.ended) return;
    await new Promise<void>((resolve) => (j.wake = resolve));
  }
}

async function readLine(j: Job): Promise<void> {
  while (!j.stdin.includes('\n') && !j.eof && !j.ended) await new Promise<void>((resolve) => (j.wake = resolve));
  const cut = j.stdin.indexOf('\n') + 1 || j.stdin.length;
  emit(j, { type: 'stdout', data: j.stdin.slice(0, cut) });
  j.stdin = j.stdin.slice(cut);
}

async function hang(j: Job): Promise<void> {
  j.timer = setTimeout(() => end(j, { status: 'timeout', signal: 'SIGKILL', cpuMs: j.req.limits?.timeoutMs ?? 0 }), j.req.limits?.timeoutMs ?? 5000);
  while (!j.ended) await new Promise<void>((resolve) => (j.wake = resolve));
}
