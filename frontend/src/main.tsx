/**
 * Composition root of the browser IDE: builds the gateway client, the
 * workspace and the run controller, then renders the page.
 * @module
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { API_BASE, streamUrl } from './api/apiUrl';
import { createGatewayClient, TRPCProvider } from './api/trpc';
import { toUserError } from './api/userError';
import { createBrowserJobStorage } from './run/jobStorage';
import { RunController } from './run/RunController';
import { openRunStream } from './run/runStream';
import { App } from './ui/App';
import { createLocalWorkspace } from './workspace/workspace';
import './ui/styles.css';

const trpcClient = createGatewayClient(API_BASE);
const queryClient = new QueryClient();
const workspace = createLocalWorkspace({ store: safeLocalStorage() });

const controller = new RunController({
  api: {
    runCode: (input) => trpcClient.runCode.mutate(input),
    sendStdin: (input) => trpcClient.sendStdin.mutate(input),
    stopRun: (input) => trpcClient.stopRun.mutate(input),
  },
  openStream: (jobId, handlers) => openRunStream({ url: streamUrl(API_BASE, jobId), handlers }),
  storage: createBrowserJobStorage(),
  workspace: () => workspace.snapshot(),
  toUserError: (err) => toUserError(err, API_BASE),
});
controller.restore();

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <App controller={controller} workspace={workspace} />
      </TRPCProvider>
    </QueryClientProvider>
  </StrictMode>,
);

function safeLocalStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}
