/**
 * Remembers the current run's jobId in sessionStorage and in the URL
 * (`?run=<jobId>`), so a reload mid-run re-attaches to the same run.
 * @module
 */

/** Where a run's jobId is kept between page loads. */
export interface JobStorage {
  load(): string | null;
  save(jobId: string): void;
  clear(): void;
}

const SESSION_KEY = 'codecell.run';
const URL_PARAM = 'run';
const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The browser implementation: URL first (shareable), then sessionStorage. */
export function createBrowserJobStorage(): JobStorage {
  const setUrl = (jobId: string | null): void => {
    const url = new URL(location.href);
    if (jobId === null) url.searchParams.delete(URL_PARAM);
    else url.searchParams.set(URL_PARAM, jobId);
    history.replaceState(history.state, '', url);
  };
  return {
    load() {
      const fromUrl = new URL(location.href).searchParams.get(URL_PARAM);
      const id = fromUrl ?? safeSession(() => sessionStorage.getItem(SESSION_KEY)) ?? null;
      return id !== null && JOB_ID.test(id) ? id : null;
    },
    save(jobId) {
      safeSession(() => sessionStorage.setItem(SESSION_KEY, jobId));
      setUrl(jobId);
    },
    clear() {
      safeSession(() => sessionStorage.removeItem(SESSION_KEY));
      setUrl(null);
    },
  };
}

/** Storage can throw (disabled, quota, sandboxed iframe); the run still works without it. */
function safeSession<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/** An in-memory JobStorage for tests. */
export function createMemoryJobStorage(initial: string | null = null): JobStorage {
  let jobId = initial;
  return {
    load: () => jobId,
    save: (id) => {
      jobId = id;
    },
    clear: () => {
      jobId = null;
    },
  };
}
