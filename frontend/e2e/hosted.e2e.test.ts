/**
 * Hosted mode in Chromium (AUTH_MODE=local, real sandbox): the first admin
 * through the setup link, My rooms, the Share dialog, a guest viewer who sees
 * live edits and runs but cannot type (the editor is read-only, and an update
 * forged from that browser is refused by the server), revoking the link
 * disconnecting the viewer with a clear message, and a runner who can run and
 * type stdin but not edit. Screenshots land in frontend/test-results/hosted-*.png.
 */
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from './browser.js';
import type { SharedBrowser } from './browser.js';
import { cc, converged, focusEditor, RUN_TIMEOUT_MS, setText, textOf, unsyncedOf, waitForOutput, waitJoined } from './roomPage.js';
import type { User } from './roomPage.js';
import { buildFrontend, RESULTS_DIR, startStack } from './stack.js';
import type { Stack } from './stack.js';

let stack: Stack;
let shared: SharedBrowser;
let owner: User;
let viewer: User;
let runner: User;
let roomUrl: string;

const newUser = async (name: string): Promise<User> => {
  const session = await shared.newUser();
  return { name, session, page: session.page };
};

beforeAll(async () => {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const dist = buildFrontend();
  stack = await startStack({ frontendDist: dist, gatewayEnv: { AUTH_MODE: 'local', RUN_TIMEOUT_MS: '20000' } });
  shared = await launchBrowser();
  owner = await newUser('Olive');
  viewer = await newUser('Vera');
  runner = await newUser('Ravi');
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') {
    const name = ctx.task.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase().slice(0, 60);
    for (const u of [owner, viewer, runner]) await u.page.screenshot({ path: join(RESULTS_DIR, `failed-hosted-${name}-${u.name}.png`) }).catch(() => undefined);
  }
  for (const u of [owner, viewer, runner]) expect(u.session.foreignRequests, `requests from ${u.name} that left localhost`).toEqual([]);
});

afterAll(async () => {
  await shared?.[Symbol.asyncDispose]();
  await stack?.[Symbol.asyncDispose]();
});

/** The one-time setup link the gateway printed in its log. */
async function setupLink(): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const log = await readFile(stack.gateway.logFile, 'utf8');
    const m = /one-time link to create it: (\S+)/.exec(log);
    if (m?.[1]) return m[1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the gateway logged no setup link');
}

/** Creates a share link in the owner's Share dialog; returns its URL. */
async function share(role: 'viewer' | 'runner' | 'editor'): Promise<string> {
  await owner.page.click('[data-testid="copy-link"]');
  await owner.page.waitForSelector('[data-testid="share-dialog"]');
  const before = await owner.page.locator('[data-testid="share-link"]').count();
  await owner.page.selectOption('[data-testid="share-role"]', role);
  await owner.page.check('[data-testid="share-guests"]');
  await owner.page.click('[data-testid="share-create"]');
  await expect.poll(() => owner.page.locator('[data-testid="share-link"]').count()).toBe(before + 1);
  const url = await owner.page.locator(`[data-testid="share-link"][data-role="${role}"] [data-testid="share-url"]`).first().inputValue();
  await owner.page.click('[data-testid="share-close"]');
  return url;
}

async function joinAsGuest(u: User, url: string): Promise<void> {
  await u.page.goto(url);
  await u.page.fill('[data-testid="guest-name"]', u.name);
  await u.page.click('[data-testid="join-guest"]');
  await u.page.waitForURL(/\/r\/[A-Za-z0-9_-]+$/);
  await waitJoined(u);
}

describe('hosted mode in Chromium', () => {
  it('sets up the admin, makes a room from My rooms; a guest viewer sees edits and runs live but cannot type, and is cut off when the link is revoked', async () => {
    await owner.page.goto(await setupLink());
    await owner.page.fill('[data-testid="field-username"]', 'olive');
    await owner.page.fill('[data-testid="field-displayName"]', 'Olive');
    await owner.page.fill('[data-testid="field-password"]', 'a good long password');
    await owner.page.click('[data-testid="form-submit"]');
    await owner.page.waitForSelector('[data-testid="new-room-title"]');
    await owner.page.fill('[data-testid="new-room-title"]', 'Lab 1');
    await owner.page.click('[data-testid="create-room"]');
    await owner.page.waitForURL(/\/r\/[A-Za-z0-9_-]+$/);
    await waitJoined(owner);
    roomUrl = owner.page.url();
    expect(await owner.page.getAttribute('.app', 'data-role')).toBe('owner');

    const link = await share('viewer');
    expect(link).toMatch(/\/join\/[\w-]+$/);
    await joinAsGuest(viewer, link);
    expect(await viewer.page.getAttribute('.app', 'data-role')).toBe('viewer');
    expect(await viewer.page.isDisabled('[data-testid="run"]')).toBe(true);

    // Live edits reach the viewer.
    await setText(owner, "name = 'lab'\nprint('hello from', name)\n");
    await converged([owner, viewer]);
    // The viewer's editor does not take typing...
    const before = await textOf(owner);
    await focusEditor(viewer);
    await viewer.page.keyboard.type('# typed by the viewer\n');
    await new Promise((r) => setTimeout(r, 500));
    expect(await textOf(viewer)).toBe(before);
    // ...and an update forged from that browser is refused by the server: it never reaches the owner.
    await cc(viewer.page, 'forgeEdit', 'main.py', '# forged\n');
    await expect.poll(() => unsyncedOf(viewer)).not.toBe('0');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await textOf(owner)).toBe(before);

    // The viewer watches the owner's run.
    await owner.page.click('[data-testid="run"]');
    await waitForOutput(viewer, 'hello from lab');
    // The owner sees the guest in the access list.
    await expect.poll(() => owner.page.locator('[data-testid="member"][data-role="viewer"]').count()).toBe(1);
    await owner.page.screenshot({ path: join(RESULTS_DIR, 'hosted-owner.png') });
    await viewer.page.screenshot({ path: join(RESULTS_DIR, 'hosted-viewer.png') });

    // Revoking the link cuts the viewer off, saying why.
    await owner.page.click('[data-testid="copy-link"]');
    await owner.page.click('[data-testid="share-link"][data-role="viewer"] [data-testid="share-revoke"]');
    await owner.page.click('[data-testid="share-close"]');
    await viewer.page.waitForSelector('[data-testid="room-fatal"]', { timeout: 10_000 });
    expect(await viewer.page.textContent('[data-testid="room-fatal"]')).toMatch(/revoked/);
  });

  it('a runner can run and type stdin but not edit', async () => {
    await owner.page.goto(roomUrl);
    await waitJoined(owner);
    await setText(owner, 'who = input()\nprint(f"hi {who}")\n');
    const link = await share('runner');
    await joinAsGuest(runner, link);
    expect(await runner.page.getAttribute('.app', 'data-role')).toBe('runner');
    const text = await converged([owner, runner]);
    await focusEditor(runner);
    await runner.page.keyboard.type('# runner typing\n');
    await new Promise((r) => setTimeout(r, 500));
    expect(await textOf(runner)).toBe(text);
    expect(await runner.page.locator('[data-testid="new-file"]').isDisabled()).toBe(true);

    await runner.page.click('[data-testid="run"]');
    await runner.page.waitForSelector('[data-testid="stdin-input"]:not([disabled])', { timeout: RUN_TIMEOUT_MS });
    await runner.page.fill('[data-testid="stdin-input"]', 'Ravi');
    await runner.page.press('[data-testid="stdin-input"]', 'Enter');
    await waitForOutput(owner, 'hi Ravi');
    await runner.page.waitForSelector('[data-testid="run-result"][data-status="ok"]', { timeout: RUN_TIMEOUT_MS });
    expect(await owner.page.textContent('.output-pane .pane-header')).toContain('run by Ravi');
    await runner.page.screenshot({ path: join(RESULTS_DIR, 'hosted-runner.png') });
  });

  it('signs out and back in (a wrong password is shown), and My rooms lists the room', async () => {
    await owner.page.goto(roomUrl);
    await waitJoined(owner);
    await owner.page.click('[data-testid="sign-out"]');
    await owner.page.waitForURL(/\/signin$/);
    await owner.page.goto(roomUrl);
    // Signed out, a room sends you to sign in, and back afterwards.
    await owner.page.waitForURL(/\/signin\?returnTo=/);
    await owner.page.fill('[data-testid="field-username"]', 'olive');
    await owner.page.fill('[data-testid="field-password"]', 'not the password');
    await owner.page.click('[data-testid="form-submit"]');
    expect(await owner.page.textContent('[data-testid="form-error"]')).toMatch(/wrong username or password/);
    await owner.page.fill('[data-testid="field-password"]', 'a good long password');
    await owner.page.click('[data-testid="form-submit"]');
    await owner.page.waitForURL(roomUrl);
    await waitJoined(owner);
    await owner.page.click('[data-testid="new-room"]');
    await owner.page.waitForSelector('[data-testid="room-item"]');
    const rooms = await owner.page.$$eval('[data-testid="room-item"]', (els) => els.map((e) => [e.querySelector('a')?.textContent, e.getAttribute('data-role')]));
    expect(rooms).toEqual([['Lab 1', 'owner']]);
  });
});
