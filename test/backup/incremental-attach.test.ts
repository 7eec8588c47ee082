/**
 * Regression test (found in review; fixed): an incremental backup checks the attached databases against the
 * set's full backup once, at its start (backup.ts incrementalBackup: `dbs =
 * inst.databases()`), and does not hold attaches the way a full backup does.
 * A database attached while the incremental runs (before its log roll) puts
 * its ATTACH record and page records into the generations the incremental
 * copies, though its file is not in the set: the set verifies clean and
 * looks complete, but restore fails (or restores without the database).
 */
import { expect } from 'chai';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { JET_bitBackupIncremental } from '../../src/backup/options.js';
import { Instance } from '../../src/engine/instance.js';
import { MANIFEST_NAME } from '../../src/format/backup-manifest.js';
import { nodeFileSystem, type FileSystem } from '../../src/io/file-system.js';
import { restore } from '../../src/restore/restore.js';
import { verify } from '../../src/restore/verify.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

const P = { logFileSize: 64 * 1024, pageSize: 4096 };

describe('a database attached during an incremental backup', function () {
  this.timeout(60_000);
  afterEach(removeTmpDirs);

  it('gives a set that restores (or the incremental is refused)', async () => {
    const dir = await tmpDir('review-inc-src-');
    let inst = await Instance.open(dir, P);
    const a0 = await inst.openDatabase('a.edb', { create: true });
    const b0 = await inst.openDatabase('b.edb', { create: true });
    for (let i = 0; i < 50; i++) { await a0.put('t', `a${i}`, `v${i}`); await b0.put('t', `b${i}`, `v${i}`); }
    await inst.close();

    // Reading the set's manifest is slow (a network share, say): the window in which the attach happens.
    let slow = false;
    const io: FileSystem = {
      ...nodeFileSystem,
      async readFile(p) { if (slow && p.endsWith(MANIFEST_NAME)) await sleep(300); return nodeFileSystem.readFile(p); },
    };
    inst = await Instance.open(dir, { ...P, io });
    const a = await inst.openDatabase('a.edb');
    const set = await tmpDir('review-inc-set-');
    await inst.backup(set);                    // full: a.edb only (b.edb is not attached)
    for (let i = 0; i < 20; i++) await a.put('t', `a2-${i}`, 'x');

    slow = true;
    const incremental = inst.backup(set, JET_bitBackupIncremental);
    const attachAndWrite = (async () => {
      const b = await inst.openDatabase('b.edb');
      for (let i = 0; i < 20; i++) await b.put('t', `b2-${i}`, 'y');
    })();
    const [inc] = await Promise.allSettled([incremental, attachAndWrite]);
    slow = false;
    await inst.close();
    if (inc.status === 'rejected') return; // refusing is a correct outcome

    const report = await verify(set);
    expect(report.ok, 'the set verifies').to.equal(true);
    const dest = path.join(await tmpDir('review-inc-dst-'), 'r');
    await mkdir(dest);
    const outcome = await restore(set, dest).then(() => 'restored', (e: Error) => `restore failed: ${e.message}`);
    expect(outcome).to.equal('restored');
  });
});
