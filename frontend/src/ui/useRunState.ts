import { useSyncExternalStore } from 'react';
import type { RunController } from '../run/RunController';
import type { RunState } from '../run/runState';

/** The controller's state, re-rendered at most once per animation frame while output streams. */
export function useRunState(controller: RunController): RunState {
  return useSyncExternalStore(controller.subscribe, controller.getState);
}
