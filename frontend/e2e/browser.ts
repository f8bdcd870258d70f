/**
 * Debian Chromium through playwright-core, with a guard that fails any request
 * leaving this machine (the IDE must load nothing from a CDN).
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';

/** Debian's Chromium (apt `chromium`); `npx playwright install` needs the internet. */
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** True for URLs that stay on this machine (or never touch the network). */
export function isLocalUrl(raw: string): boolean {
  const url = new URL(raw);
  if (url.protocol === 'data:' || url.protocol === 'blob:' || url.protocol === 'about:') return true;
  return LOCAL_HOSTS.has(url.hostname);
}

export interface BrowserSession extends AsyncDisposable {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Every request and WebSocket URL the page opened that was not local. */
  readonly foreignRequests: string[];
  /** Console errors and uncaught page errors. */
  readonly consoleErrors: string[];
}

export interface OpenBrowserOptions {
  readonly viewport?: { width: number; height: number };
  readonly colorScheme?: 'light' | 'dark';
}

/** Launches Chromium with a fresh profile; dispose to close it and delete the profile. */
export async function openBrowser(opts: OpenBrowserOptions = {}): Promise<BrowserSession> {
  const profile = await mkdtemp(join(tmpdir(), 'codecell-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    viewport: opts.viewport ?? { width: 1440, height: 900 },
    colorScheme: opts.colorScheme ?? 'light',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const session = await guard(context, page);
  return {
    ...session,
    async [Symbol.asyncDispose]() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Fails every request that leaves localhost and records console errors. */
async function guard(context: BrowserContext, page: Page): Promise<Omit<BrowserSession, typeof Symbol.asyncDispose>> {
  const foreignRequests: string[] = [];
  const consoleErrors: string[] = [];
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (isLocalUrl(url)) return route.continue();
    foreignRequests.push(url);
    return route.abort('blockedbyclient');
  });
  context.on('request', (req) => {
    if (!isLocalUrl(req.url())) foreignRequests.push(req.url());
  });
  page.on('websocket', (ws) => {
    if (!isLocalUrl(ws.url())) foreignRequests.push(ws.url());
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(String(err)));
  return { context, page, foreignRequests, consoleErrors };
}

/** One Chromium for several users: each user is its own browser context (own storage, cookies, network). */
export interface SharedBrowser extends AsyncDisposable {
  readonly browser: Browser;
  /** A new user: a fresh context and page with the same localhost guard as {@link openBrowser}. */
  newUser(opts?: OpenBrowserOptions & { readonly identity?: { name: string; color: string } }): Promise<BrowserSession>;
}

export async function launchBrowser(): Promise<SharedBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  return {
    browser,
    async newUser(opts = {}) {
      const context = await browser.newContext({
        viewport: opts.viewport ?? { width: 1440, height: 900 },
        colorScheme: opts.colorScheme ?? 'light',
      });
      if (opts.identity) {
        // The name and colour the page remembers (src/collab/identity.ts), set before it loads.
        await context.addInitScript((identity) => {
          if (localStorage.getItem('codecell.identity') === null) localStorage.setItem('codecell.identity', JSON.stringify(identity));
        }, opts.identity);
      }
      const page = await context.newPage();
      const session = await guard(context, page);
      return { ...session, [Symbol.asyncDispose]: () => context.close().catch(() => undefined) };
    },
    [Symbol.asyncDispose]: () => browser.close().catch(() => undefined),
  };
}
