/**
 * Issue 12 against real microVMs: TTY runs (a pty in the guest, resize,
 * Ctrl+C/Ctrl+D/Ctrl+Z through the line discipline, bytes passed through,
 * limits as for pipes) and terminal sessions beside a session's runs (bash,
 * the Python and Node REPLs, background jobs dying with the shell, the idle
 * timeout). Guest SPEC 3.10, 3.11.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRequest, TerminalRequest } from '@codecell/protocol';
import { silentLogger } from '@codecell/server-kit';
import { loadConfig } from '../src/config.js';
import { createSandbox } from '../src/server/createSandbox.js';
import type { Sandbox } from '../src/server/createSandbox.js';
import { disposeLeavingNothing } from './leftovers.js';
import { codeOf, collect, runPy, until } from './runHelpers.js';
import { TermReader } from './terminalHelpers.js';

let sb: Sandbox;
/** Most tests share one session VM, as a room's runs and terminals do. */
const SESSION = 'tty-room';

beforeAll(async () => {
  sb = await createSandbox(loadConfig({ POOL_SIZE: '1', SANDBOX_RUN_DIR: mkdtempSync(join(tmpdir(), 'cc-tty-')) }), silentLogger);
});

afterAll(() => disposeLeavingNothing(sb));

/** Starts a Python TTY run in the shared session and reads it in the background. */
function ttyRun(source: string, extra: Partial<RunRequest> = {}): TermReader {
  return new TermReader(sb.runs.start({ language: 'py', source, sessionId: SESSION, tty: true, limits: { timeoutMs: 30_000 }, ...extra }));
}

function terminal(program: TerminalRequest['program'], extra: Partial<TerminalRequest> = {}): TermReader {
  return new TermReader(sb.runs.startTerminal({ sessionId: SESSION, program, ...extra }));
}

/** What a terminal shows for text a program wrote: the line discipline writes `\n` as `\r\n` (ONLCR). */
const onTerminal = (text: string): string => text.replace(/\n/g, '\r\n');

describe('TTY runs (SPEC 3.10)', () => {
  it('os.isatty() is true on a terminal, with stderr merged into stdout, and false on pipes', async () => {
    const source = 'import os, sys\nprint(os.isatty(0), os.isatty(1), os.isatty(2), os.environ.get("TERM"))\nprint("to stderr", file=sys.stderr)';
    const tty = await ttyRun(source).done;
    expect(tty.exit?.status).toBe('ok');
    expect(tty.stdout).toBe(onTerminal('True True True xterm-256color\nto stderr\n'));
    expect(tty.stderr).toBe('');
    const pipes = await runPy(sb.runs, source, { sessionId: SESSION });
    expect(pipes.stdout).toBe('False False False None\n');
    expect(pipes.stderr).toBe('to stderr\n');
  });

  it('os.get_terminal_size() is the requested size and follows POST /run/<jobId>/resize (SIGWINCH)', async () => {
    const t = ttyRun(
      [
        'import os, signal',
        'signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGWINCH})',
        'print("size %dx%d" % tuple(os.get_terminal_size()), flush=True)',
        'signal.sigwait({signal.SIGWINCH})',
        'print("after %dx%d" % tuple(os.get_terminal_size()), flush=True)',
      ].join('\n'),
      { tty: { cols: 120, rows: 40 } },
    );
    await t.waitFor('size 120x40');
    t.job.resize({ cols: 100, rows: 30 });
    await t.waitFor('after 100x30');
    expect((await t.done).exit?.status).toBe('ok');
  });

  it('tty: true is 80 x 24', async () => {
    const r = await ttyRun('import os\nprint("%dx%d" % tuple(os.get_terminal_size()))').done;
    expect(r.stdout).toBe('80x24\r\n');
  });

  it('input() shows the prompt, echoes what is typed and reads the line', async () => {
    const t = ttyRun('name = input("Name? ")\nprint(f"Hello, {name}!")');
    await t.waitFor('Name? ');
    t.type('Ada\r');
    const r = await t.done;
    expect(r.stdout).toBe('Name? Ada\r\nHello, Ada!\r\n');
    expect(r.exit?.status).toBe('ok');
  });

  it('Ctrl+C gives the program a KeyboardInterrupt (traceback, status runtime_error)', async () => {
    // Short sleeps: CPython handles a signal that lands just before a sleep's system call only when that sleep ends.
    const t = ttyRun('import time\nprint("ready", flush=True)\nwhile True:\n    time.sleep(0.05)');
    await t.waitFor('ready');
    t.type('\x03');
    const r = await t.done;
    expect(r.stdout).toContain('^C'); // echoed by the line discipline
    expect(r.stdout).toContain('Traceback');
    expect(r.stdout).toMatch(/KeyboardInterrupt\r\n$/);
    expect(r.exit?.status).toBe('runtime_error');
    expect(r.exit?.signal).toBe('SIGINT');
  });

  it('Ctrl+D ends input() with EOFError', async () => {
    const t = ttyRun('try:\n    input("? ")\nexcept EOFError:\n    print("got EOFError")');
    await t.waitFor('? ');
    t.type('\x04');
    const r = await t.done;
    expect(r.stdout).toContain('got EOFError');
    expect(r.exit?.status).toBe('ok');
  });

  it('closing stdin (eof) is Ctrl+D on a terminal', async () => {
    const t = ttyRun('import sys\nprint(repr(sys.stdin.read()))');
    t.job.sendStdin('abc\r', false);
    t.job.sendStdin('', true);
    const r = await t.done;
    expect(r.stdout).toContain("'abc\\n'");
    expect(r.exit?.status).toBe('ok');
  });

  it('Ctrl+Z reaches the program as SIGTSTP', async () => {
    const t = ttyRun(
      'import signal, sys, time\ndef on_tstp(*_):\n    print("got SIGTSTP", flush=True)\n    sys.exit(3)\nsignal.signal(signal.SIGTSTP, on_tstp)\nprint("ready", flush=True)\nwhile True:\n    time.sleep(0.05)',
    );
    await t.waitFor('ready');
    t.type('\x1a');
    const r = await t.done;
    expect(r.stdout).toContain('got SIGTSTP');
    expect(r.exit?.code).toBe(3);
  });

  it('a \\r progress bar and ANSI colours come through byte for byte', async () => {
    const bar = Array.from({ length: 5 }, (_, i) => `\r[${'#'.repeat(i).padEnd(4)}] ${String(i * 25).padStart(3)}%`).join('');
    const colours = '\n\x1b[1;31mred\x1b[0m \x1b[38;5;82mgreen\x1b[0m \x1b[2J\x1b[H\n';
    const source = `import sys, time\nfor part in ${JSON.stringify(bar.split('\r').slice(1))}:\n    sys.stdout.write("\\r" + part)\n    sys.stdout.flush()\n    time.sleep(0.01)\nsys.stdout.write(${JSON.stringify(colours)})`;
    const tty = await ttyRun(source).done;
    expect(tty.stdout).toBe(bar + onTerminal(colours));
    const pipes = await runPy(sb.runs, source, { sessionId: SESSION });
    expect(pipes.stdout).toBe(bar + colours);
  });

  it('a Node program on a terminal sees it (and is started cold: a warm runtime has pipes)', async () => {
    const r = await collect(
      sb.runs.start({ language: 'js', source: 'process.stdout.write(`${process.stdout.isTTY} ${process.stdout.columns} ${process.stdin.isTTY}\\n`)', sessionId: SESSION, tty: { cols: 90, rows: 20 }, limits: { timeoutMs: 30_000 } }),
    );
    expect(r.stdout).toBe('true 90 true\r\n');
    expect(r.events.find((e) => e.type === 'stage')).toMatchObject({ name: 'run', warm: false });
  });

  it('keeps the timeout and the output cap of pipe runs', async () => {
    const spin = await ttyRun('while True:\n    pass', { limits: { timeoutMs: 1500 } }).done;
    expect(spin.exit?.status).toBe('timeout');
    const flood = await ttyRun('while True:\n    print("x" * 100)', { limits: { timeoutMs: 30_000, outputBytes: 10_000 } }).done;
    expect(flood.exit?.status).toBe('output_limit');
    expect(flood.stdout.length).toBeLessThanOrEqual(10_000);
  });

  it('refuses to resize a pipe run with not_a_terminal', async () => {
    const job = sb.runs.start({ language: 'py', source: 'import time\ntime.sleep(0.2)', sessionId: SESSION });
    expect(codeOf(() => job.resize({ cols: 10, rows: 10 }))).toBe('not_a_terminal');
    await collect(job);
  });
});

describe('terminal sessions (SPEC 3.11)', () => {
  it('bash runs as the user in /workspace, beside a run of the same session', async () => {
    const sh = terminal('bash', { size: { cols: 100, rows: 30 }, files: [{ path: 'from-room.txt', content: 'room file' }] });
    await sh.waitFor(/\$ $/);
    sh.type('echo "$((6 * 7)) $(id -u) $PWD $COLUMNS"; echo shell-file > made-by-shell.txt; cat from-room.txt; echo\r');
    await sh.waitFor('42 1000 /workspace 100\r\nroom file\r\n');
    // What the shell creates comes back as a run's files do (issue 11: the room gets it).
    await until(() => sh.events.some((e) => e.type === 'file' && e.path === 'made-by-shell.txt'), 30_000);
    // A run of the session while the shell is open: same VM, same /workspace.
    const run = await runPy(sb.runs, 'print(open("made-by-shell.txt").read().strip())', { sessionId: SESSION });
    expect(run.stdout).toBe('shell-file\n');
    sh.type('exit\r');
    const r = await sh.done;
    expect(r.exit?.status).toBe('ok');
    expect(r.vmId).toBe(run.vmId);
  });

  it('a file the shell wrote just before a pruning run is kept for that run and still reported (SPEC 3.9)', async () => {
    const sh = terminal('bash');
    await sh.waitFor(/\$ $/);
    // Wait for what bash prints, not for the echo of the typed line: `wrote-42` is not in the command.
    sh.type('echo fresh > fresh-from-shell.txt; echo wrote-$((40 + 2))\r');
    await sh.waitFor('wrote-42');
    // At once: the shell's reporter has not sent the file yet, so the room (the request) cannot have it.
    const run = await runPy(sb.runs, 'import os\nprint(sorted(os.listdir(".")))', { sessionId: SESSION, prune: true });
    expect(run.stdout).toContain("'fresh-from-shell.txt'");
    await until(() => sh.events.some((e) => e.type === 'file' && e.path === 'fresh-from-shell.txt'), 30_000);
    // Reported and unchanged for longer than the agent holds it (HOLD_S, 5 s): the room has had it, so a
    // pruning run whose request lacks it (deleted in the room meanwhile) deletes it.
    await new Promise((r) => setTimeout(r, 6000));
    const after = await runPy(sb.runs, 'import os\nprint(os.path.exists("fresh-from-shell.txt"))', { sessionId: SESSION, prune: true });
    expect(after.stdout).toBe('False\n');
    sh.type('exit\r');
    expect((await sh.done).exit?.status).toBe('ok');
  });

  it('a background job started in the shell dies with the shell', async () => {
    const sh = terminal('bash');
    await sh.waitFor(/\$ $/);
    // disown: bash does not SIGHUP it on exit; only the end of the shell's cgroup can stop it.
    sh.type('(i=0; while true; do i=$((i + 1)); echo $i > beat; sleep 0.1; done) & disown; sleep 0.5; echo "started $(cat beat)"\r');
    await sh.waitFor(/started [1-9]/);
    sh.type('exit\r');
    expect((await sh.done).exit?.status).toBe('ok');
    const check = await runPy(sb.runs, 'import time\na = open("beat").read()\ntime.sleep(1)\nprint(a == open("beat").read())', { sessionId: SESSION });
    expect(check.stdout).toBe('True\n');
  });

  it("ends the shell after its idle timeout, and input keeps it alive", async () => {
    const sh = terminal('bash', { limits: { idleTimeoutMs: 3000 } });
    await sh.waitFor(/\$ $/);
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 1500));
      sh.type(`echo tick${i}\r`);
    }
    await sh.waitFor('tick2');
    const r = await sh.done;
    expect(r.exit?.status).toBe('timeout');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4500 + 3000);
  });

  it('the Python REPL evaluates what is typed, and keeps no history file in /workspace', async () => {
    const py = terminal('python');
    await py.waitFor('>>> ');
    expect(py.screen).toContain('Python 3.');
    py.type('6 * 7\r');
    await py.waitFor('42\r\n>>> ');
    py.type('import os; os.path.exists(".python_history")\r');
    await py.waitFor('False\r\n>>> ');
    py.type('exit()\r');
    expect((await py.done).exit?.status).toBe('ok');
  });

  it('the Node REPL evaluates what is typed', async () => {
    const node = terminal('node');
    await node.waitFor('> ');
    node.type('6 * 7\r');
    await node.waitFor('42');
    node.type('.exit\r');
    expect((await node.done).exit?.status).toBe('ok');
  });
});
