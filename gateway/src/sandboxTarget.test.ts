import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxClient } from './sandboxClient.js';
import { targetOf } from './sandboxTarget.js';

describe('targetOf', () => {
  it('reads host, port, path prefix and TLS from SANDBOX_ADDR forms', () => {
    expect(targetOf('http://127.0.0.1:5000')).toEqual({ options: { hostname: '127.0.0.1', port: 5000 }, prefix: '', tls: false });
    expect(targetOf('https://sbx.example.org/sandbox/')).toEqual({ options: { hostname: 'sbx.example.org', port: 443 }, prefix: '/sandbox', tls: true });
    expect(targetOf('http://[::1]:5001')).toEqual({ options: { hostname: '::1', port: 5001 }, prefix: '', tls: false });
    expect(targetOf('unix:/run/codecell/sandbox.sock')).toEqual({ options: { socketPath: '/run/codecell/sandbox.sock', host: 'localhost' }, prefix: '', tls: false });
  });
});

describe('an https:// SANDBOX_ADDR', () => {
  let dir = '';
  let server: Server;
  let url = '';
  const paths: string[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'codecell-tls-'));
    // A certificate no system CA signed: what a private TLS proxy in front of a sandbox has.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
      paths.push(`${req.method} ${req.url} ${req.headers.authorization}`);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ runtimes: [{ id: 'py', version: '3.11.2' }] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `https://localhost:${(server.address() as AddressInfo).port}/sbx`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('is spoken over TLS and refuses a certificate the host does not trust', async () => {
    const client = new SandboxClient({ baseUrl: url, token: 't' });
    try {
      await expect(client.runtimes()).rejects.toMatchObject({ code: 'sandbox_unavailable', message: expect.stringMatching(/self[- ]signed certificate/) as string });
      expect(paths).toEqual([]);
    } finally {
      client.dispose();
    }
  });

  it('trusts a private CA given by NODE_EXTRA_CA_CERTS (a separate process: Node reads it at start), for the name it certifies only', async () => {
    // The certificate names localhost: the same server by its address must be refused.
    const byAddress = url.replace('//localhost:', '//127.0.0.1:');
    const script = `import { SandboxClient } from ${JSON.stringify(new URL('./sandboxClient.ts', import.meta.url).pathname)};
      const tryIt = async (baseUrl) => {
        const c = new SandboxClient({ baseUrl, token: 'secret' });
        try { return await c.runtimes(); } catch (err) { return { code: err.code, message: err.message }; } finally { c.dispose(); }
      };
      console.log(JSON.stringify([await tryIt(${JSON.stringify(url)}), await tryIt(${JSON.stringify(byAddress)})]));`;
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') }, timeout: 40_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
    });
    const [trusted, wrongName] = JSON.parse(out) as [unknown, unknown];
    expect(trusted).toEqual([{ id: 'py', version: '3.11.2' }]);
    expect(wrongName).toMatchObject({ code: 'sandbox_unavailable', message: expect.stringMatching(/ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate/) as string });
    expect(paths).toEqual(['GET /sbx/runtimes Bearer secret']);
  }, 60_000);
});
