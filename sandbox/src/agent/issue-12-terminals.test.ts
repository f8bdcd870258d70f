/**
 * Issue 12, host side of the agent: terminal sessions run beside the VM's one
 * program run (guest SPEC 3.11), each with its own output; a TTY run's resize
 * is its own frame; an error about one run ends only that run.
 */
import { describe, expect, it } from 'vitest';
import { FrameType } from '@codecell/protocol';
import type { ExecFrame } from '@codecell/protocol';
import { fakeChannel } from '../../test/agentChannel.js';
import { AgentConnection } from './AgentConnection.js';
import type { AgentRun, AgentRunEvent } from './AgentConnection.js';

const exec = (extra: Partial<ExecFrame> = {}): Omit<ExecFrame, 'runId'> => ({
  files: [],
  stdinB64: '',
  stdinOpen: true,
  stages: [{ name: 'run', argv: ['/bin/bash', '-i'], env: {}, memoryBytes: 128 << 20 }],
  limits: { pids: 256, outputBytes: 1 << 20, fileSizeBytes: 1 << 20, openFiles: 64 },
  ...extra,
});

async function drain(run: AgentRun): Promise<AgentRunEvent[]> {
  const out: AgentRunEvent[] = [];
  for await (const e of run.events) out.push(e);
  return out;
}

const exit = (runId: number) => ({ runId, stage: 'run', code: 0, signal: null, cpuMs: 1, wallMs: 1, maxRssKb: 1, oomKilled: false, outputLimited: false });
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

describe('issue 12: terminal sessions beside a run', () => {
  it('starts terminals while a program runs, but never two programs', () => {
    const ch = fakeChannel();
    const agent = new AgentConnection(ch.host);
    agent.exec(exec());
    expect(() => agent.exec(exec())).toThrow(/already active/);
    const shell = agent.exec(exec({ terminal: true, tty: { cols: 80, rows: 24 } }));
    const repl = agent.exec(exec({ terminal: true, tty: { cols: 80, rows: 24 } }));
    expect(new Set([shell.runId, repl.runId]).size).toBe(2);
    const execs = ch.sent.filter((f) => f.type === FrameType.exec).map((f) => f.body as ExecFrame);
    expect(execs.map((e) => e.terminal ?? false)).toEqual([false, true, true]);
    expect(execs[1]?.tty).toEqual({ cols: 80, rows: 24 });
  });

  it("routes each run's output and exit by runId, and sends resize frames", async () => {
    const ch = fakeChannel();
    const agent = new AgentConnection(ch.host);
    const run = agent.exec(exec());
    const shell = agent.exec(exec({ terminal: true, tty: { cols: 80, rows: 24 } }));
    const runEvents = drain(run);
    const shellEvents = drain(shell);
    ch.dataToHost(FrameType.stdout, shell.runId, 'user@sandbox:~$ ');
    ch.dataToHost(FrameType.stdout, run.runId, 'hello\n');
    ch.toHost(FrameType.exit, exit(run.runId));
    await tick();
    shell.resize({ cols: 132, rows: 43 });
    expect(ch.sent.filter((f) => f.type === FrameType.resize).map((f) => f.body)).toEqual([{ runId: shell.runId, cols: 132, rows: 43 }]);
    // The program ended; another may start while the shell goes on.
    const next = agent.exec(exec());
    ch.toHost(FrameType.exit, exit(next.runId));
    ch.toHost(FrameType.exit, exit(shell.runId));
    const texts = (events: AgentRunEvent[]) => events.flatMap((e) => (e.type === 'stdout' ? [e.data.toString()] : []));
    expect(texts(await runEvents)).toEqual(['hello\n']);
    expect(texts(await shellEvents)).toEqual(['user@sandbox:~$ ']);
    expect((await drain(next)).map((e) => e.type)).toEqual(['exit']);
  });

  it('an error about one run fails only that run', async () => {
    const ch = fakeChannel();
    const agent = new AgentConnection(ch.host);
    const run = agent.exec(exec());
    const shell = agent.exec(exec({ terminal: true, tty: { cols: 80, rows: 24 } }));
    const failed = drain(shell).then(
      () => null,
      (err: unknown) => err,
    );
    ch.toHost(FrameType.error, { runId: shell.runId, message: '4 terminal sessions are open already' });
    expect(await failed).toMatchObject({ code: 'internal_error', message: expect.stringContaining('terminal sessions') });
    ch.toHost(FrameType.exit, exit(run.runId));
    expect((await drain(run)).map((e) => e.type)).toEqual(['exit']);
  });
});
