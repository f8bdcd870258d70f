import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CodeCellError } from '@codecell/protocol';
import { FirecrackerApi, FirecrackerApiError, versionAtLeast } from './FirecrackerApi.js';
import {
  startFakeFirecracker,
  type FakeFirecrackerOptions,
} from '../../../test/fakeFirecracker/fakeFirecrackerServer.js';
import { FAULTS } from '../../../test/fakeFirecracker/fakeApiSchemas.js';
import { connectUnix, rawRequest, readResponse } from '../../../test/fakeFirecracker/rawHttp.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (let fn = cleanups.pop(); fn; fn = cleanups.pop()) await fn();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fc-api-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'vmlinux'), 'kernel');
  await writeFile(join(dir, 'initrd'), 'initrd');
  return dir;
}

async function setup(opts: Partial<FakeFirecrackerOptions> = {}, dir?: string) {
  const cwd = dir ?? (await tempDir());
  const socketPath = join(cwd, opts.apiSockPath ?? 'api.sock');
  const fake = await startFakeFirecracker({
    cwd,
    guest: { bootDelayMs: 0 },
    ...opts,
    apiSockPath: socketPath,
  });
  const api = new FirecrackerApi({ socketPath });
  cleanups.push(async () => {
    api.close();
    await fake.close();
  });
  return { dir: cwd, fake, api, socketPath };
}

async function bootMinimal(api: FirecrackerApi): Promise<void> {
  await api.putMachineConfig({ vcpu_count: 1, mem_size_mib: 64 });
  await api.putBootSource({
    kernel_image_path: 'vmlinux',
    initrd_path: 'initrd',
    boot_args: 'console=ttyS0',
  });
  await api.putVsock({ guest_cid: 3, uds_path: 'v.sock' });
  await api.putEntropy();
  await api.instanceStart();
}

describe('FirecrackerApi against the fake', () => {
  it('runs the boot sequence with Content-Length bodies and never chunked', async () => {
    const { api, fake } = await setup({ id: 'vm-1' });
    expect(await api.getVersion()).toBe('1.16.1');
    await bootMinimal(api);
    expect(await api.getInstanceInfo()).toEqual({
      id: 'vm-1',
      state: 'Running',
      vmm_version: '1.16.1',
      app_name: 'Firecracker',
    });
    const puts = fake.requests.filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.path)).toEqual([
      '/machine-config',
      '/boot-source',
      '/vsock',
      '/entropy',
      '/actions',
    ]);
    for (const r of puts) {
      expect(r.headers['transfer-encoding']).toBeUndefined();
      expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.body ?? ''));
    }
  });

  it("surfaces Firecracker's fault_message with the request", async () => {
    const { api } = await setup();
    const err = await api.putBootSource({ kernel_image_path: 'missing-vmlinux' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FirecrackerApiError);
    expect(err).toBeInstanceOf(CodeCellError);
    expect((err as FirecrackerApiError).statusCode).toBe(400);
    expect((err as Error).message).toBe(
      'PUT /boot-source failed: The kernel file cannot be opened: No such file or directory (os error 2)',
    );
  });

  it('rejects unknown and missing fields like serde deny_unknown_fields', async () => {
    const { api } = await setup();
    await expect(
      api.call('PUT', '/machine-config', { body: { vcpu_count: 1, mem_size_mib: 64, bogus: 1 } }),
    ).rejects.toThrow(
      /An error occurred when deserializing the json body of a request: unknown field `bogus`, expected one of `vcpu_count`/,
    );
    await expect(api.call('PUT', '/vsock', { body: { guest_cid: 3 } })).rejects.toThrow(
      /missing field `uds_path`\.$/,
    );
    await expect(api.call('PUT', '/nope', { body: {} })).rejects.toThrow(
      'PUT /nope failed: Invalid request method and/or path: PUT nope.',
    );
  });

  it('binds uds_path at PUT /vsock and refuses a path that exists', async () => {
    const { api, dir } = await setup();
    await writeFile(join(dir, 'taken.sock'), '');
    await expect(api.putVsock({ guest_cid: 3, uds_path: 'taken.sock' })).rejects.toThrow(
      'PUT /vsock failed: Cannot create backend for vsock device: UnixBind(Os { code: 98, kind: AddrInUse',
    );
    await api.putVsock({ guest_cid: 3, uds_path: 'v.sock' });
    expect((await stat(join(dir, 'v.sock'))).isSocket()).toBe(true);
  });

  it('PUT /machine-config resets omitted optional fields', async () => {
    const { api } = await setup();
    await api.putMachineConfig({ vcpu_count: 2, mem_size_mib: 256, smt: true, track_dirty_pages: true });
    await api.putMachineConfig({ vcpu_count: 2, mem_size_mib: 256 });
    expect(await api.getMachineConfig()).toMatchObject({
      smt: false,
      track_dirty_pages: false,
      huge_pages: 'None',
    });
  });

  it('enforces pre-boot-only and post-boot-only requests', async () => {
    const { api } = await setup();
    await expect(api.pauseVm()).rejects.toThrow(`PATCH /vm failed: ${FAULTS.postBootOnly}`);
    await expect(api.instanceStart()).rejects.toThrow(FAULTS.noKernel);
    await bootMinimal(api);
    await expect(api.instanceStart()).rejects.toThrow(FAULTS.preBootOnly);
    await expect(api.putMachineConfig({ vcpu_count: 1, mem_size_mib: 64 })).rejects.toThrow(
      FAULTS.preBootOnly,
    );
    await expect(api.createSnapshot({ snapshot_path: 's', mem_file_path: 'm' })).rejects.toThrow(
      FAULTS.notPaused,
    );
  });

  it('checks drive ids on the client and in the fake', async () => {
    const { api, fake } = await setup();
    const before = fake.requests.length;
    await expect(api.putDrive({ drive_id: 'root-fs', is_root_device: true })).rejects.toThrow(FAULTS.badId);
    expect(fake.requests.length).toBe(before);
    await expect(
      api.call('PUT', '/drives/root-fs', { body: { drive_id: 'root-fs', is_root_device: true } }),
    ).rejects.toThrow(FAULTS.badId);
    await expect(
      api.call('PUT', '/drives/a', { body: { drive_id: 'b', is_root_device: true } }),
    ).rejects.toThrow(FAULTS.idMismatch);
  });

  it('refuses /snapshot/load after boot-specific config, and a failed load ends the VMM', async () => {
    const first = await setup();
    await first.api.putMachineConfig({ vcpu_count: 1, mem_size_mib: 64 });
    const load = { snapshotPath: 's', memFilePath: 'm', resumeVm: true };
    await expect(first.api.loadSnapshot(load)).rejects.toThrow(FAULTS.loadAfterConfig);

    const second = await setup({ apiSockPath: 'api2.sock' }, first.dir);
    await second.api.putLogger({ level: 'Info' }); // logger may precede the load
    await expect(second.api.loadSnapshot(load)).rejects.toThrow(/Load snapshot error/);
    expect(await second.fake.exited).toBe(1);
  });

  it('creates a snapshot of a paused VM and loads it into a fresh VMM', async () => {
    const source = await setup();
    await bootMinimal(source.api);
    await source.api.pauseVm();
    await source.api.createSnapshot({
      snapshot_type: 'Full',
      snapshot_path: 'snap.state',
      mem_file_path: 'snap.mem',
    });
    expect((await stat(join(source.dir, 'snap.mem'))).size).toBe(64 * 1024 * 1024);

    const clone = await setup({ apiSockPath: 'clone.sock' }, source.dir);
    const result = await clone.api.loadSnapshot({
      snapshotPath: 'snap.state',
      memFilePath: join(source.dir, 'snap.mem'),
      resumeVm: true,
      vsockUdsPath: 'clone-v.sock',
    });
    expect(result.vsockOverridden).toBe(true);
    expect((await clone.api.getInstanceInfo()).state).toBe('Running');
    expect(clone.fake.vmm.vsock?.uds_path).toBe('clone-v.sock');
  });

  it('sends vsock_override only to Firecracker >= 1.16', async () => {
    const source = await setup({ version: '1.15.0' });
    await bootMinimal(source.api);
    await source.api.pauseVm();
    await source.api.createSnapshot({ snapshot_path: 'snap.state', mem_file_path: 'snap.mem' });
    await source.fake.close();

    const raw = await setup({ version: '1.15.0', apiSockPath: 'raw.sock' }, source.dir);
    const body = {
      snapshot_path: 'snap.state',
      mem_backend: { backend_type: 'File', backend_path: 'snap.mem' },
      vsock_override: { uds_path: 'v.sock' },
    };
    await expect(raw.api.call('PUT', '/snapshot/load', { body })).rejects.toThrow(
      /unknown field `vsock_override`/,
    );

    const clone = await setup({ version: '1.15.0', apiSockPath: 'clone.sock' }, source.dir);
    const load = {
      snapshotPath: 'snap.state',
      memFilePath: 'snap.mem',
      resumeVm: true,
      vsockUdsPath: 'v.sock',
    };
    expect(await clone.api.loadSnapshot(load)).toEqual({ vsockOverridden: false });
    expect(clone.fake.requests.at(-1)?.body).not.toContain('vsock_override');
  });

  it('pauses, resumes, and SendCtrlAltDel ends the VMM (reboot=k)', async () => {
    const { api, fake } = await setup();
    await bootMinimal(api);
    await api.pauseVm();
    expect((await api.getInstanceInfo()).state).toBe('Paused');
    await api.resumeVm();
    expect((await api.getInstanceInfo()).state).toBe('Running');
    await api.sendCtrlAltDel();
    expect(await fake.exited).toBe(0);
  });

  it('serializes concurrent calls: one request in flight at a time', async () => {
    const { api, fake } = await setup({ responseDelayMs: 15 });
    await Promise.all([1, 2, 3, 4, 5].map(() => api.getMachineConfig()));
    expect(fake.peakInFlight).toBe(1);
  });

  it('times out, and honours the caller signal', async () => {
    const { api } = await setup({ responseDelayMs: 300 });
    await expect(api.getVersion({ timeoutMs: 50 })).rejects.toThrow(
      'GET /version failed: no reply within 50 ms',
    );
    const controller = new AbortController();
    const pending = api.getMachineConfig({ signal: controller.signal });
    controller.abort(new Error('caller gave up'));
    await expect(pending).rejects.toThrow('caller gave up');
  });

  it('waitForSocket polls until the API answers, and gives up at the deadline', async () => {
    const dir = await tempDir();
    const api = new FirecrackerApi({ socketPath: join(dir, 'late.sock') });
    cleanups.push(async () => api.close());
    const waiting = api.waitForSocket({ timeoutMs: 2_000 });
    await new Promise((resolve) => setTimeout(resolve, 60));
    await setup({ apiSockPath: 'late.sock' }, dir);
    await expect(waiting).resolves.toBeUndefined();

    const nobody = new FirecrackerApi({ socketPath: join(dir, 'never.sock') });
    const err = await nobody.waitForSocket({ timeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'vm_boot_failed' });
    expect((err as Error).message).toMatch(/not ready within 100 ms/);
  });

  it('versionAtLeast compares major.minor', () => {
    expect(versionAtLeast('1.16.1', [1, 16])).toBe(true);
    expect(versionAtLeast('1.15.9', [1, 16])).toBe(false);
    expect(versionAtLeast('2.0.0', [1, 16])).toBe(true);
    expect(versionAtLeast('garbage', [1, 0])).toBe(false);
  });
});

describe('fake Firecracker HTTP framing (micro-http quirks)', () => {
  it('answers 204 with no reason phrase, no body and no Content-Length', async () => {
    const { socketPath } = await setup();
    const res = await rawRequest(
      socketPath,
      'PUT /machine-config HTTP/1.1\r\nContent-Length: 35\r\n\r\n{"vcpu_count":1,"mem_size_mib":128}',
    );
    expect(res.statusLine).toBe('HTTP/1.1 204 ');
    expect(res.headers.get('content-length')).toBeUndefined();
    expect(res.headers.get('server')).toBe('Firecracker API');
  });

  it('treats a chunked request as having no body', async () => {
    const { socketPath } = await setup();
    const body = '{"vcpu_count":1,"mem_size_mib":128}';
    const res = await rawRequest(
      socketPath,
      `PUT /machine-config HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ fault_message: 'Empty PUT request.' });
  });

  it('rejects bad JSON, GET bodies and unsupported methods', async () => {
    const { socketPath } = await setup();
    const bad = await rawRequest(socketPath, 'PUT /vsock HTTP/1.1\r\nContent-Length: 5\r\n\r\n{oops');
    expect(JSON.parse(bad.body).fault_message).toMatch(
      /^An error occurred when deserializing the json body of a request: /,
    );
    const get = await rawRequest(socketPath, 'GET / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}');
    expect(JSON.parse(get.body)).toEqual({ fault_message: 'GET request cannot have a body.' });
    const post = await rawRequest(socketPath, 'POST /actions HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}');
    expect(post.status).toBe(400);
  });

  it('rejects bodies over 51200 bytes', async () => {
    const { socketPath } = await setup();
    const body = JSON.stringify({ log_path: 'x'.repeat(51_200) });
    const res = await rawRequest(
      socketPath,
      `PUT /logger HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error).toMatch(/larger than the limit of 51200/);
  });

  it('accepts 10 connections and answers the 11th with 503', async () => {
    const { socketPath, fake } = await setup();
    const open = await Promise.all(Array.from({ length: 10 }, () => connectUnix(socketPath)));
    cleanups.push(async () => open.forEach((s) => s.destroy()));
    await expect.poll(() => fake.openConnections).toBe(10);
    const eleventh = await connectUnix(socketPath);
    const res = await readResponse(eleventh);
    eleventh.destroy();
    expect(res.status).toBe(503);
    expect(res.headers.get('connection')).toBe('close');
    expect(JSON.parse(res.body)).toEqual({ error: 'Too many open connections' });
  });
});
