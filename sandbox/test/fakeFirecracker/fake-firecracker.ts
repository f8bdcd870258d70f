/**
 * Process entry of the fake Firecracker, so FirecrackerDriver can spawn it as its
 * `firecrackerBin` (through the `fake-firecracker` shell wrapper, which runs this file
 * under tsx). Command line as Firecracker's: `--api-sock <path> [--id <id>]`, `--version`;
 * `--flag=value` works too (the jailer passes `--id=<id>`).
 *
 * Test knobs (environment, since the driver owns the command line):
 * - `FAKE_FC_VERSION` (default 1.16.1)
 * - `FAKE_FC_BOOT_DELAY_MS` guest boot time (default 50)
 * - `FAKE_FC_GUEST_PORTS` comma-separated listening ports (default 1024; empty: none)
 * - `FAKE_FC_GUEST_PANIC=1` the guest panics after booting (Firecracker then exits 0)
 * - `FAKE_FC_CRASH_ON=<path>` exit(1) without replying to the first request for that path
 * - `FAKE_FC_GUEST=agent` the guest speaks the agent protocol (FakeAgent) instead of echoing
 * @module
 */
import { existsSync } from 'node:fs';
import { startFakeFirecracker, type FakeFirecracker } from './fakeFirecrackerServer.js';
import { FakeAgent } from '../fakeVmm/FakeAgent.js';

/** Firecracker's exit code for bad command-line arguments. */
const EXIT_BAD_ARGS = 153;
const VALUE_FLAGS = new Set([
  'api-sock',
  'id',
  'start-time-us',
  'start-time-cpu-us',
  'parent-cpu-time-us',
  'config-file',
  'log-path',
  'level',
  'module',
  'metrics-path',
  'seccomp-filter',
  'http-api-max-payload-size',
  'mmds-size-limit',
  'describe-snapshot',
]);
const BOOLEAN_FLAGS = new Set([
  'version',
  'no-api',
  'show-level',
  'show-log-origin',
  'boot-timer',
  'no-seccomp',
  'snapshot-version',
  'enable-pci',
]);

function parseArgs(argv: readonly string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    const name = match?.[1] ?? '';
    if (BOOLEAN_FLAGS.has(name) && match?.[2] === undefined) {
      args.set(name, 'true');
    } else if (VALUE_FLAGS.has(name)) {
      const value = match?.[2] ?? argv[++i];
      if (value === undefined) fail(`Arguments parsing error: Argument '--${name}' requires a value.`);
      args.set(name, value);
    } else {
      fail(
        `Arguments parsing error: Found argument '${arg}' which wasn't expected, or isn't valid in this context.`,
      );
    }
  }
  return args;
}

function fail(message: string, code = EXIT_BAD_ARGS): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  const env = process.env;
  const version = env['FAKE_FC_VERSION'] ?? '1.16.1';
  const args = parseArgs(process.argv.slice(2));
  if (args.has('version')) {
    process.stdout.write(`Firecracker v${version}\n\n`);
    return;
  }
  const id = args.get('id') ?? 'anonymous-instance';
  if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) fail(`Invalid instance ID: ${id}`);
  const apiSockPath = args.get('api-sock') ?? '/run/firecracker.socket';
  if (existsSync(apiSockPath)) {
    fail(`Failed to open the API socket at: ${apiSockPath}. Check that it is not already used.`, 1);
  }
  const portsEnv = env['FAKE_FC_GUEST_PORTS'];
  const ports = portsEnv === undefined ? [1024] : portsEnv.split(',').filter(Boolean).map(Number);
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  const fake: FakeFirecracker = await startFakeFirecracker({
    apiSockPath,
    id,
    version,
    cwd: process.cwd(),
    guest: {
      ports,
      bootDelayMs: Number(env['FAKE_FC_BOOT_DELAY_MS'] ?? 50),
      panicAfterBoot: env['FAKE_FC_GUEST_PANIC'] === '1',
      ...(env['FAKE_FC_GUEST'] === 'agent'
        ? {
            onConnection: (socket) => {
              socket.on('error', () => undefined);
              new FakeAgent(socket);
            },
          }
        : {}),
    },
    ...(env['FAKE_FC_CRASH_ON'] ? { crashOnPath: env['FAKE_FC_CRASH_ON'] } : {}),
    console: log,
    onExit: (code, reason) => {
      log(`fake firecracker exiting (${code}): ${reason}`);
      void (fake?.close() ?? Promise.resolve()).finally(() => process.exit(code));
    },
  });
  log(`Running Firecracker v${version}`);
}

main().catch((err: unknown) =>
  fail(`fake firecracker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, 1),
);
