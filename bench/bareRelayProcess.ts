/**
 * The floor under the gateway bench: a bare relay with none of the gateway's
 * work (no schema checks, rooms, access, replay log or queue). A WebSocket
 * message's text is sent as the body of `POST /run` to the sandbox, on one
 * kept-alive connection, and every chunk of the answer goes back as it comes,
 * as one message; an empty message marks the answer's end. It prints its URL
 * on stdout and stops on SIGTERM. Started by bench/bareRelay.ts.
 * @module
 */
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

const sandboxUrl = process.env['SANDBOX_URL'];
const token = process.env['SANDBOX_TOKEN'];
if (!sandboxUrl || !token) throw new Error('set SANDBOX_URL and SANDBOX_TOKEN');
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    const body = data as Buffer;
    const headers = { 'Content-Type': 'application/json', 'Content-Length': body.length, Authorization: `Bearer ${token}` };
    const req = request(`${sandboxUrl}/run`, { method: 'POST', agent, headers }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => ws.send(chunk));
      res.on('end', () => ws.send(''));
      res.on('error', () => ws.close(1011));
    });
    req.on('error', () => ws.close(1011));
    req.end(body);
  });
});
wss.on('listening', () => process.stdout.write(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}\n`));
process.once('SIGTERM', () => {
  for (const ws of wss.clients) ws.terminate();
  wss.close(() => {
    agent.destroy();
    process.exit(0);
  });
});
