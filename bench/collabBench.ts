/**
 * Collaboration benchmarks (issue 4), against the real gateway process (no
 * sandbox needed; COLLAB_DB is a temp file):
 * - edit propagation between two Node Yjs clients (Hocuspocus providers);
 * - 50 editors, each with its own socket, typing ~5 chars/s for 60 s, with a
 *   cursor update per keystroke as an editor sends: propagation, gateway CPU
 *   and RSS, document size;
 * - loading a room holding a 10,000-line file: Node client connect → synced,
 *   and Chromium page open → editor shows line 10,000.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as Y from 'yjs';
import { chromium } from 'playwright-core';
import { joinRoom, waitUntil } from '../gateway/src/test/collabClients.js';
import type { RoomClient } from '../gateway/src/test/collabClients.js';
import { startGatewayProcess } from '../gateway/src/test/gatewayProcess.js';
import type { GatewayProcess } from '../gateway/src/test/gatewayProcess.js';
import { trpcClient } from '../gateway/src/test/clients.js';
import type { BenchSuite } from './run.js';
import { ms, summarize, table } from './stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PAIR_EDITS = 300;
const EDITORS = 50;
const TYPING_S = 60;
/** Mean gap between one editor's keystrokes: 5 chars/s. */
const KEY_GAP_MS = 200;
const BIG_LINES = 10_000;
const LOADS = 10;
const CLK_TCK = 100;

/** utime + stime of `pid`, seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of /proc/<pid>/stat; the slice starts at field 3.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function memMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN) / 1024;
}

const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));
const mainPy = (doc: Y.Doc): Y.Text => doc.getMap<Y.Text>('files').get('main.py')!;

/**
 * Records, for every doc in `observers`, how long each single-character insert
 * took to arrive: inserts are keyed by (clientID, clock) when they are made.
 */
class PropagationClock {
  readonly #sent = new Map<string, number>();
  readonly samples: number[] = [];

  /** Inserts `text` (one character) at `index` of `ytext` and notes when. */
  insert(ytext: Y.Text, index: number, text: string): void {
    const doc = ytext.doc!;
    this.#sent.set(`${doc.clientID}:${Y.getState(doc.store, doc.clientID)}`, performance.now());
    ytext.insert(index, text);
  }

  observe(doc: Y.Doc): void {
    doc.on('afterTransaction', (tr: Y.Transaction) => {
      if (tr.local) return;
      const now = performance.now();
      for (const [client, after] of tr.afterState) {
        for (let clock = tr.beforeState.get(client) ?? 0; clock < after; clock++) {
          const at = this.#sent.get(`${client}:${clock}`);
          if (at !== undefined) this.samples.push(now - at);
        }
      }
    });
  }
}

async function pairLatency(gw: GatewayProcess, log: (m: string) => void): Promise<number[]> {
  await trpcClient(gw.url).createRoom.mutate({ roomId: 'bench-pair' });
  using a = joinRoom(gw.url, 'bench-pair');
  using b = joinRoom(gw.url, 'bench-pair');
  await Promise.all([a.synced(), b.synced()]);
  await waitUntil(() => mainPy(b.doc)?.length === mainPy(a.doc)?.length);
  const clock = new PropagationClock();
  clock.observe(b.doc);
  for (let i = 0; i < PAIR_EDITS + 20; i++) {
    const want = clock.samples.length + 1;
    clock.insert(mainPy(a.doc), i % 50, 'x');
    await waitUntil(() => clock.samples.length >= want, { timeoutMs: 5_000, what: 'an edit to arrive' });
    if (i === 19) clock.samples.length = 0; // warm-up
    await sleep(10);
  }
  log(`pair: ${clock.samples.length} edits`);
  return clock.samples;
}

interface CrowdResult {
  readonly latencies: number[];
  readonly gatewayCores: number;
  readonly benchCores: number;
  readonly rssMb: number;
  readonly peakRssMb: number;
  readonly docBytes: number;
  readonly textChars: number;
  readonly keystrokes: number;
  readonly converged: boolean;
}

async function crowd(gw: GatewayProcess, log: (m: string) => void): Promise<CrowdResult> {
  await trpcClient(gw.url).createRoom.mutate({ roomId: 'bench-crowd' });
  const editors: RoomClient[] = [];
  try {
    for (let i = 0; i < EDITORS; i++) editors.push(joinRoom(gw.url, 'bench-crowd'));
    await Promise.all(editors.map((e) => e.synced(20_000)));
    editors.forEach((e, i) => e.provider.awareness!.setLocalStateField('user', { name: `editor ${i}`, color: '#3e63dd' }));
    await sleep(2_000);
    const clock = new PropagationClock();
    // Five editors spread over the room measure what they receive from everyone else.
    for (const i of [0, 12, 24, 36, 48]) clock.observe(editors[i]!.doc);
    const cursors = editors.map((e) => {
      const t = mainPy(e.doc);
      return Y.createRelativePositionFromTypeIndex(t, Math.floor(Math.random() * t.length));
    });
    let keystrokes = 0;
    let typing = true;
    const cpu0 = cpuSeconds(gw.pid);
    const bench0 = process.cpuUsage();
    const t0 = performance.now();
    const loops = editors.map(async (e, i) => {
      await sleep(Math.random() * KEY_GAP_MS);
      while (typing) {
        const t = mainPy(e.doc);
        const index = Y.createAbsolutePositionFromRelativePosition(cursors[i]!, e.doc)?.index ?? t.length;
        clock.insert(t, index, 'abcdefghij '[keystrokes % 11]!);
        cursors[i] = Y.createRelativePositionFromTypeIndex(t, index + 1);
        // An editor publishes its cursor with every keystroke.
        e.provider.awareness!.setLocalStateField('cursor', { line: 1, column: index + 2 });
        keystrokes++;
        await sleep(KEY_GAP_MS * (0.5 + Math.random()));
      }
    });
    for (let s = 10; s <= TYPING_S; s += 10) {
      await sleep(10_000);
      log(`crowd: ${s}/${TYPING_S} s, ${keystrokes} keystrokes`);
    }
    typing = false;
    await Promise.all(loops);
    const elapsedS = (performance.now() - t0) / 1000;
    const gatewayCores = (cpuSeconds(gw.pid) - cpu0) / elapsedS;
    const used = process.cpuUsage(bench0);
    const benchCores = (used.user + used.system) / 1e6 / elapsedS;
    const rssMb = memMb(gw.pid, 'VmRSS');
    const peakRssMb = memMb(gw.pid, 'VmHWM');
    await Promise.all(editors.map((e) => e.acknowledged(30_000)));
    const text = mainPy(editors[0]!.doc).toJSON();
    await waitUntil(() => editors.every((e) => mainPy(e.doc).length === text.length), { timeoutMs: 30_000, what: 'every editor to converge' });
    const converged = editors.every((e) => mainPy(e.doc).toJSON() === text);
    return {
      latencies: clock.samples,
      gatewayCores,
      benchCores,
      rssMb,
      peakRssMb,
      docBytes: Y.encodeStateAsUpdate(editors[0]!.doc).byteLength,
      textChars: text.length,
      keystrokes,
      converged,
    };
  } finally {
    for (const e of editors) e.destroy();
  }
}

interface LoadResult {
  /** Nobody else in the room: the gateway unloaded it when the last client left, so it is read from SQLite. */
  readonly cold: number[];
  /** Another client keeps the room loaded. */
  readonly warm: number[];
  readonly chromium: { readonly ready: number[]; readonly line: number[] } | string;
}

async function bigRoom(gw: GatewayProcess, log: (m: string) => void): Promise<LoadResult> {
  const roomId = 'bench-big';
  await trpcClient(gw.url).createRoom.mutate({ roomId });
  {
    using writer = joinRoom(gw.url, roomId);
    await writer.synced();
    const t = mainPy(writer.doc);
    const lines = Array.from({ length: BIG_LINES }, (_, i) => `value_${i + 1} = ${i + 1}  # line ${i + 1} of the big file`);
    writer.doc.transact(() => {
      t.delete(0, t.length);
      t.insert(0, `${lines.join('\n')}\n`);
    });
    await writer.acknowledged(30_000);
  }
  await sleep(1_000);
  const loadOnce = async (): Promise<number> => {
    const t0 = performance.now();
    using c = joinRoom(gw.url, roomId);
    await c.synced(30_000);
    const took = performance.now() - t0;
    if (mainPy(c.doc).toJSON().split('\n').length !== BIG_LINES + 1) throw new Error('the big file did not load whole');
    // Let the gateway see this client leave (and unload the room when it was the last).
    await sleep(200);
    return took;
  };
  const cold: number[] = [];
  for (let i = 0; i < LOADS; i++) cold.push(await loadOnce());
  const warm: number[] = [];
  {
    using holder = joinRoom(gw.url, roomId);
    await holder.synced(30_000);
    for (let i = 0; i < LOADS; i++) warm.push(await loadOnce());
  }
  log(`big room: cold p50 ${ms(summarize(cold).p50)} ms, warm p50 ${ms(summarize(warm).p50)} ms`);
  return { cold, warm, chromium: await chromiumLoads(gw, roomId) };
}

/** Page open → editor ready, and → line 10,000 on screen (Ctrl+End), in Debian Chromium. */
async function chromiumLoads(gw: GatewayProcess, roomId: string): Promise<LoadResult['chromium']> {
  const executablePath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) return `skipped: no Chromium at ${executablePath}`;
  const browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    const ready: number[] = [];
    const line: number[] = [];
    for (let i = 0; i < 5; i++) {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      const page = await context.newPage();
      const t0 = performance.now();
      await page.goto(`${gw.url}/r/${roomId}`);
      await page.waitForSelector('body[data-editor-ready="true"]', { timeout: 60_000 });
      ready.push(performance.now() - t0);
      await page.keyboard.press('Control+End');
      // A string: this file is compiled without the DOM library.
      await page.waitForFunction(`[...document.querySelectorAll('.line-numbers')].some((el) => el.textContent === '${BIG_LINES}')`, undefined, {
        timeout: 60_000,
      });
      line.push(performance.now() - t0);
      await context.close();
    }
    return { ready, line };
  } finally {
    await browser.close();
  }
}

function frontendDist(): string {
  const dist = join(ROOT, 'frontend', 'dist');
  if (!existsSync(join(dist, 'index.html'))) {
    const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
    const r = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: join(ROOT, 'frontend'), stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
    if (r.status !== 0) throw new Error('vite build failed');
  }
  return dist;
}

const verdict = (ok: boolean): string => (ok ? 'met' : '**not met**');

export const collabBench: BenchSuite = {
  name: 'collab',
  async run(log) {
    const dir = await mkdtemp(join(tmpdir(), 'codecell-bench-collab-'));
    const gw = await startGatewayProcess({ COLLAB_DB: join(dir, 'collab.sqlite'), FRONTEND_DIST: frontendDist(), LOG_LEVEL: 'info' });
    try {
      const pair = summarize(await pairLatency(gw, log));
      const c = await crowd(gw, log);
      const crowdLat = summarize(c.latencies);
      const big = await bigRoom(gw, log);
      const row = (name: string, s: ReturnType<typeof summarize>) => [name, s.n, ms(s.p50), ms(s.p95), ms(s.p99), ms(s.max)];
      const loadRows = [
        row('Node client: connect → synced, room not loaded (read from SQLite)', summarize(big.cold)),
        row('Node client: connect → synced, room loaded (another client in it)', summarize(big.warm)),
      ];
      if (typeof big.chromium !== 'string') {
        loadRows.push(row('Chromium: page open → editor ready', summarize(big.chromium.ready)));
        loadRows.push(row('Chromium: page open → line 10,000 on screen (Ctrl+End)', summarize(big.chromium.line)));
      }
      return [
        'One gateway process on loopback with a temp COLLAB_DB; clients are Hocuspocus providers in the bench process (each editor its own socket).',
        'Propagation is measured from the local insert to the remote document applying it, keyed by Yjs (clientID, clock).',
        '',
        '### Edit propagation (ms)',
        '',
        table(['measurement', 'n', 'p50', 'p95', 'p99', 'max'], [
          row(`2 clients, one 1-char insert at a time (${PAIR_EDITS} edits, 10 ms apart)`, pair),
          row(`${EDITORS} editors typing ~5 chars/s each for ${TYPING_S} s, seen by 5 of them`, crowdLat),
        ]),
        '',
        `${EDITORS} editors: ${c.keystrokes} keystrokes (each also a cursor awareness update); gateway CPU ${c.gatewayCores.toFixed(2)} cores (utime+stime over the window), RSS ${c.rssMb.toFixed(0)} MiB at the end (peak ${c.peakRssMb.toFixed(0)} MiB); the bench process hosting the ${EDITORS} clients used ${c.benchCores.toFixed(2)} cores. Document at the end: ${(c.docBytes / 1024).toFixed(1)} KiB encoded, ${c.textChars} characters; all editors converged: ${c.converged ? 'yes' : '**no**'}.`,
        '',
        `### Loading a room with a ${BIG_LINES.toLocaleString('en')}-line file (ms)`,
        '',
        `The file is ${BIG_LINES.toLocaleString('en')} lines of ~40 characters. The gateway unloads a room as soon as its last client leaves (\`unloadImmediately\`), so a load with nobody else in the room reads it back from SQLite (one compacted update). Chromium opens the room page in a fresh context each time (nothing cached).`,
        '',
        table(['measurement', 'n', 'p50', 'p95', 'p99', 'max'], loadRows),
        ...(typeof big.chromium === 'string' ? ['', `Chromium: ${big.chromium}.`] : []),
        '',
        '### Targets',
        '',
        table(['target', 'measured', 'verdict'], [
          ['2 clients p50 < 20 ms', `${ms(pair.p50)} ms`, verdict(pair.p50 < 20)],
          ['2 clients p99 < 100 ms', `${ms(pair.p99)} ms`, verdict(pair.p99 < 100)],
          [`${EDITORS} editors p99 < 250 ms`, `${ms(crowdLat.p99)} ms`, verdict(crowdLat.p99 < 250)],
          [`${EDITORS} editors: gateway under one core`, `${c.gatewayCores.toFixed(2)} cores`, verdict(c.gatewayCores < 1)],
        ]),
      ].join('\n');
    } finally {
      await gw.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    }
  },
};
