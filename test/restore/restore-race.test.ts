/**
 * Restore verifies the whole set, then copies it. A set replaced in between
 * (an atomic backup swapping into the same directory) must not be restored
 * half old, half new: each copied log is checked against its manifest CRC and
 * each database copy's header against the set's full backup.
 */
import { expect } from 'chai';
import { copyFile, open, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { Instance } from '../../src/engine/instance.js';
import { FaultyFileSystem } from '../../src/io/fault-injection.js';
import { nodeFileSystem } from '../../src/io/file-system.js';
import { restore } from '../../src/restore/restore.js';
import { expectJetError } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

describe('restore: a set that changes after it was verified', function () {
  this.timeout(60_000);
  afterEach(removeTmpDirs);

  it('a log rewritten between the check and its copy fails the restore with JET_errLogReadVerifyFailure, leaving the destination empty', async () => {
    const dir = await tmpDir('race-');
    const set = await tmpDir('race-set-');
    const inst = await Instance.open(dir, { logFileSize: 64 * 1024, pageSize: 4096 });
    const db = await inst.openDatabase('main.edb', { create: true });
    for (let i = 0; i < 300; i++) await db.put('t', `k${i}`, `v${i}`, { durable: false });
    const r = await inst.backup(set);
    await inst.close();
    const log = path.join(set, r.logs[0]!.name);
    const io = new FaultyFileSystem(nodeFileSystem);
    // The copy opens the log after verification read it: hold that open while the file changes.
    io.fail({ op: 'open', path: (p) => p === log, delayMs: 300, times: 1 });
    const dest = await tmpDir('race-out-');
    const restoring = restore(set, dest, { io });
    setTimeout(() => {
      void (async () => {
        const fh = await open(log, 'r+');
        await fh.write(Buffer.from([0xde, 0xad]), 0, 2, 4096 + 40);
        await fh.close();
      })();
    }, 100);
    const e = await expectJetError(restoring, 'JET_errLogReadVerifyFailure');
    expect(e.message).to.include(r.logs[0]!.name);
    expect(await readdir(dest)).to.deep.equal([]);
  });

  it('a database copy replaced by a valid one from a later backup fails the restore with JET_errDatabasePatchFileMismatch', async () => {
    const dir = await tmpDir('race-db-');
    const [set, later] = [await tmpDir('race-db-set-'), await tmpDir('race-db-later-')];
    const inst = await Instance.open(dir, { logFileSize: 64 * 1024, pageSize: 4096 });
    const db = await inst.openDatabase('main.edb', { create: true });
    for (let i = 0; i < 300; i++) await db.put('t', `k${i}`, `v${i}`, { durable: false });
    await inst.backup(set);
    for (let i = 0; i < 300; i++) await db.put('t', `x${i}`, `v${i}`, { durable: false });
    await inst.checkpoint();
    await inst.backup(later);
    await inst.close();
    const file = path.join(set, 'main.edb');
    const io = new FaultyFileSystem(nodeFileSystem);
    // Verification opens the copy twice (size, header); hold the restore's own open while it is replaced.
    io.fail({ op: 'open', path: (p) => p === file, after: 2, times: 1, delayMs: 300 });
    const dest = await tmpDir('race-db-out-');
    const restoring = restore(set, dest, { io });
    setTimeout(() => { void copyFile(path.join(later, 'main.edb'), file); }, 100);
    await expectJetError(restoring, 'JET_errDatabasePatchFileMismatch');
    expect(await readdir(dest)).to.deep.equal([]);
  });
});
