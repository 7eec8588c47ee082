/**
 * Regression test (found in review; fixed): runBackup sets inst.backupActive = true and then emits
 * 'backup-begin' outside its try/finally. An 'event' listener that throws
 * there (EventEmitter rethrows into emit()) leaves backupActive true for
 * good: every later backup of the instance fails with JET_errBackupInProgress.
 */
import { expect } from 'chai';
import { Instance } from '../../src/engine/instance.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

describe('a throwing event listener at backup-begin', function () {
  this.timeout(30_000);
  afterEach(removeTmpDirs);

  it('does not wedge the instance in "backup in progress"', async () => {
    const inst = await Instance.open(await tmpDir('review-wedge-'), { logFileSize: 64 * 1024, pageSize: 4096 });
    try {
      const db = await inst.openDatabase('main.edb', { create: true });
      await db.put('t', 'k', 'v');
      let throwOnce = true;
      inst.on('event', (e: { type: string }) => {
        if (e.type === 'backup-begin' && throwOnce) { throwOnce = false; throw new Error('listener bug'); }
      });
      await inst.backup(await tmpDir('review-wedge-bk1-')).catch(() => undefined);
      const second = await inst.backup(await tmpDir('review-wedge-bk2-')).then(() => 'ok', (e: Error & { errName?: string }) => e.errName ?? e.message);
      expect(second).to.equal('ok');
    } finally {
      await inst.close();
    }
  });
});
