/**
 * Issue 11 in two browsers: files and folders brought in (folder upload, a
 * drop onto a folder, a zip import) appear for the other person; folders are
 * renamed for both; images, SVG (without running its script) and CSV preview;
 * the room's export zip holds exactly the room's files.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from './browser.js';
import type { SharedBrowser } from './browser.js';
import { makeFolder, makePng, makeZip } from './fixtures.js';
import { cc, joinRoom, newRoom, RUN_TIMEOUT_MS, setText, waitForOutput, waitForScreen } from './roomPage.js';
import type { User } from './roomPage.js';
import { buildFrontend, FRONTEND_DIR, RESULTS_DIR, startStack } from './stack.js';
import type { Stack } from './stack.js';
import { unpackZip } from '../../gateway/src/files/zipImport.js';

let stack: Stack;
let shared: SharedBrowser;
let ada: User;
let bob: User;

beforeAll(async () => {
  mkdirSync(RESULTS_DIR, { recursive: true });
  stack = await startStack({ frontendDist: buildFrontend(), gatewayEnv: { RUN_TIMEOUT_MS: '20000' } });
  shared = await launchBrowser();
  ada = { name: 'Ada', ...(await session('Ada', '#e5484d')) };
  bob = { name: 'Bob', ...(await session('Bob', '#0091ff')) };
});

async function session(name: string, color: string): Promise<Omit<User, 'name'>> {
  const s = await shared.newUser({ identity: { name, color } });
  return { session: s, page: s.page };
}

afterEach(async (ctx) => {
  for (const u of [ada, bob]) {
    if (ctx.task.result?.state === 'fail') await u.page.screenshot({ path: join(RESULTS_DIR, `failed-files-${u.name}.png`) }).catch(() => undefined);
    expect(u.session.foreignRequests, `requests from ${u.name} that left localhost`).toEqual([]);
    // The refused zip import is a 400 answer, which Chromium logs.
    const errors = u.session.consoleErrors.splice(0).filter((e) => !/Failed to load resource: the server responded with a status of 400/.test(e));
    expect(errors, `console errors in ${u.name}'s page`).toEqual([]);
  }
});

afterAll(async () => {
  await shared?.[Symbol.asyncDispose]();
  await stack?.[Symbol.asyncDispose]();
});

const files = (u: User) => cc(u.page, 'files');
const bytesOf = async (u: User, path: string) => Buffer.from((await cc(u.page, 'bytes', path)) ?? '', 'base64');
const row = (path: string) => `[data-testid="file-row"][data-path="${path}"]`;

async function bothIn(): Promise<string> {
  const url = await newRoom(ada, stack.url);
  await joinRoom(bob, url);
  return url;
}

describe('issue 11: files in the browser', () => {
  it('a folder uploaded by one appears for the other; a file dropped on a folder lands in it; renaming the folder moves it all for both', async () => {
    await bothIn();
    const png = makePng(8, 8, (x, y) => [x * 30, y * 30, 200]);
    const folder = makeFolder('dataset', { 'readme.txt': Buffer.from('hello\n'), 'img/dot.png': png, 'raw.bin': Buffer.from([0, 255, 1, 254]) });
    await ada.page.setInputFiles('[data-testid="upload-folder-input"]', folder);
    await expect.poll(() => files(bob)).toEqual(expect.arrayContaining(['dataset/img/dot.png', 'dataset/raw.bin', 'dataset/readme.txt']) as string[]);
    expect((await bytesOf(bob, 'dataset/img/dot.png')).equals(png)).toBe(true);
    expect((await bytesOf(bob, 'dataset/raw.bin')).equals(Buffer.from([0, 255, 1, 254]))).toBe(true);

    // Dropped onto the folder's row (a script-made DataTransfer: files, no directory entries).
    await ada.page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['a,b\n1,2\n'], 'table.csv', { type: 'text/csv' }));
      const target = document.querySelector('[data-testid="folder-row"][data-dir="dataset"]')!;
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await expect.poll(() => files(bob)).toContain('dataset/table.csv');

    await bob.page.hover('[data-testid="folder-row"][data-dir="dataset"]');
    await bob.page.click('[data-testid="folder-row"][data-dir="dataset"] [data-testid="rename-folder"]');
    await bob.page.fill('[data-testid="rename-folder-input"]', 'data/v1');
    await bob.page.press('[data-testid="rename-folder-input"]', 'Enter');
    const moved = ['data/v1/img/dot.png', 'data/v1/raw.bin', 'data/v1/readme.txt', 'data/v1/table.csv'];
    await expect.poll(() => files(ada)).toEqual(expect.arrayContaining(moved) as string[]);
    expect((await files(ada)).filter((p) => p.startsWith('dataset/'))).toEqual([]);
    expect((await bytesOf(ada, 'data/v1/img/dot.png')).equals(png)).toBe(true);
  });

  it('previews a PNG and a CSV for both, and shows an SVG as a picture whose script never runs', async () => {
    await bothIn();
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" onload="window.top.pwned=1"><script>window.top.pwned=2</script><circle cx="20" cy="20" r="18" fill="#30a46c"/></svg>';
    const folder = makeFolder('pics', { 'chart.png': makePng(64, 32, (x) => [x * 4, 120, 255 - x * 4]), 'logo.svg': Buffer.from(svg), 'scores.csv': Buffer.from('name,score\n"Lovelace, Ada",99\nBob,7\n') });
    await ada.page.setInputFiles('[data-testid="upload-folder-input"]', folder);
    for (const u of [ada, bob]) {
      await u.page.waitForSelector(row('pics/chart.png'));
      await u.page.click(`${row('pics/chart.png')} .tree-open`);
      const img = await u.page.waitForSelector('[data-testid="image-preview"]');
      await expect.poll(() => img.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBe(64);
      expect(await img.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
      await u.page.click(`${row('pics/scores.csv')} .tree-open`);
      await u.page.waitForSelector('[data-testid="csv-preview"]');
      expect(await u.page.textContent('[data-testid="csv-preview"] tbody tr:first-child')).toBe('Lovelace, Ada99');
      await u.page.click(`${row('pics/logo.svg')} .tree-open`);
      const pic = await u.page.waitForSelector('[data-testid="image-preview"][src^="data:image/svg+xml"]');
      await expect.poll(() => pic.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBe(40);
      expect(await u.page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    }
    // SVG is text: its source opens in the editor.
    await ada.page.click('[data-testid="show-source"]');
    await expect.poll(() => cc(ada.page, 'editorText')).toBe(svg);
    await ada.page.screenshot({ path: join(RESULTS_DIR, 'files-preview.png') });
  });

  it('exports the room as a zip holding exactly its files, and imports a zip (refusing a bad one by name)', async () => {
    await bothIn();
    const zip = await makeZip({ 'lib/util.py': Buffer.from('def f():\n    return 1\n'), 'assets/blob.bin': Buffer.from(Array.from({ length: 256 }, (_, i) => i)) });
    await ada.page.setInputFiles('[data-testid="import-zip-input"]', { name: 'project.zip', mimeType: 'application/zip', buffer: zip });
    await expect.poll(() => files(bob)).toEqual(expect.arrayContaining(['lib/util.py', 'assets/blob.bin']) as string[]);
    expect((await bytesOf(bob, 'assets/blob.bin')).equals(Buffer.from(Array.from({ length: 256 }, (_, i) => i)))).toBe(true);

    const bad = Buffer.from(zip);
    // The same zip with a name the room refuses: "lib/util.py" becomes "../utils.py" (same length).
    bad.write('../utils.py', bad.indexOf('lib/util.py'), 'latin1');
    bad.write('../utils.py', bad.lastIndexOf('lib/util.py'), 'latin1');
    await ada.page.setInputFiles('[data-testid="import-zip-input"]', { name: 'bad.zip', mimeType: 'application/zip', buffer: bad });
    await expect.poll(() => ada.page.textContent('[data-testid="file-error"]')).toMatch(/zip entry "..\/utils.py" has a path a room cannot hold/);

    const [download] = await Promise.all([bob.page.waitForEvent('download'), bob.page.click('[data-testid="export-zip"]')]);
    const exported = await unpackZip(readFileSync(await download.path()), { maxFileBytes: 1 << 21, maxTotalBytes: 1 << 23, maxFiles: 100 });
    const roomFiles = await files(bob);
    expect(exported.map((f) => f.path).sort()).toEqual([...roomFiles].sort());
    for (const f of exported) expect(f.bytes.equals(await bytesOf(bob, f.path)), f.path).toBe(true);
  });

  it("a run writes plot.png: both see it in the tree, marked as the run's, and its preview (the README picture)", async () => {
    await bothIn();
    await setText(ada, PLOT_PROGRAM);
    await ada.page.click('[data-testid="run"]');
    for (const u of [ada, bob]) await waitForOutput(u, 'saved plot.png', RUN_TIMEOUT_MS);
    for (const u of [ada, bob]) {
      await u.page.waitForSelector(`${row('plot.png')} [data-testid="run-badge"]`, { timeout: 15_000 });
      await u.page.click(`${row('plot.png')} .tree-open`);
      const img = await u.page.waitForSelector('[data-testid="image-preview"][src^="data:image/png"]');
      await expect.poll(() => img.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBe(360);
    }
    // The note comes after the program's own screen, once it exited (a TTY run).
    await waitForScreen(ada, '→ plot.png');
    // Bob looks at the program, so Ada's screen shows where he is.
    await bob.page.click(`${row('main.py')} .tree-open`);
    await ada.page.waitForTimeout(500);
    const shot = join(RESULTS_DIR, 'codecell-hero.png');
    await ada.page.screenshot({ path: shot });
    // The README's picture: regenerate it with CODECELL_UPDATE_HERO=1.
    if (process.env['CODECELL_UPDATE_HERO'] === '1') copyFileSync(shot, join(FRONTEND_DIR, 'public', 'codecell-hero.png'));
  });
});

/** Draws a sine and a cosine into a 360×200 PNG with nothing but zlib (matplotlib arrives with the languages work). */
const PLOT_PROGRAM = `import math, struct, zlib

W, H = 360, 200
px = [[(255, 255, 255)] * W for _ in range(H)]
for x in range(W):
    px[H // 2][x] = (200, 200, 200)
    for f, colour in ((math.sin, (37, 99, 235)), (math.cos, (229, 72, 77))):
        y = int(H / 2 - f(x / W * 4 * math.pi) * (H / 2 - 12))
        for d in (-1, 0, 1):
            px[min(H - 1, max(0, y + d))][x] = colour

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

raw = b"".join(b"\\0" + bytes(c for p in row for c in p) for row in px)
png = b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
with open("plot.png", "wb") as f:
    f.write(png)
for i in range(1, 4):
    print(f"step {i}: sin({i}) = {math.sin(i):+.3f}")
print(f"saved plot.png ({len(png)} bytes)")
`;
