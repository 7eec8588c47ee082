/**
 * Regression test (found in review; fixed): the atomic commit removes <dir>/old first. After a swap that was
 * cut off between its two renames, old/ holds the only complete set (findSet
 * and restore use it). The next atomic backup's commit deletes it before its
 * own set is in place: a failure of the rename temp -> new (or a crash in
 * that window) leaves no restorable backup at all, though "if it fails, the
 * previous backup is untouched and still restorable".
 */
import { expect } from 'chai';
import { rename } from 'node:fs/promises';
import * as path from 'node:path';
import { findSet } from '../../src/backup/destination.js';
import { JET_bitBackupAtomic } from '../../src/backup/options.js';
import { Instance } from '../../src/engine/instance.js';
import { nodeFileSystem, type FileSystem } from '../../src/io/file-system.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

describe('atomic backup over a set left in old/', function () {
  this.timeout(60_000);
  afterEach(removeTmpDirs);

  it('a failed atomic backup keeps the previous set', async () => {
    let failSwap = false;
    const io: FileSystem = {
      ...nodeFileSystem,
      async rename(from, to) {
        if (failSwap && to.endsWith(`${path.sep}new`)) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
        return nodeFileSystem.rename(from, to);
      },
    };
    const inst = await Instance.open(await tmpDir('review-atomic-'), { logFileSize: 64 * 1024, pageSize: 4096, io });
    try {
      const db = await inst.openDatabase('main.edb', { create: true });
      await db.put('t', 'k', 'v');
      const dir = await tmpDir('review-atomic-bk-');
      await inst.backup(dir, JET_bitBackupAtomic);
      // What a crash between "new -> old" and "temp -> new" leaves behind.
      await rename(path.join(dir, 'new'), path.join(dir, 'old'));
      expect(await findSet(nodeFileSystem, dir), 'the previous set, in old/').to.equal(path.join(dir, 'old'));

      await db.put('t', 'k2', 'v2');
      failSwap = true;
      await inst.backup(dir, JET_bitBackupAtomic).catch(() => undefined);
      failSwap = false;
      expect(await findSet(nodeFileSystem, dir), 'a complete set after the failed backup').to.not.equal(undefined);
    } finally {
      await inst.close();
    }
  });
});
