/**
 * Several people in one room, each a separate Chromium context (own storage
 * and network): concurrent typing converges, cursors and every selection show
 * with names, follow / jump, shared runs, per-user undo, file operations,
 * offline edits merging, a refused update, and a gateway SIGKILLed and
 * restarted on the same COLLAB_DB without losing an acknowledged edit.
 * Screenshots land in frontend/test-results/collab-*.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from './browser.js';
import type { SharedBrowser } from './browser.js';
import {
  activeFileOf,
  cc,
  clientIdOf,
  connectionOf,
  converged,
  createFile,
  cursorAt,
  fileAction,
  focusEditor,
  joinRoom,
  newRoom,
  outputOf,
  person,
  RUN_TIMEOUT_MS,
  setText,
  textOf,
  unsyncedOf,
  waitForOutput,
  waitJoined,
} from './roomPage.js';
import type { User } from './roomPage.js';
import { buildFrontend, RESULTS_DIR, startStack } from './stack.js';
import type { Stack } from './stack.js';

/** Small enough that one big paste is refused (C7), large enough for every other test. */
const MAX_ROOM_BYTES = 256 * 1024;

let stack: Stack;
let shared: SharedBrowser;
let alice: User;
let bob: User;
let carol: User;

const EXPECTED_CONSOLE_ERRORS = /WebSocket connection to '.*' failed|net::ERR_INTERNET_DISCONNECTED|net::ERR_CONNECTION_REFUSED/;

const COLORS: Record<string, string> = { Alice: '#e5484d', Bob: '#0091ff', Carol: '#30a46c' };

async function newUser(name: string, colorScheme: 'light' | 'dark' = 'light'): Promise<User> {
  const session = await shared.newUser({ identity: { name, color: COLORS[name]! }, colorScheme });
  return { name, session, page: session.page };
}

beforeAll(async () => {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const dist = buildFrontend();
  stack = await startStack({ frontendDist: dist, gatewayEnv: { RUN_TIMEOUT_MS: '20000', MAX_ROOM_BYTES: String(MAX_ROOM_BYTES) } });
  shared = await launchBrowser();
  alice = await newUser('Alice');
  bob = await newUser('Bob', 'dark');
  carol = await newUser('Carol');
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') {
    const name = ctx.task.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    for (const u of [alice, bob, carol]) {
      await u.page.screenshot({ path: join(RESULTS_DIR, `failed-collab-${name}-${u.name}.png`) }).catch(() => undefined);
    }
  }
  for (const u of [alice, bob, carol]) {
    expect(u.session.foreignRequests, `requests from ${u.name} that left localhost`).toEqual([]);
    // Sockets failing while offline or while the gateway is down are expected; nothing else is.
    const errors = u.session.consoleErrors.splice(0).filter((e) => !EXPECTED_CONSOLE_ERRORS.test(e));
    expect(errors, `console errors in ${u.name}'s page`).toEqual([]);
  }
});

afterAll(async () => {
  for (const u of [alice, bob, carol]) await u?.session[Symbol.asyncDispose]();
  await shared?.[Symbol.asyncDispose]();
  await stack?.[Symbol.asyncDispose]();
});

const shot = (u: User, name: string) => u.page.screenshot({ path: join(RESULTS_DIR, `collab-${name}.png`) });

// ---- tests ---------------------------------------------------------------

describe('collaboration in Chromium', () => {
  it('converges when two, then three people type in the same line at once', async () => {
    const room = await newRoom(alice, stack.url);
    await joinRoom(bob, room);
    await setText(alice, 'line one\nline two\n');
    await converged([alice, bob]);

    // Same line, opposite ends, at the same time.
    await cursorAt(alice, 1, 'start');
    await cursorAt(bob, 1, 'end');
    await Promise.all([
      alice.page.keyboard.type('AAAAAAAAAAAA', { delay: 25 }),
      bob.page.keyboard.type('BBBBBBBBBBBB', { delay: 25 }),
    ]);
    const two = await converged([alice, bob]);
    expect(two.split('\n')[0]).toBe('AAAAAAAAAAAAline oneBBBBBBBBBBBB');

    // Three people, all at the very same position.
    await joinRoom(carol, room);
    for (const u of [alice, bob, carol]) await cursorAt(u, 2, 'start');
    await Promise.all([
      alice.page.keyboard.type('aaaaaaaa', { delay: 20 }),
      bob.page.keyboard.type('bbbbbbbb', { delay: 20 }),
      carol.page.keyboard.type('cccccccc', { delay: 20 }),
    ]);
    const three = await converged([alice, bob, carol]);
    const line2 = three.split('\n')[1]!;
    expect(line2).toHaveLength('line two'.length + 24);
    // Everyone's characters are there. (At the very same position they may interleave: y-monaco
    // keeps a cursor before the character to its right, and a concurrent insert lands there too.)
    for (const ch of ['a', 'b', 'c']) expect(line2.split(ch)).toHaveLength(9);
    expect(line2.endsWith('line two')).toBe(true);
    await shot(alice, 'three-users-alice');
  });

  it('shows remote cursors and every selection with the person name', async () => {
    const room = await newRoom(alice, stack.url);
    await joinRoom(bob, room);
    await joinRoom(carol, room);
    await setText(alice, 'value = 1\nvalue = value + 1\nprint(value)\n');
    await converged([alice, bob, carol]);
    // Bob: select "value", then add the next two occurrences (Ctrl+D): three selections.
    await cursorAt(bob, 1, 'start');
    await bob.page.keyboard.press('Control+Shift+ArrowRight');
    await bob.page.keyboard.press('Control+d');
    await bob.page.keyboard.press('Control+d');
    // Carol: a plain cursor on line 3.
    await cursorAt(carol, 3, 'end');
    const bobId = await clientIdOf(bob);
    const carolId = await clientIdOf(carol);

    await expect.poll(() => alice.page.locator(`.yRemoteSelectionHead-${bobId}`).count()).toBe(3);
    expect(await alice.page.locator(`.yRemoteSelection-${bobId}`).count()).toBeGreaterThanOrEqual(3);
    await expect.poll(() => alice.page.locator(`.yRemoteSelectionHead-${carolId}`).count()).toBe(1);
    const labels = await alice.page.$$eval(`.yRemoteSelectionHead-${bobId}, .yRemoteSelectionHead-${carolId}`, (els) =>
      els.map((el) => getComputedStyle(el, '::after').content),
    );
    expect(labels.sort()).toEqual(['"Bob"', '"Bob"', '"Bob"', '"Carol"']);
    // Coloured with the person's colour (#0091ff).
    const border = await alice.page.$eval(`.yRemoteSelectionHead-${bobId}`, (el) => getComputedStyle(el).borderLeftColor);
    expect(border).toBe('rgb(0, 145, 255)');
    // The people list says who is where.
    expect(await alice.page.textContent(`${person('Carol')} [data-testid="person-file"]`)).toBe('main.py:3');
    await shot(alice, 'cursors-alice');
    await shot(bob, 'cursors-bob-dark');
  });

  it('follows a participant across files and jumps to one', async () => {
    const room = await newRoom(alice, stack.url);
    await joinRoom(bob, room);
    const long = Array.from({ length: 120 }, (_, i) => `x${i + 1} = ${i + 1}`).join('\n');
    await setText(alice, `${long}\n`);
    await converged([alice, bob]);

    await createFile(bob, 'helper.py');
    await bob.page.keyboard.type('HELPER = 42');
    await alice.page.click(`${person('Bob')} [data-testid="follow"]`);
    await expect.poll(() => activeFileOf(alice)).toBe('helper.py');
    expect(await alice.page.textContent('[data-testid="following"]')).toContain('Following Bob');

    // Bob goes back to main.py and down to its last line: Alice's view goes along.
    await bob.page.click('[data-testid="file-row"][data-path="main.py"] .tree-open');
    await expect.poll(() => activeFileOf(alice)).toBe('main.py');
    await cursorAt(bob, 120, 'end');
    await expect.poll(async () => (await cc(alice.page, 'visibleLines')).some(([a, b]) => a <= 120 && 120 <= b)).toBe(true);
    await shot(alice, 'following');

    // Typing stops following.
    await cursorAt(alice, 1, 'end');
    await alice.page.keyboard.type('  # mine');
    await expect.poll(() => alice.page.locator('[data-testid="following"]').count()).toBe(0);
    await bob.page.click('[data-testid="file-row"][data-path="helper.py"] .tree-open');
    await alice.page.waitForTimeout(300);
    expect(await activeFileOf(alice)).toBe('main.py');

    // Jump to Bob: once.
    await alice.page.click(`${person('Bob')} [data-testid="jump"]`);
    await expect.poll(() => activeFileOf(alice)).toBe('helper.py');
    await bob.page.click('[data-testid="file-row"][data-path="main.py"] .tree-open');
    await alice.page.waitForTimeout(300);
    expect(await activeFileOf(alice)).toBe('helper.py');
  });

  it('streams a run started by one person to everyone, with who started it, stdin and stop for all', async () => {
    const room = await newRoom(alice, stack.url);
    await joinRoom(bob, room);
    await joinRoom(carol, room);
    await setText(
      alice,
      "import time\nfor i in range(4):\n    print('tick', i, flush=True)\n    time.sleep(0.4)\nname = input()\nprint('hello', name)\n",
    );
    await converged([alice, bob, carol]);
    await alice.page.click('[data-testid="run"]');

    for (const u of [bob, carol]) {
      await waitForOutput(u, 'tick 0');
      // Live, not replayed at the end: the program has not finished yet.
      expect(await outputOf(u)).not.toContain('tick 3');
      expect(await u.page.textContent('.output-pane .pane-header')).toContain('run by Alice');
    }
    await shot(bob, 'run-streaming-bob-dark');
    // Bob answers the program's input().
    await bob.page.waitForSelector('[data-testid="stdin-input"]:not([disabled])', { timeout: RUN_TIMEOUT_MS });
    await waitForOutput(bob, 'tick 3');
    await bob.page.fill('[data-testid="stdin-input"]', 'Bob');
    await bob.page.press('[data-testid="stdin-input"]', 'Enter');
    for (const u of [alice, bob, carol]) {
      await waitForOutput(u, 'hello Bob');
      await u.page.waitForSelector('[data-testid="run-result"]', { timeout: RUN_TIMEOUT_MS });
      expect(await u.page.textContent('[data-testid="run-status"]')).toBe('Finished');
      const item = u.page.locator('[data-testid="run-item"]').first();
      // The room's run record follows the stream's end through the collab document: a moment later.
      await expect.poll(() => item.getAttribute('data-status')).toBe('ok');
      expect(await item.textContent()).toContain('Alice');
    }
    await shot(carol, 'run-finished-carol');

    // Carol starts an endless loop; Bob stops it for everyone.
    await setText(carol, "print('looping', flush=True)\nwhile True:\n    pass\n");
    await carol.page.click('[data-testid="run"]');
    await waitForOutput(bob, 'looping');
    expect(await bob.page.textContent('.output-pane .pane-header')).toContain('run by Carol');
    await bob.page.click('[data-testid="stop"]');
    for (const u of [alice, bob, carol]) {
      await u.page.waitForSelector('[data-testid="run-result"][data-status="killed"]', { timeout: RUN_TIMEOUT_MS });
    }
    // History, newest first, for someone who joins late.
    const late = await newUser('Carol');
    try {
      await late.page.goto(room);
      await waitJoined(late);
      await expect.poll(() => late.page.locator('[data-testid="run-item"]').count()).toBe(2);
      const statuses = await late.page.$$eval('[data-testid="run-item"]', (els) => els.map((e) => e.getAttribute('data-status')));
      expect(statuses).toEqual(['killed', 'ok']);
      // The late joiner sees the newest run's output (replayed by the gateway).
      await waitForOutput(late, 'looping');
    } finally {
      await late.session[Symbol.asyncDispose]();
    }
  });

  it('undoes only your own edits', async () => {
    const room = await newRoom(alice, stack.url);
    await joinRoom(bob, room);
    await setText(alice, 'one\ntwo\n');
    await converged([alice, bob]);
    await alice.page.waitForTimeout(600);
    await cursorAt(alice, 1, 'end');
    await alice.page.keyboard.type(' alice');
    await cursorAt(bob, 2, 'end');
    await bob.page.keyboard.type(' bob');
    expect(await converged([alice, bob])).toBe('one alice\ntwo bob\n');
    await alice.page.keyboard.press('Control+z');
    expect(await converged([alice, bob])).toBe('one\ntwo bob\n');
    await alice.page.keyboard.press('Control+Shift+z');
    expect(await converged([alice, bob])).toBe('one alice\ntwo bob\n');
    await bob.page.keyboard.press('Control+z');
    expect(await converged([alice, bob])).toBe('one alice\ntwo\n');
  });

  it('creates, renames, deletes files and changes the entry for everyone; Run uses them', async () => {
    const room = await newRoom(alice, stack.url);
    await joinRoom(bob, room);
    await createFile(alice, 'lib/shout.py');
    // Type only once the new file's editor has the focus (under load it can come a moment later).
    await focusEditor(alice);
    await alice.page.keyboard.type('def shout(s):\n');
    await alice.page.keyboard.type('return s.upper()');
    await expect.poll(() => textOf(alice, 'lib/shout.py')).toContain('return s.upper()');
    await expect.poll(() => bob.page.locator('[data-testid="file-row"][data-path="lib/shout.py"]').count()).toBe(1);
    await createFile(alice, 'app.py');
    await setText(alice, "import sys\nsys.path.insert(0, 'lib')\nfrom shout import shout\nprint(shout('from app'))\n");

    // Bob opens lib/shout.py; Alice renames it: Bob's editor follows the rename.
    await bob.page.click('[data-testid="file-row"][data-path="lib/shout.py"] .tree-open');
    await fileAction(alice, 'lib/shout.py', 'rename-file');
    await alice.page.fill('[data-testid="rename-input"]', 'lib/loud.py');
    await alice.page.press('[data-testid="rename-input"]', 'Enter');
    await expect.poll(() => activeFileOf(bob)).toBe('lib/loud.py');
    expect(await bob.page.locator('[data-testid="file-row"][data-path="lib/shout.py"]').count()).toBe(0);
    await alice.page.click('[data-testid="file-row"][data-path="app.py"] .tree-open');
    await setText(alice, "import sys\nsys.path.insert(0, 'lib')\nfrom loud import shout\nprint(shout('from app'))\n");

    // A bad name is refused before it reaches the room.
    await alice.page.click('[data-testid="new-file"]');
    await alice.page.fill('[data-testid="new-file-input"]', '../escape.py');
    await alice.page.press('[data-testid="new-file-input"]', 'Enter');
    expect(await alice.page.textContent('[data-testid="file-error"]')).toMatch(/"\.\."/);
    await alice.page.press('[data-testid="new-file-input"]', 'Escape');

    // Bob makes app.py the entry; everyone's Run button runs it, with every file.
    await fileAction(bob, 'app.py', 'set-entry');
    await expect.poll(() => alice.page.getAttribute('[data-testid="file-row"][data-path="app.py"]', 'data-entry')).toBe('true');
    await shot(bob, 'files-bob-dark');
    await alice.page.click('[data-testid="run"]');
    await waitForOutput(bob, 'FROM APP');
    await bob.page.waitForSelector('[data-testid="run-result"][data-status="ok"]', { timeout: RUN_TIMEOUT_MS });

    // Deleting the entry moves it to another file for everyone.
    await fileAction(bob, 'app.py', 'delete-file');
    await bob.page.click('[data-testid="confirm-delete-yes"]');
    await expect.poll(() => alice.page.locator('[data-testid="file-row"][data-path="app.py"]').count()).toBe(0);
    await expect.poll(() => alice.page.getAttribute('[data-testid="file-row"][data-path="lib/loud.py"]', 'data-entry')).toBe('true');
  });

  it('shows names that change live', async () => {
    const room = await newRoom(alice, stack.url);
    await joinRoom(bob, room);
    await bob.page.fill('[data-testid="my-name"]', 'Robert');
    await bob.page.press('[data-testid="my-name"]', 'Enter');
    await expect.poll(() => alice.page.locator(person('Robert')).count()).toBe(1);
    // Remembered by Bob's browser.
    await bob.page.reload();
    await waitJoined(bob);
    expect(await bob.page.inputValue('[data-testid="my-name"]')).toBe('Robert');
    await bob.page.fill('[data-testid="my-name"]', 'Bob');
    await bob.page.press('[data-testid="my-name"]', 'Enter');
    await expect.poll(() => alice.page.locator(person('Bob')).count()).toBe(1);
  });

  it('merges edits made offline when the page comes back', async () => {
    const room = await newRoom(alice, stack.url);
    await joinRoom(bob, room);
    await setText(alice, 'shared line\n');
    await converged([alice, bob]);

    await bob.session.context.setOffline(true);
    await expect.poll(() => connectionOf(bob)).toBe('offline');
    await cursorAt(bob, 2, 'end');
    await bob.page.keyboard.type('written offline by bob');
    await cursorAt(alice, 1, 'start');
    await alice.page.keyboard.type('online alice: ');
    await bob.page.waitForSelector('[data-testid="unsynced"]');
    await shot(bob, 'offline-bob-dark');
    await alice.page.waitForTimeout(500);
    expect(await textOf(alice)).not.toContain('offline by bob');
    expect(await textOf(bob)).not.toContain('online alice');

    await bob.session.context.setOffline(false);
    await expect.poll(() => connectionOf(bob), { timeout: 15_000 }).toBe('connected');
    const merged = await converged([alice, bob]);
    expect(merged).toBe('online alice: shared line\nwritten offline by bob');
    await expect.poll(() => unsyncedOf(bob)).toBe('0');
    expect(await bob.page.locator('[data-testid="unsynced"]').count()).toBe(0);
  });

  it('reloads the room as the server has it when the gateway refuses an update', async () => {
    const room = await newRoom(alice, stack.url);
    await joinRoom(bob, room);
    await setText(alice, 'small\n');
    await converged([alice, bob]);
    await cursorAt(alice, 2, 'end');
    // One paste larger than MAX_ROOM_BYTES: refused (C7), never shown to Bob.
    await alice.page.evaluate((n) => {
      const data = new DataTransfer();
      data.setData('text/plain', `${'#'.repeat(99)}\n`.repeat(n));
      document.activeElement!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }, Math.ceil((MAX_ROOM_BYTES * 1.2) / 100));
    const notice = alice.page.locator('[data-testid="room-notice"]');
    await notice.waitFor({ timeout: 15_000 });
    expect(await notice.getAttribute('data-code')).toBe('payload_too_large');
    await waitJoined(alice);
    expect(await converged([alice, bob])).toBe('small\n');
    await shot(alice, 'refused-update');
    // The room keeps working.
    await cursorAt(alice, 2, 'end');
    await alice.page.keyboard.type('still works');
    expect(await converged([alice, bob])).toBe('small\nstill works');
  });

  it('loses no acknowledged edit when the gateway is SIGKILLed and restarted', async () => {
    const room = await newRoom(alice, stack.url);
    await joinRoom(bob, room);
    await setText(alice, 'saved before the crash\n');
    await converged([alice, bob]);
    await cursorAt(alice, 2, 'end');
    await alice.page.keyboard.type('acknowledged typing');
    // Only what the gateway acknowledged is promised (C9).
    await expect.poll(() => unsyncedOf(alice)).toBe('0');
    await expect.poll(() => unsyncedOf(bob)).toBe('0');
    const acknowledged = await converged([alice, bob]);

    await stack.killGateway('SIGKILL');
    await expect.poll(() => connectionOf(alice), { timeout: 15_000 }).toBe('offline');
    await alice.page.keyboard.type(' + while down');
    await alice.page.waitForSelector('[data-testid="unsynced"]');

    await stack.restartGateway();
    for (const u of [alice, bob]) await expect.poll(() => connectionOf(u), { timeout: 20_000 }).toBe('connected');
    const after = await converged([alice, bob]);
    expect(after).toBe(`${acknowledged} + while down`);
    await expect.poll(() => unsyncedOf(alice)).toBe('0');

    // Someone new reads it from the restarted gateway's storage.
    await joinRoom(carol, room);
    expect(await converged([alice, bob, carol])).toBe(after);
    await shot(carol, 'after-restart-carol');
  });
});
