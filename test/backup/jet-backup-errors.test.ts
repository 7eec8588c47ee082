/**
 * JetBackup(szBackupPath, grbit, pfnStatus), the seed's form: it acts on the
 * single open instance and resolves to JET_errSuccess (0) or the negative
 * JET_err number, never throwing for engine errors.
 */
import { expect } from 'chai';
import { copyFile, readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { JetBackup } from '../../src/backup/jet-backup.js';
import { JET_bitBackupIncremental, JET_snpBackup, JET_sntBegin, JET_sntComplete } from '../../src/backup/options.js';
import { Instance } from '../../src/engine/instance.js';
import { liveInstances } from '../../src/engine/instance-registry.js';
import { FaultyFileSystem } from '../../src/io/fault-injection.js';
import { nodeFileSystem } from '../../src/io/file-system.js';
import { expectJetError } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';
import {
  SMALL, closeOpened, expectSourceUntouched, fill, listTree, openInstance, restoredRows, rowsOf, sourceState, track,
} from './failure-helpers.js';

describe('backup: JetBackup, the seed form', function () {
  this.timeout(30_000);
  afterEach(async () => {
    await closeOpened();
    await removeTmpDirs();
  });

  it('with no instance open it resolves to JET_errNotInitialized (-1029)', async () => {
    expect(liveInstances(), 'another test left an instance open').to.deep.equal([]);
    const bk = await tmpDir();
    expect(await JetBackup(bk, 0, null)).to.equal(-1029);
    expect(await JetBackup(null, 0)).to.equal(-1029);
    expect(await listTree(bk)).to.deep.equal([]);
  });

  it('with two instances open it resolves to JET_errRunningInMultiInstanceMode (-1216)', async () => {
    const a = await openInstance();
    const b = await openInstance();
    await fill(a.db, 20);
    const before = [await sourceState(a.inst), await sourceState(b.inst)];
    const bk = await tmpDir();
    expect(await JetBackup(bk, 0)).to.equal(-1216);
    expect(await JetBackup(bk, JET_bitBackupIncremental)).to.equal(-1216);
    expect(await listTree(bk)).to.deep.equal([]);
    await expectSourceUntouched(a.inst, before[0]!);
    await expectSourceUntouched(b.inst, before[1]!);
  });

  it('it resolves to 0 on success, calls the status callback, and resolves to the negative error (never throws) on failure', async () => {
    const { db } = await openInstance();
    await fill(db, 100);
    const bk = await tmpDir();
    const calls: [number, number][] = [];
    expect(await JetBackup(bk, 0, (snp, snt) => { calls.push([snp, snt]); })).to.equal(0);
    expect(db.file.header.bkinfoFullPrev.genLow, 'the backup is recorded in the header').to.be.greaterThan(0);
    expect(calls[0]).to.deep.equal([JET_snpBackup, JET_sntBegin]);
    expect(calls[calls.length - 1]).to.deep.equal([JET_snpBackup, JET_sntComplete]);
    expect(await restoredRows(bk)).to.deep.equal(await rowsOf(db));
    expect(await JetBackup(bk, 0)).to.equal(-504);
    expect(await JetBackup(bk, 0x5)).to.equal(-900);
    expect(await JetBackup('', 0)).to.equal(-1003);
    expect(await JetBackup(path.join(bk, 'missing'), 0)).to.equal(-1023);
    expect(await JetBackup(bk, 0, 'x' as never)).to.equal(-1003);
    await fill(db, 20, 'inc');
    expect(await JetBackup(bk, JET_bitBackupIncremental)).to.equal(0);
    expect(await restoredRows(bk)).to.deep.equal(await rowsOf(db));
    expect(await JetBackup(await tmpDir(), 0, () => { throw new Error('callback'); })).to.equal(-1750);
  });

  it('while Instance.open is still recovering a dirty directory it resolves to JET_errBackupNotAllowedYet (-523)', async () => {
    // A copy of a running instance's files is a directory that needs crash recovery.
    const src = await openInstance();
    await fill(src.db, 150);
    await src.db.put('t', 'last', 'durable');
    const expected = await rowsOf(src.db);
    const copy = await tmpDir('backup-dirty-');
    for (const n of await readdir(src.dir)) {
      if (/\.(edb|log|chk)$/.test(n)) await copyFile(path.join(src.dir, n), path.join(copy, n));
    }
    await src.inst.close();
    // Slow the reopen down so that recovery is surely still running when JetBackup is called.
    const io = new FaultyFileSystem(nodeFileSystem).fail({ op: 'open', path: (p) => p.endsWith('.edb'), delayMs: 300 });
    const opening = Instance.open(copy, { ...SMALL, io });
    const t0 = Date.now();
    while (liveInstances().length === 0 && Date.now() - t0 < 5000) await tick();
    expect(liveInstances().map((i) => i.state)).to.deep.equal(['initializing']);
    const bk = await tmpDir();
    expect(await JetBackup(bk, 0)).to.equal(-523);
    await expectJetError((liveInstances()[0] as Instance).backup(bk, 0), 'JET_errBackupNotAllowedYet');
    const inst = track(await opening);
    expect(inst.recovery?.transactionsRedone ?? 0, 'the copy needed recovery').to.be.greaterThan(0);
    expect(await listTree(bk)).to.deep.equal([]);
    const db = await inst.openDatabase('main.edb');
    expect(await rowsOf(db)).to.deep.equal(expected);
    expect(await JetBackup(bk, 0)).to.equal(0);
    expect(await restoredRows(bk)).to.deep.equal(expected);
    expect((await stat(path.join(bk, 'esebackup.manifest'))).size).to.be.greaterThan(0);
  });
});
