/**
 * Driving a room page as one user in e2e tests: the page's `window.codecell`
 * handle, joining, typing at a line, waiting for every copy to converge,
 * file actions.
 * @module
 */
import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import type { BrowserSession } from './browser.js';

/** A run boots nothing (the pool is warm) but TCG emulation is slow. */
export const RUN_TIMEOUT_MS = 45_000;

/** One person: their own browser context and page. */
export interface User {
  readonly name: string;
  readonly session: BrowserSession;
  readonly page: Page;
}

export interface DebugHandle {
  clientId(): number;
  files(): string[];
  text(path: string): string | null;
  /** Any file's bytes as base64 (text as UTF-8), or null. */
  bytes(path: string): string | null;
  entry(): string;
  activeFile(): string | null;
  editorText(): string | null;
  /** Monaco's language id of the open file. */
  editorLanguage(): string | null;
  /** The language Run uses now. */
  runLanguage(): string;
  /** Compiler markers of `path`, null while the editor has no model for it. */
  markers(path: string): Array<{ line: number; column: number; severity: string; message: string }> | null;
  visibleLines(): Array<[number, number]>;
  /** Writes into the document past the editor (what a console can do). */
  forgeEdit(path: string, text: string): void;
  /** A terminal screen's text, or null when it is not on the page. */
  screen(id: string): string | null;
  screenSize(id: string): { cols: number; rows: number } | null;
  screenScroll(id: string): { viewportY: number; baseY: number } | null;
}

/** Calls `window.codecell[method](...args)` in the page (see src/ui/debugHandle.ts). */
export function cc<TKey extends keyof DebugHandle>(page: Page, method: TKey, ...args: Parameters<DebugHandle[TKey]>): Promise<ReturnType<DebugHandle[TKey]>> {
  return page.evaluate(
    ([m, a]) => {
      const h = (window as unknown as { codecell: Record<string, (...x: unknown[]) => unknown> }).codecell;
      return h[m]!(...a);
    },
    [method, args] as const,
  ) as Promise<ReturnType<DebugHandle[TKey]>>;
}

export const textOf = (u: User, path = 'main.py') => cc(u.page, 'text', path);
export const clientIdOf = (u: User) => cc(u.page, 'clientId');
export const activeFileOf = (u: User) => cc(u.page, 'activeFile');
export const connectionOf = (u: User) => u.page.getAttribute('[data-testid="connection"]', 'data-state');
export const unsyncedOf = (u: User) => u.page.getAttribute('[data-testid="connection"]', 'data-unsynced');

/** Opens `/` of the gateway at `baseUrl` as `u`: a new room; returns its URL. */
export async function newRoom(u: User, baseUrl: string): Promise<string> {
  await u.page.goto(`${baseUrl}/`);
  await u.page.waitForURL(/\/r\/[A-Za-z0-9_-]+$/);
  await waitJoined(u);
  return u.page.url();
}

export async function joinRoom(u: User, url: string): Promise<void> {
  await u.page.goto(url);
  await waitJoined(u);
}

export async function waitJoined(u: User): Promise<void> {
  await u.page.waitForSelector('body[data-editor-ready="true"]', { timeout: 30_000 });
  await expect.poll(() => connectionOf(u), { timeout: 15_000 }).toBe('connected');
}

/** Waits until every user's copy of `path` is the same; returns it. */
export async function converged(users: readonly User[], path = 'main.py', timeout = 10_000): Promise<string> {
  let texts: Array<string | null> = [];
  await expect
    .poll(
      async () => {
        texts = await Promise.all(users.map((u) => textOf(u, path)));
        return texts.every((t) => t === texts[0]);
      },
      { timeout },
    )
    .toBe(true);
  // Monaco shows exactly the document.
  for (const u of users) {
    if ((await activeFileOf(u)) === path) expect(await cc(u.page, 'editorText')).toBe(texts[0]);
  }
  return texts[0]!;
}

/** Replaces the open file's text with a paste (typing would auto-indent and auto-close). */
export async function setText(u: User, text: string): Promise<void> {
  await focusEditor(u);
  await u.page.keyboard.press('Control+A');
  await u.page.keyboard.press('Delete');
  await u.page.evaluate((t) => {
    const data = new DataTransfer();
    data.setData('text/plain', t);
    document.activeElement!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, text);
  const path = (await activeFileOf(u))!;
  await expect.poll(() => textOf(u, path)).toBe(text);
}

export async function focusEditor(u: User): Promise<void> {
  await u.page.click('[data-testid="editor"] .view-lines');
}

/** Puts the cursor at the start or end of 1-based `line`. */
export async function cursorAt(u: User, line: number, where: 'start' | 'end'): Promise<void> {
  await focusEditor(u);
  await u.page.keyboard.press('Control+Home');
  for (let i = 1; i < line; i++) await u.page.keyboard.press('ArrowDown');
  await u.page.keyboard.press(where === 'start' ? 'Home' : 'End');
}

/** The text on a terminal screen of the page (its whole buffer): the run's output by default. */
export const screenOf = async (u: User | Page, id = 'output-terminal'): Promise<string> => (await cc('page' in u ? u.page : u, 'screen', id)) ?? '';
export const outputOf = (u: User): Promise<string> => screenOf(u);
/** Waits until a terminal screen shows `text`. */
export const waitForScreen = (u: User | Page, text: string, o: { id?: string; timeout?: number } = {}) =>
  ('page' in u ? u.page : u).waitForFunction(
    ([id, t]) => (window as unknown as { codecell?: { screen(id: string): string | null } }).codecell?.screen(id)?.includes(t) === true,
    [o.id ?? 'output-terminal', text] as const,
    { timeout: o.timeout ?? RUN_TIMEOUT_MS },
  );
export const waitForOutput = (u: User, text: string, timeout = RUN_TIMEOUT_MS) => waitForScreen(u, text, { timeout });

export async function createFile(u: User, path: string): Promise<void> {
  await u.page.click('[data-testid="new-file"]');
  await u.page.fill('[data-testid="new-file-input"]', path);
  await u.page.press('[data-testid="new-file-input"]', 'Enter');
  await expect.poll(() => activeFileOf(u)).toBe(path);
}

export async function fileAction(u: User, path: string, action: 'rename-file' | 'delete-file' | 'set-entry'): Promise<void> {
  const row = `[data-testid="file-row"][data-path="${path}"]`;
  await u.page.hover(row);
  await u.page.click(`${row} [data-testid="${action}"]`);
}

export const person = (name: string) => `[data-testid="person"][data-name="${name}"]`;
