/**
 * Builds the frontend once for the whole e2e run (each test file used to run
 * its own `vite build`, about 8-15 s apiece); the files' `buildFrontend()`
 * then only returns `frontend/dist`.
 * @module
 */
import { buildFrontend } from './stack.js';

export default function setup(): void {
  buildFrontend();
  // Read by buildFrontend() in the test files' workers, which start after this.
  process.env['E2E_SKIP_BUILD'] = '1';
}
