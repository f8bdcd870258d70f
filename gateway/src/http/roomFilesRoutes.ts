/**
 * `GET /rooms/<roomId>/export.zip` (viewer and above: the room as a zip,
 * streamed) and `POST /rooms/<roomId>/import.zip` (editor and above: a zip
 * unpacked and checked, answered as files the page writes into the room).
 * Callers are who their session cookie or API token says; requests another
 * web page could make (a foreign Origin, `Sec-Fetch-Site: cross-site`) are
 * refused, and an import must be `Content-Type: application/zip`, which no
 * form can send.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { CodeCellError, formatBytes, toCodeCellError } from '@codecell/protocol';
import type { RoomAction, WorkspaceFile, ZipImportOutput } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { RoomAccess } from '../access/RoomAccess.js';
import type { Caller } from '../auth/Caller.js';
import type { CollabService } from '../collab/CollabService.js';
import type { FileBytes } from '../collab/roomDoc.js';
import { zipStream } from '../files/zipExport.js';
import { unpackZip } from '../files/zipImport.js';
import { applyCors } from './cors.js';
import type { CrossSitePolicy } from './hosts.js';

const ROUTE = /^\/rooms\/([A-Za-z0-9_-]{1,64})\/(export|import)\.zip$/;

/** The room and action of a room-files path, or null. */
export function matchRoomFilesRoute(path: string): { roomId: string; action: 'export' | 'import' } | null {
  const m = ROUTE.exec(path);
  return m ? { roomId: m[1]!, action: m[2] as 'export' | 'import' } : null;
}

/** What the routes need from the gateway. */
export interface RoomFilesRouteOptions {
  readonly policy: CrossSitePolicy;
  readonly corsOrigins: readonly string[];
  readonly authenticate: (req: IncomingMessage) => Promise<Caller>;
  readonly access: RoomAccess;
  readonly collab: CollabService;
  /** Room ids that exist (registered, or with stored content). */
  readonly roomExists: (roomId: string) => Promise<boolean>;
  readonly logger: Logger;
}

/** Serves one room-files request. */
export async function handleRoomFilesRoute(req: IncomingMessage, res: ServerResponse, o: RoomFilesRouteOptions & { route: { roomId: string; action: 'export' | 'import' } }): Promise<void> {
  const { route } = o;
  if (applyCors(req, res, o.corsOrigins)) return;
  const method = route.action === 'export' ? 'GET' : 'POST';
  try {
    if (req.method !== method && !(method === 'GET' && req.method === 'HEAD')) {
      res.setHeader('Allow', method === 'GET' ? 'GET, HEAD' : 'POST');
      throw new CodeCellError('method_not_allowed', `use ${method} for ${route.action}.zip`);
    }
    const refusal = o.policy.checkCrossSite(req);
    if (refusal) throw new CodeCellError(refusal.code, refusal.message);
    await allowed(req, { ...o, roomId: route.roomId, action: route.action === 'export' ? 'read' : 'edit' });
    if (route.action === 'export') await sendExport(req, res, { roomId: route.roomId, files: await o.collab.fileBytes(route.roomId) });
    else await sendImport(req, res, o.collab);
  } catch (err) {
    const e = toCodeCellError(err);
    if (e.code === 'internal_error') o.logger.error('room files request failed', { roomId: route.roomId, error: String(err) });
    req.resume();
    if (res.headersSent) return void res.destroy();
    res.writeHead(e.httpStatus, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' }).end(JSON.stringify(e.toBody()));
  }
}

async function allowed(req: IncomingMessage, o: RoomFilesRouteOptions & { roomId: string; action: RoomAction }): Promise<void> {
  const caller = await o.authenticate(req);
  await o.access.require(caller, o.roomId, o.action);
  // With AUTH_MODE=none every id is the local user's: still, only rooms that exist have files.
  if (!(await o.roomExists(o.roomId))) throw new CodeCellError('not_found', `no room ${o.roomId}`);
}

async function sendExport(req: IncomingMessage, res: ServerResponse, { roomId, files }: { roomId: string; files: readonly FileBytes[] }): Promise<void> {
  // The room id is [A-Za-z0-9_-]: safe inside the quoted filename.
  res.writeHead(200, {
    'Content-Type': 'application/zip',
    'Content-Disposition': `attachment; filename="${roomId}.zip"`,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
  });
  if (req.method === 'HEAD') return void res.end();
  await pipeline(zipStream(files), res);
}

async function sendImport(req: IncomingMessage, res: ServerResponse, collab: CollabService): Promise<void> {
  const type = req.headers['content-type']?.split(';', 1)[0]?.trim().toLowerCase();
  if (type !== 'application/zip') {
    throw new CodeCellError('unsupported_media_type', `send the zip as Content-Type: application/zip (got ${JSON.stringify(req.headers['content-type'] ?? '')})`);
  }
  const { maxFileBytes, maxRoomBytes, maxRoomFiles } = collab.limits;
  // A stored zip of a full room is its bytes plus headers; a larger one cannot fit.
  const maxZip = maxRoomBytes + maxRoomFiles * 1024 + 64 * 1024;
  const zip = await readBody(req, maxZip);
  const unpacked = await unpackZip(zip, { maxFileBytes, maxTotalBytes: maxRoomBytes, maxFiles: maxRoomFiles });
  const files = unpacked.map((f): WorkspaceFile => (f.text === null ? { path: f.path, content: f.bytes.toString('base64'), encoding: 'base64' } : { path: f.path, content: f.text, encoding: 'utf8' }));
  const body: ZipImportOutput = { files };
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  const tooLarge = () => new CodeCellError('payload_too_large', `the zip is over ${formatBytes(max)}; a room holds at most MAX_ROOM_BYTES of files`);
  if (Number.isFinite(declared) && declared > max) throw tooLarge();
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > max) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
