/**
 * JetBackup, the seed's form: back up "the" instance of this process (ESE's
 * one-instance mode) and resolve to a JET_err number instead of throwing.
 *
 *   no instance open or opening        JET_errNotInitialized
 *   more than one                      JET_errRunningInMultiInstanceMode (use instance.backup)
 *   the instance still recovering      JET_errBackupNotAllowedYet
 *   a restore running                  JET_errRestoreInProgress
 *   otherwise                          instance.backup(...)'s error number, or JET_errSuccess
 */
import { JetError, JET_errSuccess } from '../errors.js';
import type { Instance } from '../engine/instance.js';
import { liveInstances } from '../engine/instance-registry.js';
import type { StatusCallback } from './options.js';

export async function JetBackup(szBackupPath: string | null, grbit: number, pfnStatus?: StatusCallback | null): Promise<number> {
  try {
    const live = liveInstances();
    if (live.length === 0) throw new JetError('JET_errNotInitialized', 'JetBackup: no instance is open in this process');
    if (live.length > 1) {
      throw new JetError('JET_errRunningInMultiInstanceMode',
        `JetBackup: ${live.length} instances are open in this process; call backup() on the one to back up`);
    }
    if (live[0]!.state === 'restoring') throw new JetError('JET_errRestoreInProgress', `JetBackup: ${live[0]!.params.dir} is being restored`);
    await (live[0] as Instance).backup(szBackupPath, grbit, pfnStatus ?? undefined);
    return JET_errSuccess;
  } catch (e) {
    if (e instanceof JetError) return e.err;
    throw e; // not an engine error: a bug, which must not be flattened into a number
  }
}
