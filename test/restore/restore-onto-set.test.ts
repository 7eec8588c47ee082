/**
 * Regression test (found in review; fixed): restore(set, set, { overwrite: true }) -- the destination is the
 * backup set itself. prepareDest deletes the "instance files" there (*.edb,
 * edb*.log) before copying, i.e. the set's own copies; the copy then fails
 * and the set is left with a manifest and nothing else.
 */
import { expect } from 'chai';
import { Instance } from '../../src/engine/instance.js';
import { restore } from '../../src/restore/restore.js';
import { verify } from '../../src/restore/verify.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

describe('restoring a set onto itself', function () {
  this.timeout(60_000);
  afterEach(removeTmpDirs);

  it('is refused and leaves the set intact', async () => {
    const inst = await Instance.open(await tmpDir('review-self-'), { logFileSize: 64 * 1024, pageSize: 4096 });
    const db = await inst.openDatabase('main.edb', { create: true });
    await db.put('t', 'k', 'v');
    const set = await tmpDir('review-self-set-');
    await inst.backup(set);
    await inst.close();
    await restore(set, set, { overwrite: true }).catch(() => undefined);
    expect((await verify(set)).ok, 'the backup set still verifies').to.equal(true);
  });
});
