/**
 * Issue 9 through a REAL sandbox and microVM: a hosted gateway (AUTH_MODE=local)
 * where the owner runs a program that reads stdin, a runner who joined with a
 * share link types its input, a guest viewer watches the output but may not
 * type or stop, and an API token drives the same room as a program would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stdoutOf } from './test/clients.js';
import { createAdmin, signUp, startHosted } from './test/hosted.js';
import type { Hosted } from './test/hosted.js';
import { startSandbox } from './test/sandboxProcess.js';
import type { SandboxProcess } from './test/sandboxProcess.js';
import { outcome, testUser } from './test/sessions.js';

let sandbox: SandboxProcess;
let h: Hosted;

beforeAll(async () => {
  sandbox = await startSandbox();
  h = await startHosted({ env: { SANDBOX_ADDR: `127.0.0.1:${sandbox.port}`, SANDBOX_TOKEN_FILE: sandbox.tokenFile, RUN_TIMEOUT_MS: '20000' } });
  // startHosted made a fake sandbox we do not use: it is closed with the gateway.
});

afterAll(async () => {
  await h?.close();
  await sandbox?.stop();
});

describe('hosted mode with a real sandbox', () => {
  it('owner runs, a runner types stdin, a guest viewer watches but may not type; startedBy is the account', async () => {
    const owner = await createAdmin(h.gw, { displayName: 'Olive' });
    const { roomId } = await owner.trpc.createRoom.mutate({ title: 'Lab' });
    const runnerLink = await owner.trpc.rooms.createLink.mutate({ roomId, role: 'runner' });
    const viewerLink = await owner.trpc.rooms.createLink.mutate({ roomId, role: 'viewer', allowGuests: true });
    const runner = await signUp(h.gw, owner, { username: 'ravi', displayName: 'Ravi' });
    await runner.trpc.rooms.redeemLink.mutate({ token: runnerLink.token });
    const viewer = testUser(h.gw.url);
    await viewer.trpc.rooms.redeemLink.mutate({ token: viewerLink.token, displayName: 'Vera' });

    const { jobId } = await owner.trpc.runCode.mutate({ roomId, files: [{ path: 'main.py', content: 'name = input()\nprint(f"hello {name}")\n' }], startedBy: 'someone else' });
    const watching = viewer.stream(jobId);
    expect(await watching.waitFor((m) => m.type === 'hello')).toMatchObject({ startedBy: 'Olive' });
    expect(await outcome(viewer.trpc.sendStdin.mutate({ jobId, data: 'Mallory\n' }))).toBe('forbidden');
    expect(await outcome(viewer.trpc.stopRun.mutate({ jobId }))).toBe('forbidden');
    await runner.trpc.sendStdin.mutate({ jobId, data: 'Ravi\n', eof: true });
    expect((await watching.closed).code).toBe(1000);
    expect(stdoutOf(watching.messages)).toBe('hello Ravi\n');
    expect(watching.messages.at(-1)).toMatchObject({ type: 'end', status: 'ok' });

    // A program with an API token uses the same room, as its owner.
    const { token } = await owner.trpc.auth.createToken.mutate({ name: 'grader' });
    const grader = testUser(h.gw.url, { bearer: token });
    const graded = await grader.trpc.runCode.mutate({ roomId, files: [{ path: 'main.py', content: 'print(6 * 7)\n' }] });
    const s = grader.stream(graded.jobId);
    await s.closed;
    expect(stdoutOf(s.messages)).toBe('42\n');
  });
});
