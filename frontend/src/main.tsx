/**
 * Composition root of the browser IDE: builds the gateway client, then
 * renders the page (a room per URL, see ui/App.tsx).
 * @module
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { API_BASE } from './api/apiUrl';
import { createGatewayClient, TRPCProvider } from './api/trpc';
import { App } from './ui/App';
import './ui/styles.css';

const trpcClient = createGatewayClient(API_BASE);
const queryClient = new QueryClient();

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <App client={trpcClient} />
      </TRPCProvider>
    </QueryClientProvider>
  </StrictMode>,
);
