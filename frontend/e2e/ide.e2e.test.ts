/**
 * The IDE in Debian Chromium against the real stack, one user per room: type
 * in Monaco, run in a microVM, watch output stream, use stdin, stop, see
 * errors, reload mid-run. Each test opens `/`, which creates a fresh room.
 * (Several users in one room: collab.e2e.test.ts.) Screenshots and metrics
 * land in frontend/test-results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openBrowser } from './browser.js';
import type { BrowserSession } from './browser.js';
import { cc, screenOf, waitForScreen } from './roomPage.js';
import { buildFrontend, RESULTS_DIR, startStack } from './stack.js';
import type { Stack } from './stack.js';

const OUTPUT = '[data-testid="output"]';
const STATUS = '[data-testid="run-status"]';
const RESULT = '[data-testid="run-result"]';
/** A run boots nothing (the pool is warm) but TCG emulation is slow. */
const RUN_TIMEOUT_MS = 45_000;

let stack: Stack;
let browser: BrowserSession;
let page: Page;
const metrics: Record<string, number> = {};

beforeAll(async () => {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const dist = buildFrontend();
  stack = await startStack({ frontendDist: dist, gatewayEnv: { RUN_TIMEOUT_MS: '20000' } });
  browser = await openBrowser({ colorScheme: 'light' });
  page = browser.page;
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') {
    // Leave evidence: what the page showed when the test gave up.
    const name = ctx.task.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    await page.screenshot({ path: join(RESULTS_DIR, `failed-${name}.png`) }).catch(() => undefined);
    const status = await page.textContent(STATUS).catch(() => null);
    const output = await screenOf(page).catch(() => null);
    console.error(`[e2e] ${ctx.task.name}: status=${JSON.stringify(status)} output=${JSON.stringify(output?.slice(-500))} url=${page.url()}`);
  }
  expect(browser.foreignRequests, 'requests that left localhost').toEqual([]);
});

afterAll(async () => {
  await browser?.[Symbol.asyncDispose]();
  await stack?.[Symbol.asyncDispose]();
  writeFileSync(join(RESULTS_DIR, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
});

/** Opens `/` (a new room, or `url`) and waits until the editor accepts input. */
async function openIde(url = `${stack.url}/`): Promise<number> {
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForSelector('body[data-editor-ready="true"]', { timeout: 30_000 });
  return Date.now() - t0;
}

/**
 * Replaces the editor's content as a paste (typing would let Monaco auto-indent
 * the already indented lines again).
 */
async function setProgram(code: string): Promise<void> {
  await page.click('[data-testid="editor"] .view-lines');
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.evaluate((text) => {
    const data = new DataTransfer();
    data.setData('text/plain', text);
    const event = new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true });
    document.activeElement!.dispatchEvent(event);
  }, code);
  await expect.poll(() => savedProgram()).toBe(code);
}

interface DebugHandle {
  text(path: string): string | null;
  entry(): string;
}

/** The entry file as the room's document has it (what Run will send). */
async function savedProgram(): Promise<string | null> {
  return page.evaluate(() => {
    const cc = (window as unknown as { codecell: DebugHandle }).codecell;
    return cc.text(cc.entry());
  });
}

/** The output terminal's text (its whole buffer). */
const outputText = (): Promise<string> => screenOf(page);
const waitForOutput = (text: string, timeout = RUN_TIMEOUT_MS) => waitForScreen(page, text, { timeout });
const waitForResult = () => page.waitForSelector(RESULT, { timeout: RUN_TIMEOUT_MS });
const shot = (name: string) => page.screenshot({ path: join(RESULTS_DIR, `e2e-${name}.png`) });

describe('CodeCell IDE in Chromium', () => {
  it('loads from localhost only, with an editable Monaco editor', async () => {
    const wallMs = await openIde();
    metrics['editorReadyWallMs'] = wallMs;
    metrics['editorReadyMarkMs'] = await page.evaluate(
      () => performance.getEntriesByName('codecell:editor-ready')[0]?.startTime ?? -1,
    );
    // Cold load (empty cache) is what a first visit costs; measure it once more explicitly.
    expect(new URL(page.url()).pathname).toMatch(/^\/r\/[A-Za-z0-9_-]+$/);
    expect(await page.textContent('header')).toContain('CodeCell Live');
    await expect.poll(() => page.getAttribute('[data-testid="connection"]', 'data-state')).toBe('connected');
    await expect.poll(() => page.textContent('[data-testid="health"]'), { timeout: 20_000 }).toBe('Sandbox ready');
    await page.click('[data-testid="editor"] .view-lines');
    await page.keyboard.press('Control+End');
    await page.keyboard.type('# edited');
    await expect.poll(() => savedProgram()).toContain('# edited');
    expect(await page.locator('.monaco-editor').count()).toBe(1);
    await shot('loaded');
    expect(browser.consoleErrors).toEqual([]);
  });

  it('streams output as it is printed', async () => {
    await openIde();
    // Typed key by key: Monaco's auto-closing brackets and quotes must not get in the way.
    await page.click('[data-testid="editor"] .view-lines');
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    for (const line of ['import time', "print('first line')", 'time.sleep(0.5)', "print('second line')"]) {
      await page.keyboard.type(line);
      await page.keyboard.press('Enter');
    }
    await expect.poll(() => savedProgram()).toBe(
      "import time\nprint('first line')\ntime.sleep(0.5)\nprint('second line')\n",
    );
    await page.evaluate((sel) => {
      const w = window as unknown as { seen: Record<string, number> };
      w.seen = {};
      const el = document.querySelector(sel)!;
      new MutationObserver(() => {
        const text = el.textContent ?? '';
        for (const k of ['first line', 'second line']) if (text.includes(k) && !(k in w.seen)) w.seen[k] = performance.now();
      }).observe(el, { subtree: true, childList: true, characterData: true });
      w.seen['run'] = performance.now();
    }, OUTPUT);
    await page.keyboard.press('Control+Enter');
    await waitForOutput('first line');
    await shot('streaming');
    await waitForResult();
    expect(await outputText()).toContain('second line');
    expect(await page.textContent(STATUS)).toBe('Finished');
    const result = (await page.textContent(RESULT)) ?? '';
    expect(result).toMatch(/exit code\s*0/);
    expect(result).toMatch(/wall\s*[\d.]+\s*(ms|s)/);
    expect(result).toMatch(/CPU\s*[\d.]+\s*(ms|s)/);
    // Timestamps taken inside the page (a check from the test process would race
    // the 0.5 s sleep through the CDP round trips): the first line was on screen
    // well before the second arrived.
    const seen = await page.evaluate(() => (window as unknown as { seen: Record<string, number> }).seen);
    expect(seen['first line']).toBeLessThan(seen['second line']!);
    expect(seen['second line']! - seen['first line']!).toBeGreaterThan(200);
    metrics['runToFirstOutputMs'] = Math.round(seen['first line']! - seen['run']!);
    await shot('finished');
  });

  it('sends stdin lines to the running program (its terminal echoes them)', async () => {
    await openIde();
    await setProgram("name = input()\nprint('hi', name)\n");
    await page.click('[data-testid="run"]');
    await page.waitForSelector('[data-testid="stdin-input"]:not([disabled])', { timeout: RUN_TIMEOUT_MS });
    await page.fill('[data-testid="stdin-input"]', 'Bob');
    await page.press('[data-testid="stdin-input"]', 'Enter');
    await waitForOutput('hi Bob');
    await waitForResult();
    expect(await page.textContent(STATUS)).toBe('Finished');
    expect(await outputText()).toBe('Bob\nhi Bob');
    await shot('stdin');
  });

  it('closes stdin with EOF', async () => {
    await openIde();
    await setProgram("import sys\ndata = sys.stdin.read()\nprint('got', len(data.splitlines()), 'lines')\n");
    await page.click('[data-testid="run"]');
    await page.waitForSelector('[data-testid="stdin-input"]:not([disabled])', { timeout: RUN_TIMEOUT_MS });
    for (const line of ['one', 'two']) {
      await page.fill('[data-testid="stdin-input"]', line);
      await page.press('[data-testid="stdin-input"]', 'Enter');
    }
    await page.click('[data-testid="stdin-eof"]');
    await waitForOutput('got 2 lines');
    await waitForResult();
    expect(await page.textContent(STATUS)).toBe('Finished');
  });

  it('stops an infinite loop', async () => {
    await openIde();
    await setProgram("print('looping', flush=True)\nwhile True:\n    pass\n");
    await page.click('[data-testid="run"]');
    await waitForOutput('looping');
    await page.click('[data-testid="stop"]');
    await waitForResult();
    expect(await page.textContent(STATUS)).toBe('Stopped');
    expect(await page.getAttribute(RESULT, 'data-status')).toBe('killed');
    expect(await page.isDisabled('[data-testid="stop"]')).toBe(true);
    await shot('stopped');
  });

  it('shows a traceback on the terminal and the error status', async () => {
    await openIde();
    await setProgram("print('before')\nraise ValueError('boom')\n");
    await page.click('[data-testid="run"]');
    await waitForResult();
    expect(await page.textContent(STATUS)).toBe('Error (exit code 1)');
    // On a terminal stderr and stdout are one stream, as in a local terminal.
    const text = await outputText();
    expect(text).toMatch(/^before\nTraceback \(most recent call last\):/);
    expect(text).toMatch(/ValueError: boom$/);
    await shot('traceback');
  });

  it('follows new output unless the user scrolled up', async () => {
    await openIde();
    await setProgram(
      "import time\nfor i in range(300):\n    print('line', i)\ntime.sleep(1.5)\nfor i in range(300):\n    print('more', i)\n",
    );
    await page.click('[data-testid="run"]');
    await waitForOutput('line 299');
    const scroll = async () => (await cc(page, 'screenScroll', 'output-terminal'))!;
    await expect.poll(async () => { const s = await scroll(); return s.viewportY === s.baseY && s.baseY > 0; }).toBe(true);
    await page.hover(OUTPUT);
    await page.mouse.wheel(0, -2000);
    await expect.poll(async () => { const s = await scroll(); return s.viewportY < s.baseY; }).toBe(true);
    const up = (await scroll()).viewportY;
    await waitForOutput('more 299');
    await waitForResult();
    // 300 more lines came; the screen stayed where the user scrolled to.
    const after = await scroll();
    expect(after.viewportY).toBe(up);
    expect(after.baseY).toBeGreaterThan(up + 250);
  });

  it('re-attaches to the run after a page reload mid-run', async () => {
    await openIde();
    await setProgram("import time\nfor i in range(8):\n    print('tick', i)\n    time.sleep(0.4)\nprint('all done')\n");
    await page.click('[data-testid="run"]');
    await waitForOutput('tick 2');
    // The room's run history (written by the gateway) names the run the page follows.
    const jobId = await page.getAttribute('[data-testid="run-item"]', 'data-job-id');
    expect(jobId).toMatch(/^[A-Za-z0-9_-]+$/);
    await page.reload();
    await page.waitForSelector('body[data-editor-ready="true"]');
    await waitForOutput('tick 0');
    await shot('reloaded');
    await waitForOutput('all done');
    await waitForResult();
    expect(await page.textContent(STATUS)).toBe('Finished');
    const text = await outputText();
    for (let i = 0; i < 8; i++) expect(text.split(`tick ${i}\n`)).toHaveLength(2);
    expect(await page.getAttribute('.run-shown', 'data-job-id')).toBe(jobId);
    expect(await page.getAttribute('.run-shown', 'data-status')).toBe('ok');
  });

  it('shows a validation error from the gateway in the page', async () => {
    await openIde();
    // Delete the room's only file: Run then sends no files, which the gateway refuses (R5).
    await page.hover('[data-testid="file-row"][data-path="main.py"]');
    await page.click('[data-testid="file-row"][data-path="main.py"] [data-testid="delete-file"]');
    await page.click('[data-testid="confirm-delete-yes"]');
    await expect.poll(() => page.locator('[data-testid="file-row"]').count()).toBe(0);
    await page.click('[data-testid="run"]');
    const banner = page.locator('[data-testid="error-banner"]');
    await banner.waitFor({ timeout: 10_000 });
    expect(await banner.getAttribute('data-code')).toBe('invalid_request');
    expect(await banner.textContent()).toMatch(/files/);
    expect(await page.textContent(STATUS)).toBe('Ready');
    await shot('validation-error');
  });

  it('says so when the gateway cannot be reached', async () => {
    await openIde();
    await page.route('**/trpc/**', (route) => route.abort('connectionrefused'));
    // The page's stream socket cannot connect either (Run goes over it).
    await page.routeWebSocket(/\/stream$/, (ws) => ws.close({ code: 1011, reason: 'blocked by the test' }));
    try {
      // The room still opens over the collab socket; every tRPC call and the stream socket fail.
      await openIde(page.url());
      await expect.poll(() => page.textContent('[data-testid="health"]')).toBe('Gateway unreachable');
      await page.click('[data-testid="run"]');
      const banner = page.locator('[data-testid="error-banner"]');
      await banner.waitFor({ timeout: 10_000 });
      expect(await banner.getAttribute('data-code')).toBe('gateway_unreachable');
      expect(await banner.textContent()).toContain('Cannot reach the gateway');
      expect(await page.textContent(STATUS)).toBe('Ready');
      await shot('gateway-unreachable');
    } finally {
      await page.unroute('**/trpc/**');
    }
  });

  it('switches to the dark theme, Monaco included, and remembers it', async () => {
    await openIde();
    await page.evaluate(() => localStorage.removeItem('codecell.theme'));
    await openIde(page.url());
    expect(await page.getAttribute('html', 'data-theme')).toBe('light');
    await page.click('[data-testid="theme-toggle"]');
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    await expect
      .poll(() => page.evaluate(() => getComputedStyle(document.querySelector('.monaco-editor-background')!).backgroundColor))
      .toBe('rgb(22, 24, 29)');
    await openIde(page.url());
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    await shot('dark');
    await page.click('[data-testid="theme-toggle"]');
  });

  it('measures page load → editable editor, cold and warm', async () => {
    const mark = async (p: Page): Promise<number> => {
      await p.waitForSelector('body[data-editor-ready="true"]', { timeout: 30_000 });
      return p.evaluate(() => performance.getEntriesByName('codecell:editor-ready')[0]!.startTime);
    };
    await openIde();
    const roomUrl = page.url();
    const cold: number[] = [];
    for (let i = 0; i < 3; i++) {
      // A fresh profile: nothing cached.
      const fresh = await openBrowser();
      try {
        await fresh.page.goto(roomUrl);
        cold.push(await mark(fresh.page));
        expect(fresh.foreignRequests).toEqual([]);
      } finally {
        await fresh[Symbol.asyncDispose]();
      }
    }
    const warm: number[] = [];
    for (let i = 0; i < 3; i++) {
      await page.goto(roomUrl);
      warm.push(await mark(page));
    }
    const median = (xs: number[]): number => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
    metrics['editorReadyColdMedianMs'] = median(cold);
    metrics['editorReadyWarmMedianMs'] = median(warm);
    expect(median(cold)).toBeLessThan(10_000);
  });

  it('stacks editor and output on a narrow screen', async () => {
    await page.setViewportSize({ width: 420, height: 860 });
    try {
      await openIde();
      const editor = await page.locator('[data-testid="editor"]').boundingBox();
      const output = await page.locator(OUTPUT).boundingBox();
      expect(output!.y).toBeGreaterThan(editor!.y + editor!.height - 1);
      await shot('narrow');
    } finally {
      await page.setViewportSize({ width: 1440, height: 900 });
    }
  });
});
