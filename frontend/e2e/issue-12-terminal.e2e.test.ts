/**
 * Issue 12 in Chromium, two people in one room (each their own browser
 * context), against the real stack: the output is a terminal. A program that
 * asks for a name shows its prompt on both screens, the name Bob types into
 * his terminal appears on both, and so does the answer (Ada's Ctrl+C on a
 * selection copies it and never reaches the program); a coloured line is
 * drawn in colour (a rendered cell's style); a `\r` progress bar ends as one
 * line; the room's shared shell shows `ls` typed by one to the other; the
 * Python console evaluates; a reload mid-run restores the screen.
 * Screenshots land in frontend/test-results/terminal-*.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from './browser.js';
import type { SharedBrowser } from './browser.js';
import { cc, converged, joinRoom, newRoom, RUN_TIMEOUT_MS, screenOf, setText, waitForScreen } from './roomPage.js';
import type { User } from './roomPage.js';
import { buildFrontend, RESULTS_DIR, startStack } from './stack.js';
import type { Stack } from './stack.js';

/** The gateway's replay keeps this much output (small, so a run can outgrow it; every other run here prints far less). */
const REPLAY_BYTES = 2048;
let stack: Stack;
let shared: SharedBrowser;
let ada: User;
let bob: User;

beforeAll(async () => {
  mkdirSync(RESULTS_DIR, { recursive: true });
  stack = await startStack({ frontendDist: buildFrontend(), gatewayEnv: { RUN_TIMEOUT_MS: '30000', STREAM_REPLAY_BYTES: String(REPLAY_BYTES) } });
  shared = await launchBrowser();
  const user = async (name: string, color: string): Promise<User> => {
    const session = await shared.newUser({ identity: { name, color }, viewport: { width: 1400, height: 860 } });
    return { name, session, page: session.page };
  };
  ada = await user('Ada', '#e5484d');
  bob = await user('Bob', '#0091ff');
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') {
    const name = ctx.task.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    for (const u of [ada, bob]) await u.page.screenshot({ path: join(RESULTS_DIR, `failed-terminal-${name}-${u.name}.png`) }).catch(() => undefined);
  }
  for (const u of [ada, bob]) {
    expect(u.session.foreignRequests, `requests from ${u.name} that left localhost`).toEqual([]);
    expect(u.session.consoleErrors.splice(0), `console errors in ${u.name}'s page`).toEqual([]);
  }
});

afterAll(async () => {
  for (const u of [ada, bob]) await u?.session[Symbol.asyncDispose]();
  await shared?.[Symbol.asyncDispose]();
  await stack?.[Symbol.asyncDispose]();
});

const shot = (u: User, name: string) => u.page.screenshot({ path: join(RESULTS_DIR, `terminal-${name}.png`) });

/** Both in a fresh room whose main.py is `program`. */
async function room(program: string): Promise<void> {
  const url = await newRoom(ada, stack.url);
  await joinRoom(bob, url);
  await setText(ada, program);
  await converged([ada, bob]);
}

/** Clicks into `u`'s screen `id` and types `text` (Enter is `\r`). */
async function typeInto(u: User, text: string, selector = '[data-testid="output-terminal"]'): Promise<void> {
  await u.page.click(selector);
  await u.page.keyboard.type(text, { delay: 15 });
}

describe('the output is a terminal, shared by the room', () => {
  it('shows the prompt of input() to both, echoes the name Bob types to both, then the answer', async () => {
    await room('name = input("Name? ")\nprint(f"Hello, {name}!")\n');
    await ada.page.click('[data-testid="run"]');
    for (const u of [ada, bob]) await waitForScreen(u, 'Name? ');
    // The run's terminal has the size of Ada's pane, and so has Bob's screen.
    const sizes = await Promise.all([ada, bob].map((u) => cc(u.page, 'screenSize', 'output-terminal')));
    expect(sizes[0]?.rows).toBeGreaterThan(24);
    expect(sizes[1]).toEqual(sizes[0]);
    // Ada copies the prompt line out of her screen: Ctrl+C with a selection copies, and the program
    // (still waiting for its input) gets no Ctrl+C: the screens below end with no ^C or traceback.
    await ada.session.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(stack.url).origin });
    const screen = await ada.page.locator('[data-testid="output-terminal"] .xterm-screen').boundingBox();
    if (!screen) throw new Error('no terminal screen on the page');
    await ada.page.mouse.click(screen.x + 20, screen.y + 6, { clickCount: 3 }); // a triple click selects the first line
    await ada.page.keyboard.press('Control+c');
    await expect.poll(() => ada.page.evaluate(() => navigator.clipboard.readText()), { timeout: 5000 }).toMatch(/^Name\?\s*$/);
    await typeInto(bob, 'Bob');
    // The program's terminal echoes it: Ada sees it before Enter.
    await waitForScreen(ada, 'Name? Bob');
    await bob.page.keyboard.press('Enter');
    for (const u of [ada, bob]) {
      await waitForScreen(u, 'Hello, Bob!');
      await u.page.waitForSelector('[data-testid="run-result"][data-status="ok"]', { timeout: RUN_TIMEOUT_MS });
      expect(await screenOf(u)).toBe('Name? Bob\nHello, Bob!');
    }
    await shot(ada, 'input-ada');
  });

  it('draws a coloured line in colour and a \\r progress bar as one line', async () => {
    await room(
      'import sys, time\nfor i in range(0, 101, 25):\n    sys.stdout.write("\\r[%-4s] %3d%%" % ("#" * (i // 25), i))\n    sys.stdout.flush()\n    time.sleep(0.05)\nprint()\nprint("\\x1b[31mred alert\\x1b[0m and plain")\n',
    );
    await ada.page.click('[data-testid="run"]');
    for (const u of [ada, bob]) {
      await waitForScreen(u, 'and plain');
      expect(await screenOf(u)).toBe('[####] 100%\nred alert and plain');
      // The cell as drawn: the span holding "red alert" has the theme's red, the rest does not.
      const colours = await u.page.evaluate(() => {
        const spans = Array.from(document.querySelectorAll('[data-testid="output-terminal"] .xterm-rows span'));
        const colourOf = (text: string) => {
          const span = spans.find((s) => s.textContent?.includes(text));
          return span ? getComputedStyle(span).color : null;
        };
        return { red: colourOf('red alert'), plain: colourOf('and plain') };
      });
      expect(colours.red).toBe('rgb(192, 38, 45)');
      expect(colours.plain).not.toBe(colours.red);
    }
    await shot(bob, 'colours-bob');
  });

  it('restores the screen after a reload mid-run', async () => {
    await room('import time\nfor i in range(3):\n    print("before", i, flush=True)\ntime.sleep(3)\nprint("after", flush=True)\ntime.sleep(1)\n');
    await ada.page.click('[data-testid="run"]');
    await waitForScreen(bob, 'before 2');
    await bob.page.reload();
    await bob.page.waitForSelector('body[data-editor-ready="true"]', { timeout: 30_000 });
    await waitForScreen(bob, 'before 2');
    expect(await screenOf(bob)).toMatch(/^before 0\nbefore 1\nbefore 2/);
    await waitForScreen(bob, 'after');
    expect(await screenOf(bob)).toBe('before 0\nbefore 1\nbefore 2\nafter');
  });

  it('restores the screen after a reload when the replay had dropped the output that set its colour', async () => {
    // Bold red set once, then more rows than the replay keeps: their colour is in bytes the replay dropped.
    await room('import time\nprint("\\x1b[1;31mHEADER", flush=True)\nfor i in range(400):\n    print("row", i, flush=True)\nprint("\\x1b[0mplain tail", flush=True)\ntime.sleep(4)\n');
    await ada.page.click('[data-testid="run"]');
    await waitForScreen(bob, 'plain tail');
    await bob.page.reload();
    await bob.page.waitForSelector('body[data-editor-ready="true"]', { timeout: 30_000 });
    await waitForScreen(bob, 'plain tail');
    expect(await screenOf(bob)).toBe(await screenOf(ada));
    const colours = (u: User) =>
      u.page.evaluate(() => {
        const spans = Array.from(document.querySelectorAll('[data-testid="output-terminal"] .xterm-rows span'));
        const colourOf = (text: string) => {
          const span = spans.find((s) => s.textContent?.includes(text));
          return span ? getComputedStyle(span).color : null;
        };
        return { row: colourOf('row 399'), plain: colourOf('plain tail') };
      });
    const seen = await colours(bob);
    expect(seen.row).not.toBeNull();
    expect(seen.row).not.toBe(seen.plain);
    expect(seen).toEqual(await colours(ada));
    await shot(bob, 'screen-replay-bob');
  });
});

describe("the room's shell and console", () => {
  it('shows ls typed by Ada in the shared shell to Bob, who may type too', async () => {
    await room('print("hi")\n');
    // No run yet: opening the shell writes the room's files into /workspace.
    for (const u of [ada, bob]) await u.page.click('[data-testid="tab-shell"]');
    await ada.page.click('[data-testid="terminal-start-bash"]');
    const shell = '[data-testid="terminal-view-bash"]';
    for (const u of [ada, bob]) await waitForScreen(u, '$ ', { id: 'terminal-view-bash' });
    // The session has the size of Ada's pane (not 80 x 24), and Bob's screen has the session's size.
    const sizes = await Promise.all([ada, bob].map((u) => cc(u.page, 'screenSize', 'terminal-view-bash')));
    expect(sizes[0]?.rows).toBeGreaterThan(24);
    expect(sizes[1]).toEqual(sizes[0]);
    await typeInto(ada, 'ls\r', shell);
    await waitForScreen(bob, 'main.py', { id: 'terminal-view-bash' });
    expect(await screenOf(bob, 'terminal-view-bash')).toMatch(/\$ ls\nmain\.py/);
    await typeInto(bob, 'echo "$((6 * 7)) from $USER"\r', shell);
    await waitForScreen(ada, '42 from user', { id: 'terminal-view-bash' });
    await shot(bob, 'shell-bob');
    await ada.page.click('[data-testid="terminal-stop-bash"]');
    for (const u of [ada, bob]) await expect.poll(() => u.page.getAttribute('[data-testid="terminal-bash"]', 'data-phase'), { timeout: RUN_TIMEOUT_MS }).toBe('finished');
  });

  it('evaluates Python in the console', async () => {
    await ada.page.click('[data-testid="tab-console"]');
    await ada.page.click('[data-testid="terminal-start-python"]');
    await waitForScreen(ada, '>>> ', { id: 'terminal-view-python' });
    await typeInto(ada, '6 * 7\r', '[data-testid="terminal-view-python"]');
    await waitForScreen(ada, '42', { id: 'terminal-view-python' });
    await shot(ada, 'console-ada');
    await ada.page.click('[data-testid="terminal-stop-python"]');
  });
});
