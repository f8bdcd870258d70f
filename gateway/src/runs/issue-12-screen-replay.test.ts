/**
 * Issue 12: a late joiner of a TTY run whose early output the replay dropped
 * gets the screen, not the last bytes: what a terminal shows after the replay
 * is what a terminal that saw everything shows.
 */
import { describe, expect, it, vi } from 'vitest';
import headless from '@xterm/headless';
import { streamMessageSchema } from '@codecell/protocol';
import type { RunEvent, StreamMessage } from '@codecell/protocol';
import { silentLogger } from '@codecell/server-kit';
import { Run } from './Run.js';
import { SCREEN_BURST_BYTES, SCREEN_MAX_CELLS, SCREEN_RATE_BYTES_PER_S, ScreenModel, scrollbackFor, withScreen } from './ScreenModel.js';

const SIZE = { cols: 40, rows: 8 };

function newRun(replayBytes: number): Run {
  return new Run({ facts: { jobId: 'job', sessionId: 'room', startedBy: null, owner: null, submittedAt: 1 }, replayBytes, logger: silentLogger });
}

/** A terminal of `SIZE` that took `data`; resolves once it parsed it. */
async function terminalOf(data: string, size = SIZE): Promise<headless.Terminal> {
  const t = new headless.Terminal({ ...size, scrollback: 1000, allowProposedApi: true });
  await new Promise<void>((r) => t.write(data, r));
  return t;
}

/** Every line of the active buffer, and whether the cell at (0, row) is bold red, the cursor and which buffer is active. */
function look(t: headless.Terminal): { lines: string[]; redBold: boolean[]; cursor: [number, number]; alt: boolean } {
  const b = t.buffer.active;
  const lines: string[] = [];
  const redBold: boolean[] = [];
  for (let y = 0; y < b.length; y++) {
    lines.push(b.getLine(y)?.translateToString(true) ?? '');
    const cell = b.getLine(y)?.getCell(0);
    redBold.push(cell !== undefined && cell.isBold() !== 0 && cell.getFgColor() === 1);
  }
  return { lines, redBold, cursor: [b.cursorX, b.cursorY], alt: b.type === 'alternate' };
}

/** What a page draws from a replay: the output events' bytes, a `screen` from scratch. */
function drawn(replay: readonly StreamMessage[]): string {
  let data = '';
  for (const m of replay) {
    if (m.type === 'screen') data = m.data;
    if (m.type === 'event' && (m.event.type === 'stdout' || m.event.type === 'stderr')) data += m.event.data;
  }
  return data;
}

describe('issue 12: screen replay', () => {
  it('a late joiner of a run whose early output was dropped sees the screen a terminal that saw everything shows', async () => {
    const run = newRun(2_000);
    const events: RunEvent[] = [{ type: 'start', jobId: 's', vmId: 'vm', at: 1 }, { type: 'size', ...SIZE }];
    // Set up once, early: bold red, a title line, then many lines (they push it all out of the byte budget).
    let output = '\x1b[1;31mSTATUS bold red from the first bytes\r\n';
    for (let i = 0; i < 300; i++) output += `line ${i}, still bold red\r\n`;
    output += 'last line, cursor after it: ';
    for (let i = 0; i < output.length; i += 500) events.push({ type: 'stdout', data: output.slice(i, i + 500) });
    for (const e of events) run.pushEvent(e);
    const { hello, replay } = run.subscribe({ send: () => undefined });
    expect(hello.truncated).toBe(true);
    for (const m of replay) streamMessageSchema.parse(m);
    const screens = replay.filter((m) => m.type === 'screen');
    expect(screens).toHaveLength(1);
    expect(screens[0]).toMatchObject({ seq: events.length - 1, ...SIZE });
    // No output event stands beside the screen it is part of.
    expect(replay.some((m) => m.type === 'event' && m.event.type === 'stdout')).toBe(false);
    const reference = look(await terminalOf(output));
    const replayed = look(await terminalOf(drawn(replay)));
    expect(replayed.lines.slice(-SIZE.rows)).toEqual(reference.lines.slice(-SIZE.rows));
    expect(replayed.redBold.slice(-SIZE.rows)).toEqual(reference.redBold.slice(-SIZE.rows));
    expect(replayed.cursor).toEqual(reference.cursor);
    // The bytes alone (what the replay kept) lose the colour set before them: the test can fail.
    const tail = look(await terminalOf(output.slice(-1_500)));
    expect(tail.redBold.slice(-SIZE.rows)).not.toEqual(reference.redBold.slice(-SIZE.rows));
  });

  it('keeps a full-screen program on its alternate screen, with output still being parsed and after the run ended', async () => {
    const run = newRun(1_000);
    run.pushEvent({ type: 'start', jobId: 's', vmId: 'vm', at: 1 });
    run.pushEvent({ type: 'size', ...SIZE });
    let output = 'shell prompt$ top\r\n\x1b[?1049h';
    for (let i = 0; i < 50; i++) output += `\x1b[H\x1b[2Jframe ${i}\r\n${'x'.repeat(30)}`;
    run.pushEvent({ type: 'stdout', data: output });
    // Subscribed at once: the model has not parsed it yet.
    const live = run.subscribe({ send: () => undefined }).replay;
    const reference = look(await terminalOf(output));
    expect(reference.alt).toBe(true);
    expect(look(await terminalOf(drawn(live)))).toEqual(reference);
    run.pushEvent({ type: 'exit', code: 0, signal: null, status: 'ok', cpuMs: 1, wallMs: 1, maxRssKb: 1 });
    run.finish({ status: 'ok', code: 0, message: null }, 2);
    const after = run.subscribe({ send: () => undefined }).replay;
    expect(after.map((m) => (m.type === 'event' ? m.event.type : m.type))).toEqual(['start', 'size', 'screen', 'exit', 'end']);
    expect(look(await terminalOf(drawn(after)))).toEqual(reference);
  });

  it('replays the bytes while nothing was dropped, and of pipe runs always', () => {
    const tty = newRun(10_000);
    tty.pushEvent({ type: 'size', ...SIZE });
    tty.pushEvent({ type: 'stdout', data: 'hello\r\n' });
    expect(tty.subscribe({ send: () => undefined }).replay.some((m) => m.type === 'screen')).toBe(false);
    const pipes = newRun(100);
    for (let i = 0; i < 20; i++) pipes.pushEvent({ type: 'stdout', data: `line ${i}\n` });
    const replay = pipes.subscribe({ send: () => undefined });
    expect(replay.hello.truncated).toBe(true);
    expect(replay.replay.some((m) => m.type === 'screen')).toBe(false);
  });

  it('gives the model up, never the run, when output outruns its budget; the replay then keeps the bytes', () => {
    let now = 0;
    const model = new ScreenModel(SIZE, () => now);
    const chunk = 'y\r\n'.repeat(20_000);
    let seq = 0;
    for (let sent = 0; sent <= SCREEN_BURST_BYTES; sent += chunk.length) model.observe(seq++, { type: 'stdout', data: chunk });
    expect(model.alive).toBe(false);
    expect(model.snapshot()).toBeNull();
    model.observe(seq++, { type: 'stdout', data: 'more' }); // still no throw
    // At a reader's pace it keeps up: the bucket refills.
    const paced = new ScreenModel(SIZE, () => now);
    for (let i = 0; i < 40; i++) {
      now += 1_000;
      paced.observe(i, { type: 'stdout', data: 'x'.repeat(SCREEN_RATE_BYTES_PER_S - 10) });
    }
    expect(paced.alive).toBe(true);
    paced.dispose();
    // In a run: the replay of a run that lost its model is the bytes it kept.
    const run = newRun(1_000);
    run.pushEvent({ type: 'size', ...SIZE });
    // Twice the burst: the bucket refills on the real clock meanwhile.
    for (let i = 0; i * chunk.length <= 2 * SCREEN_BURST_BYTES; i++) run.pushEvent({ type: 'stdout', data: chunk });
    const replay = run.subscribe({ send: () => undefined }).replay;
    expect(replay.some((m) => m.type === 'screen')).toBe(false);
    expect(drawn(replay).length).toBeGreaterThan(0);
  });

  it('takes any bytes a hostile program prints without throwing', async () => {
    let x = 12345;
    const rand = (n: number): number => ((x = (x * 1103515245 + 12345) & 0x7fffffff) % n);
    const pieces = ['\x1b[', '\x1b]', '\x1bP', '\x07', '\x1b\\', ';', '?1049h', '999999999', '38;2;', 'm', 'H', 'J', '\r\n', '\u{1F600}', '\x9b', '\x00', 'é'];
    const model = new ScreenModel({ cols: 3, rows: 2 });
    for (let i = 0; i < 200; i++) {
      let data = '';
      for (let k = 0; k < 500; k++) data += rand(3) === 0 ? String.fromCharCode(rand(0x3000)) : (pieces[rand(pieces.length)] as string);
      model.observe(i, { type: 'stdout', data });
      if (i % 50 === 0) model.observe(i, { type: 'size', cols: 1 + rand(300), rows: 1 + rand(100) });
    }
    // Once the parser caught up with the last resize, the screen is there.
    await vi.waitFor(() => expect(typeof model.snapshot()?.data).toBe('string'), { timeout: 10_000 });
    expect(model.alive).toBe(true);
    model.dispose();
  });

  it('keeps fewer scrollback lines on a wide terminal, so one model stays small', () => {
    expect(scrollbackFor({ cols: 80, rows: 24 })).toBe(1_000);
    expect(scrollbackFor({ cols: 1000, rows: 100 })).toBe(156);
    expect(scrollbackFor({ cols: 1000, rows: 1000 })).toBe(0);
    for (const size of [{ cols: 80, rows: 24 }, { cols: 400, rows: 300 }, { cols: 1000, rows: 200 }]) {
      expect((scrollbackFor(size) + size.rows) * size.cols).toBeLessThanOrEqual(SCREEN_MAX_CELLS);
    }
  });

  it('puts the screen where the output it stands for was, keeping every other message in order', () => {
    const ev = (seq: number, event: RunEvent): StreamMessage => ({ type: 'event', seq, event });
    const replay: StreamMessage[] = [
      ev(0, { type: 'start', jobId: 's', vmId: 'vm', at: 1 }),
      ev(1, { type: 'size', ...SIZE }),
      ev(3, { type: 'stdout', data: 'b' }),
      ev(4, { type: 'size', cols: 50, rows: 9 }),
      ev(5, { type: 'stdout', data: 'c' }),
      ev(6, { type: 'stdout', data: 'd' }),
    ];
    const out = withScreen(replay, { seq: 5, cols: 50, rows: 9, data: 'SCREEN' });
    expect(out.map((m) => (m.type === 'event' ? `${m.seq}:${m.event.type}` : m.type))).toEqual(['0:start', '1:size', '4:size', 'screen', '6:stdout']);
  });
});
