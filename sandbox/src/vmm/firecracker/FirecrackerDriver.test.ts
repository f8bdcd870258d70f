/**
 * FirecrackerDriver against the fake Firecracker *process* (sandbox/test/fakeFirecracker),
 * spawned exactly as the real binary would be.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FirecrackerDriver, type FirecrackerDriverOptions } from './FirecrackerDriver.js';
import { FirecrackerApi } from './FirecrackerApi.js';
import { FirecrackerTemplate, type FirecrackerVm } from './FirecrackerVm.js';
import type { VmHandle } from '../VmmDriver.js';
import { FAULTS } from '../../../test/fakeFirecracker/fakeApiSchemas.js';
import { connectUnix, rawRequest, readResponse } from '../../../test/fakeFirecracker/rawHttp.js';

const FAKE_BIN = fileURLToPath(new URL('../../../test/fakeFirecracker/fake-firecracker', import.meta.url));
const FAKE_JAILER = fileURLToPath(new URL('../../../test/fakeFirecracker/fake-jailer', import.meta.url));
const SHAPE = { memMb: 128, vcpus: 1 };
const TEST_TIMEOUT_MS = 15_000;

let root: string;
let workDir: string;
let kernelPath: string;
let initrdPath: string;
let rootfsPath: string;
let wrappers = 0;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fc-driver-'));
  kernelPath = join(root, 'vmlinux');
  initrdPath = join(root, 'initrd.cpio');
  await writeFile(kernelPath, 'ELF');
  await writeFile(initrdPath, 'cpio');
  rootfsPath = join(root, 'root.erofs');
  await writeFile(rootfsPath, 'erofs');
  await writeFile(join(root, 'kvm'), '');
});
afterEach(async () => {
  for (let fn = cleanups.pop(); fn; fn = cleanups.pop()) await fn();
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** A fresh workDir per test and a driver that is always disposed. */
async function driver(opts: Partial<FirecrackerDriverOptions> = {}): Promise<FirecrackerDriver> {
  workDir = await mkdtemp(join(root, 'work-'));
  const d = new FirecrackerDriver({
    firecrackerBin: FAKE_BIN,
    kernelPath,
    initrdPath,
    rootfsPath,
    workDir,
    kvmDevicePath: join(root, 'kvm'),
    bootTimeoutMs: 5_000,
    ...opts,
  });
  cleanups.push(() => d.dispose());
  return d;
}

/** The fake binary with test knobs set in its environment. */
async function fakeWith(env: Record<string, string>): Promise<string> {
  const path = join(root, `fake-${++wrappers}.sh`);
  const exports = Object.entries(env).map(([k, v]) => `export ${k}='${v}'`);
  await writeFile(path, ['#!/bin/sh', ...exports, `exec '${FAKE_BIN}' "$@"`, ''].join('\n'), { mode: 0o755 });
  return path;
}

async function echoes(vm: VmHandle, text: string): Promise<string> {
  const channel = vm.channel as Socket;
  const reply = new Promise<string>((resolve) => {
    let got = '';
    const onData = (chunk: Buffer): void => {
      got += chunk.toString();
      if (got.length >= text.length) {
        channel.off('data', onData);
        resolve(got);
      }
    };
    channel.on('data', onData);
  });
  channel.write(text);
  return reply;
}

function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('FirecrackerDriver.init', () => {
  it(
    'checks the binary with --version, and names what to fix',
    async () => {
      const ok = await driver();
      await expect(ok.init()).resolves.toBeUndefined();
      expect(ok.acceleration).toBe('kvm');

      const noKvm = await driver({ kvmDevicePath: join(root, 'no-kvm') });
      await expect(noKvm.init()).rejects.toMatchObject({
        code: 'vm_boot_failed',
        message: expect.stringMatching(/no-kvm \(ENOENT\).*KVM/),
      });
      const noBin = await driver({ firecrackerBin: join(root, 'no-firecracker') });
      await expect(noBin.init()).rejects.toMatchObject({
        code: 'vm_boot_failed',
        message: expect.stringContaining('Set FIRECRACKER_BIN'),
      });
    },
    TEST_TIMEOUT_MS,
  );
});

describe('FirecrackerDriver boot / destroy', () => {
  it(
    'boots, echoes over the vsock channel, and destroy leaves no process and no files',
    async () => {
      const d = await driver();
      const vm = await d.boot({ shape: SHAPE });
      expect(vm.restored).toBe(false);
      expect(isAlive(vm.pid)).toBe(true);
      expect(await echoes(vm, 'hello guest')).toBe('hello guest');
      expect(await readdir(workDir)).toHaveLength(1);

      await Promise.all([vm.destroy(), vm.destroy()]);
      await vm.destroy();
      expect(await vm.exited).toEqual({ code: null, signal: 'SIGKILL' });
      expect(isAlive(vm.pid)).toBe(false);
      expect(await readdir(workDir)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "surfaces Firecracker's fault_message and the log tail when boot fails",
    async () => {
      const d = await driver({ kernelPath: join(root, 'missing-vmlinux') });
      const err = await d.boot({ shape: SHAPE }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'vm_boot_failed' });
      const message = (err as Error).message;
      expect(message).toContain(
        'PUT /boot-source failed: The kernel file cannot be opened: No such file or directory',
      );
      expect(message).toContain('Running Firecracker v1.16.1');
      expect(await readdir(workDir)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'explains a VMM that exits early (guest panic, then reboot=k)',
    async () => {
      const d = await driver({ firecrackerBin: await fakeWith({ FAKE_FC_GUEST_PANIC: '1' }) });
      const err = await d.boot({ shape: SHAPE }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'vm_boot_failed' });
      expect((err as Error).message).toMatch(
        /VMM exited with code 0 before the guest agent was reachable[\s\S]*Kernel panic/,
      );
      expect(await readdir(workDir)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'explains a VMM that crashes during an API call',
    async () => {
      const d = await driver({ firecrackerBin: await fakeWith({ FAKE_FC_CRASH_ON: '/actions' }) });
      const err = await d.boot({ shape: SHAPE }).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(
        /Firecracker boot failed: the VMM exited with code 1[\s\S]*crashing on PUT \/actions/,
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'reports a binary that cannot be spawned',
    async () => {
      const d = await driver({ firecrackerBin: join(root, 'no-such-firecracker') });
      await expect(d.boot({ shape: SHAPE })).rejects.toThrow(
        /the VMM could not be started \(spawn .*ENOENT\)/,
      );
      expect(await readdir(workDir)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'times out when the guest agent never listens',
    async () => {
      const d = await driver({
        firecrackerBin: await fakeWith({ FAKE_FC_GUEST_PORTS: '' }),
        bootTimeoutMs: 1_200,
      });
      await expect(d.boot({ shape: SHAPE })).rejects.toThrow(/guest agent was not reachable within 1200 ms/);
      expect(await readdir(workDir)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'honours the AbortSignal and cleans up',
    async () => {
      const d = await driver({ firecrackerBin: await fakeWith({ FAKE_FC_BOOT_DELAY_MS: '10000' }) });
      const controller = new AbortController();
      const booting = d.boot({ shape: SHAPE, signal: controller.signal });
      setTimeout(() => controller.abort(new Error('user cancelled')), 500);
      await expect(booting).rejects.toThrow('user cancelled');
      expect(await readdir(workDir)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('FirecrackerDriver snapshots', () => {
  it(
    'snapshots a VM into a template and restores working clones that share the memory file',
    async () => {
      const d = await driver();
      const source = await d.boot({ shape: SHAPE });
      expect(await echoes(source, 'warm')).toBe('warm');
      const template = await d.createTemplate(source);
      expect(isAlive(source.pid)).toBe(false); // the source is consumed, never resumed
      expect(template).toBeInstanceOf(FirecrackerTemplate);
      const tpl = template as FirecrackerTemplate;
      expect((await stat(tpl.memPath)).size).toBe(SHAPE.memMb * 1024 * 1024);
      expect(template.shape).toEqual(SHAPE);

      const clones = await Promise.all([d.restore({ template }), d.restore({ template })]);
      for (const [i, clone] of clones.entries()) {
        expect(clone.restored).toBe(true);
        expect(await echoes(clone, `clone ${i}`)).toBe(`clone ${i}`);
        const files = await readdir((clone as FirecrackerVm).process.vmDir);
        expect(files).toContain('snapshot.state');
        expect(files).not.toContain('snapshot.mem'); // referenced by path, not copied
      }

      await d.dispose();
      expect(clones.some((c) => isAlive(c.pid))).toBe(false);
      expect(await readdir(workDir)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'works through the jailer: files linked into the chroot, relative sockets, chroot removed',
    async () => {
      const chrootBaseDir = join(root, 'jail');
      const d = await driver({ jailer: { jailerBin: FAKE_JAILER, uid: 10_000, gid: 10_000, chrootBaseDir } });
      await d.init();
      const source = await d.boot({ shape: SHAPE });
      const chroot = join(chrootBaseDir, 'fake-firecracker', source.id, 'root');
      expect((await readdir(chroot)).sort()).toEqual(['api.sock', 'initrd', 'rootfs', 'v.sock', 'vmlinux']);
      expect((await stat(join(chroot, 'rootfs'))).ino).toBe((await stat(rootfsPath)).ino);
      expect((await stat(join(chroot, 'vmlinux'))).ino).toBe((await stat(kernelPath)).ino); // hard link
      const template = await d.createTemplate(source);
      const clone = await d.restore({ template });
      expect(await echoes(clone, 'jailed clone')).toBe('jailed clone');
      await d.dispose();
      expect(await readdir(join(chrootBaseDir, 'fake-firecracker'))).toEqual([]);
      expect(await readdir(workDir)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'attaches the root image as a read-only, non-root drive that clones reopen by the same path',
    async () => {
      const d = await driver();
      const source = await d.boot({ shape: SHAPE });
      const config = (await (source as FirecrackerVm).process.api.call('GET', '/vm/config')) as { drives: unknown[] };
      expect(config.drives).toEqual([{ drive_id: 'rootfs', path_on_host: rootfsPath, is_root_device: false, is_read_only: true }]);
      const template = await d.createTemplate(source);
      const clone = await d.restore({ template });
      expect(await echoes(clone, 'clone with disk')).toBe('clone with disk');
      const moved = `${rootfsPath}.moved`;
      await rename(rootfsPath, moved);
      try {
        const err = await d.restore({ template }).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'vm_boot_failed' });
        expect((err as Error).message).toContain('No such file or directory');
      } finally {
        await rename(moved, rootfsPath);
      }
    },
    TEST_TIMEOUT_MS,
  );

  it('rejects a template it does not own', async () => {
    const d = await driver();
    const foreign = { id: 'tpl-x', shape: SHAPE, dispose: async () => undefined };
    await expect(d.restore({ template: foreign })).rejects.toMatchObject({ code: 'internal_error' });
  });
});

describe('fake Firecracker process (Firecracker API rules)', () => {
  async function spawnFake(): Promise<{ api: FirecrackerApi; socketPath: string }> {
    const dir = await mkdtemp(join(root, 'proc-'));
    await mkdir(dir, { recursive: true });
    const socketPath = join(dir, 'api.sock');
    const child = spawn(FAKE_BIN, ['--api-sock', socketPath, '--id', 'raw-1'], { cwd: dir, stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const api = new FirecrackerApi({ socketPath });
    cleanups.push(async () => {
      api.close();
      child.kill('SIGKILL');
      await exited;
      await rm(dir, { recursive: true, force: true });
    });
    await api.waitForSocket({ timeoutMs: 5_000 });
    return { api, socketPath };
  }

  it(
    'rejects chunked bodies, an 11th connection, early post-boot calls, bad drive ids and late loads',
    async () => {
      const { api, socketPath } = await spawnFake();
      const chunked = await rawRequest(
        socketPath,
        'PUT /entropy HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
      );
      expect(JSON.parse(chunked.body)).toEqual({ fault_message: 'Empty PUT request.' });

      const open = await Promise.all(Array.from({ length: 9 }, () => connectUnix(socketPath))); // + the api's own
      cleanups.push(() => open.forEach((s) => s.destroy()));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const eleventh = await connectUnix(socketPath);
      expect((await readResponse(eleventh)).status).toBe(503);
      eleventh.destroy();
      open.forEach((s) => s.destroy());

      await expect(api.pauseVm()).rejects.toThrow(`PATCH /vm failed: ${FAULTS.postBootOnly}`);
      await expect(
        api.call('PUT', '/drives/root-fs', { body: { drive_id: 'root-fs', is_root_device: true } }),
      ).rejects.toThrow(FAULTS.badId);
      await api.putMachineConfig({ vcpu_count: 1, mem_size_mib: 64 });
      await expect(api.loadSnapshot({ snapshotPath: 's', memFilePath: 'm', resumeVm: true })).rejects.toThrow(
        FAULTS.loadAfterConfig,
      );
    },
    TEST_TIMEOUT_MS,
  );
});
