/**
 * Regression test (found in review; fixed): recovery keys the pages it holds for writing (`pending`) and the
 * prefetched pages by `${dbid}:${pgno}`. A dbid means another database after
 * an ATTACH that reassigns it (retired), but pending still holds the old
 * database's pages under the same keys: redo of the new database's records
 * then starts from the OTHER database's page image (and the old database's
 * redone page is dropped from pending, never written).
 *
 * Restore replays from the full backup's checkpoint through every
 * incremental, so a set whose instance was restarted between the full and an
 * incremental, with its databases attached in another order, hits this.
 */
import { expect } from 'chai';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { JET_bitBackupIncremental } from '../../src/backup/options.js';
import { Instance } from '../../src/engine/instance.js';
import { restore } from '../../src/restore/restore.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

const P = { logFileSize: 256 * 1024, pageSize: 4096 };

describe('replay across a restart that reassigned dbids', function () {
  this.timeout(60_000);
  afterEach(removeTmpDirs);

  it('full, restart with the databases attached in the other order, incremental: restores', async () => {
    const dir = await tmpDir('review-dbid-src-');
    const set = await tmpDir('review-dbid-set-');
    let inst = await Instance.open(dir, P);
    let a = await inst.openDatabase('a.edb', { create: true }); // dbid 1
    let b = await inst.openDatabase('b.edb', { create: true }); // dbid 2
    for (let i = 0; i < 40; i++) { await a.put('t', `k${i}`, `a1-${i}`); await b.put('t', `k${i}`, `b1-${i}`); }
    await inst.backup(set);
    for (let i = 0; i < 40; i++) { await a.put('t', `k${i}`, `a2-${i}`); await b.put('t', `k${i}`, `b2-${i}`); }
    await inst.close();

    inst = await Instance.open(dir, P);
    b = await inst.openDatabase('b.edb'); // now dbid 1
    a = await inst.openDatabase('a.edb'); // now dbid 2
    for (let i = 0; i < 40; i++) { await a.put('t', `k${i}`, `a3-${i}`); await b.put('t', `k${i}`, `b3-${i}`); }
    await inst.backup(set, JET_bitBackupIncremental);
    await inst.close();

    const dest = path.join(await tmpDir('review-dbid-dst-'), 'r');
    await mkdir(dest);
    const outcome = await restore(set, dest).then(() => 'restored', (e: Error) => `restore failed: ${e.message}`);
    expect(outcome).to.equal('restored');
    const r = await Instance.open(dest, P);
    try {
      const ra = await r.openDatabase('a.edb');
      const rb = await r.openDatabase('b.edb');
      expect((await ra.get('t', 'k7'))?.toString()).to.equal('a3-7');
      expect((await rb.get('t', 'k7'))?.toString()).to.equal('b3-7');
    } finally {
      await r.close();
    }
  });
});
