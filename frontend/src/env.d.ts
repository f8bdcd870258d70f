/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Base URL of the gateway (tRPC at `/trpc`, run output at `/stream/<jobId>`). */
  readonly VITE_API_URL?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
