/**
 * The states of an instance, and the JetError an operation gets in each.
 *
 *   initializing --open done--> running --close()--> terminating --> closed
 *   running --stopService()--> stopped --close()--> ...
 *   running --log write failure--> unavailable --close()--> closed (databases stay dirty)
 *   restoring is reserved for restore.
 */
import { JetError } from '../errors.js';

export type InstanceState = 'initializing' | 'running' | 'terminating' | 'stopped' | 'unavailable' | 'restoring' | 'closed';

/** Why an operation cannot run in `state` (every state but running). */
export function stateError(state: Exclude<InstanceState, 'running'>, dir: string, fatal: JetError | null): JetError {
  switch (state) {
    case 'initializing': return new JetError('JET_errNotInitialized', `instance ${dir} is still initializing`);
    case 'terminating': return new JetError('JET_errTermInProgress', `instance ${dir} is shutting down`);
    case 'stopped': return new JetError('JET_errClientRequestToStopJetService', `instance ${dir} was stopped`);
    case 'unavailable':
      return new JetError('JET_errInstanceUnavailable', `instance ${dir} is unusable after a fatal error: ${fatal?.message ?? ''}`, { cause: fatal });
    case 'restoring': return new JetError('JET_errRestoreInProgress', `instance ${dir} is being restored`);
    case 'closed': return new JetError('JET_errNotInitialized', `instance ${dir} is closed`);
  }
}
