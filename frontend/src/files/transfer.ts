/**
 * Files between the room and this computer (issue 11): what was picked with
 * the upload buttons or dropped on the tree (files and whole folders, read
 * through the entries API), a room's zip unpacked by the gateway, and saving a
 * file or the room's zip. Downloads are saved, never opened in our origin:
 * the blob is `application/octet-stream` with a `download` name.
 * @module
 */
import { roomExportPath, roomImportPath, zipImportOutputSchema } from '@codecell/protocol';
import type { IncomingFile } from '../collab/fileOps';
import { incomingFromWorkspace } from '../collab/fileOps';

async function readFile(file: File, path: string): Promise<IncomingFile> {
  return { path, bytes: new Uint8Array(await file.arrayBuffer()) };
}

/** Files picked with `<input type=file>` (with `webkitdirectory`, paths keep their folders). */
export function filesFromInput(list: FileList, under = ''): Promise<IncomingFile[]> {
  return Promise.all([...list].map((f) => readFile(f, `${under}${f.webkitRelativePath || f.name}`)));
}

function entryFile(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** Every entry of a dropped folder (readEntries answers in batches until it gives none). */
async function children(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const out: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return out;
    out.push(...batch);
  }
}

async function walk(entry: FileSystemEntry, prefix: string, out: IncomingFile[]): Promise<void> {
  const path = `${prefix}${entry.name}`;
  if (entry.isFile) out.push(await readFile(await entryFile(entry as FileSystemFileEntry), path));
  else if (entry.isDirectory) for (const child of await children(entry as FileSystemDirectoryEntry)) await walk(child, `${path}/`, out);
}

/** Files and whole folders dropped on the tree, with their paths under `under`. */
export async function filesFromDrop(data: DataTransfer, under = ''): Promise<IncomingFile[]> {
  // Entries must be taken synchronously, before the first await: the DataTransfer empties after the event.
  const entries = [...data.items].map((item) => (item.kind === 'file' ? item.webkitGetAsEntry() : null));
  const plain = [...data.files];
  const out: IncomingFile[] = [];
  if (entries.some((e) => e === null)) {
    for (const f of plain) out.push(await readFile(f, `${under}${f.name}`));
    return out;
  }
  for (const entry of entries) if (entry) await walk(entry, under, out);
  return out;
}

/** Has the gateway unpack and check a zip (editor and above); resolves to its files. @throws Error with the gateway's message */
export async function unpackZipOnGateway(o: { apiBase: string; roomId: string; zip: Blob }): Promise<IncomingFile[]> {
  const res = await fetch(`${o.apiBase}${roomImportPath(o.roomId)}`, { method: 'POST', credentials: 'include', headers: { 'Content-Type': 'application/zip' }, body: o.zip });
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const message = (body as { error?: { message?: string } } | null)?.error?.message;
    throw new Error(message ?? `the gateway answered ${res.status}`);
  }
  return incomingFromWorkspace(zipImportOutputSchema.parse(body).files);
}

/** Saves bytes under `name` (a download, never shown in this page's origin). */
export function saveBytes(name: string, bytes: Uint8Array): void {
  const url = URL.createObjectURL(new Blob([Uint8Array.from(bytes)], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The link that downloads the room as a zip (the session cookie goes along). */
export function exportUrl(apiBase: string, roomId: string): string {
  return `${apiBase}${roomExportPath(roomId)}`;
}
