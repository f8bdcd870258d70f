/**
 * The scripted fake sandbox (gateway/src/test/scriptedSandbox.ts) as a process
 * of its own, for the `gateway-fake` bench: it answers `POST /run` at once
 * (no VM), checks `Authorization: Bearer $SANDBOX_TOKEN` as the real sandbox
 * does, prints its URL on stdout and stops on SIGTERM.
 * @module
 */
import { startScriptedSandbox } from '../gateway/src/test/scriptedSandbox.js';

const token = process.env['SANDBOX_TOKEN'];
if (token === undefined || token === '') throw new Error('set SANDBOX_TOKEN');
const fake = await startScriptedSandbox({ token });
process.stdout.write(`${fake.url}\n`);
process.once('SIGTERM', () => void fake.close().then(() => process.exit(0)));
