/**
 * Incremental and atomic backups: a full backup plus incrementals chain
 * their log generations and restore to the state at the last incremental;
 * each backup deletes from the instance exactly the generations below
 * min(checkpoint, high + 1), never one the next incremental needs; an atomic
 * full backup replaces the previous one in place, and an incremental after
 * it goes into the same set (<dir>/new).
 */
import { expect } from 'chai';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { JET_bitBackupAtomic, JET_bitBackupIncremental, type BackupResult } from '../../src/backup/options.js';
import type { Database } from '../../src/engine/database.js';
import { Instance } from '../../src/engine/instance.js';
import type { InstanceParams } from '../../src/engine/params.js';
import { archivedLogName } from '../../src/format/log-names.js';
import { BACKUP_PARAMS, Counter, preload, startWriters } from '../fixtures/backup-model.js';
import { archivedGenerations, commitMany, removeTmpDirs, restoreAndCheck, tmpDir, until } from './online-helpers.js';

const PRELOAD = 1000;

async function openLoaded(params: InstanceParams = BACKUP_PARAMS): Promise<{ inst: Instance; db: Database; c: Counter }> {
  const inst = await Instance.open(await tmpDir('incr-src-'), params);
  try {
    const db = await inst.openDatabase('main.edb', { create: true });
    await preload([db], PRELOAD);
    return { inst, db, c: new Counter() };
  } catch (e) {
    await inst.close();
    throw e;
  }
}

const range = (lo: number, hi: number) => Array.from({ length: Math.max(0, hi - lo + 1) }, (_, k) => lo + k);

/**
 * Back up with no writer running (and no checkpoint in flight), then check
 * the instance's log directory: the generations below min(checkpoint,
 * high + 1) are gone and reported in result.truncated, all others are still
 * there (high + 1, where the next incremental starts, included).
 */
async function quietBackup(inst: Instance, dir: string, grbit: number): Promise<BackupResult> {
  await inst.checkpoint(); // settles the checkpoint, and gives the truncation something to delete
  const logDir = inst.params.logFilePath;
  const before = await archivedGenerations(logDir);
  const currentBefore = (await inst.getLogInfo()).currentGeneration;
  const r = await inst.backup(dir, grbit);
  const { high } = r.generations!;
  expect(high, 'the backup finished the generation current when it began').to.equal(currentBefore);
  const info = await inst.getLogInfo();
  const limit = Math.min(info.checkpoint.gen, high + 1);
  const existed = [...before, ...range(currentBefore, high)];
  expect(r.truncated, `${r.type} backup: generations truncated (below ${limit})`).to.deep.equal(existed.filter((g) => g < limit));
  expect(await archivedGenerations(logDir), `${r.type} backup: generations left`).to.deep.equal(existed.filter((g) => g >= limit));
  expect(info.currentGeneration).to.equal(high + 1);
  return r;
}

function expectSetHoldsLogs(files: string[], lo: number, hi: number): void {
  expect(files, `the set holds generations ${lo}..${hi}`).to.include.members(range(lo, hi).map((g) => archivedLogName('edb', g)));
}

describe('backup: incremental and atomic backups', function () {
  this.timeout(120_000);
  afterEach(removeTmpDirs);

  it('full, writes, incremental, writes, incremental: generations chain, logs below min(checkpoint, high + 1) are deleted, and the set restores to exactly the state at each incremental', async () => {
    const { inst, db, c } = await openLoaded();
    const bdir = await tmpDir('incr-bk-');
    const expected = (n: number) => ({ dbNames: ['main.edb'], preloadRows: PRELOAD, min: n, max: n, params: BACKUP_PARAMS });
    try {
      await commitMany(inst, [db], c, 60, PRELOAD);
      const full = await quietBackup(inst, bdir, 0);
      expect(full.type).to.equal('full');
      expect(full.truncated, 'the full backup deleted the preload\'s generations').to.not.deep.equal([]);
      let prev = full;
      for (const round of [1, 2]) {
        await commitMany(inst, [db], c, 100, PRELOAD);
        const inc = await quietBackup(inst, bdir, JET_bitBackupIncremental);
        expect(inc.type).to.equal('incremental');
        expect(inc.path).to.equal(bdir);
        expect(inc.databases, 'an incremental copies no database').to.deep.equal([]);
        expect(inc.generations!.low, `incremental ${round} starts right after the previous backup`).to.equal(prev.generations!.high + 1);
        expect(inc.logs.map((l) => l.generation)).to.deep.equal(range(inc.generations!.low, inc.generations!.high));
        expect(inc.truncated, `incremental ${round} deleted the generations it copied below the checkpoint`).to.not.deep.equal([]);
        expectSetHoldsLogs(await readdir(bdir), full.generations!.low, inc.generations!.high);
        const { p, restored } = await restoreAndCheck(bdir, expected(c.begun), `after incremental ${round}`);
        expect(p).to.equal(c.begun);
        expect(restored.generations).to.deep.equal({ low: full.generations!.low, high: inc.generations!.high });
        prev = inc;
      }
    } finally {
      await inst.close();
    }
  });

  it('incrementals taken while writers commit each restore to one commit point between that incremental\'s start and end, and keep high + 1 when the checkpoint has passed it', async () => {
    // checkpointDepth 0: every roll checkpoints, so during the (paced) log copy the checkpoint runs past high + 1.
    const params: InstanceParams = { ...BACKUP_PARAMS, checkpointDepth: 0 };
    const { inst, db, c } = await openLoaded(params);
    const bdir = await tmpDir('incr-busy-bk-');
    let checkpointPassedHigh = false;
    try {
      await commitMany(inst, [db], c, 40, PRELOAD);
      let prev = await inst.backup(bdir, 0);
      for (const round of [1, 2]) {
        const w = startWriters(inst, [db], c, 3, PRELOAD, 5);
        let min: number;
        let max: number;
        let inc: BackupResult;
        try {
          const base = c.begun;
          await until(() => c.begun >= base + 100, 'writes between backups');
          min = c.maxAcked;
          inc = await inst.backup(bdir, JET_bitBackupIncremental, undefined, { rateBytesPerSec: 1024 * 1024 });
          max = c.begun;
          const { high } = inc.generations!;
          const info = await inst.getLogInfo();
          if (info.checkpoint.gen > high + 1) checkpointPassedHigh = true;
          for (const g of inc.truncated) expect(g, `incremental ${round}: a truncated generation`).to.be.at.most(high);
          const left = await archivedGenerations(inst.params.logFilePath);
          expect(info.currentGeneration === high + 1 || left.includes(high + 1), `incremental ${round}: generation ${high + 1}, which the next incremental needs, is kept`).to.equal(true);
        } finally {
          await w.stop();
        }
        expect(inc.generations!.low, `incremental ${round} chains to the previous backup`).to.equal(prev.generations!.high + 1);
        await restoreAndCheck(bdir, { dbNames: ['main.edb'], preloadRows: PRELOAD, min, max, params }, `incremental ${round} under writers`);
        prev = inc;
      }
      expect(checkpointPassedHigh, 'in some round the checkpoint had moved past high + 1 when the incremental truncated').to.equal(true);
    } finally {
      await inst.close();
    }
  });

  it('an atomic full backup replaces the previous one in place: new/ holds the newest, temp/ and old/ are gone, it restores to the newest state, and an incremental after it goes into new/', async () => {
    const { inst, db, c } = await openLoaded();
    const bdir = await tmpDir('incr-atomic-bk-');
    const newDir = path.join(bdir, 'new');
    const exactly = () => ({ dbNames: ['main.edb'], preloadRows: PRELOAD, min: c.begun, max: c.begun, params: BACKUP_PARAMS });
    try {
      await commitMany(inst, [db], c, 30, PRELOAD);
      const first = await inst.backup(bdir, JET_bitBackupAtomic);
      expect(first.path).to.equal(newDir);
      expect(await readdir(bdir)).to.deep.equal(['new']);
      const firstAt = c.begun;

      await commitMany(inst, [db], c, 60, PRELOAD);
      // The leftovers of an earlier attempt that crashed while building its set.
      await mkdir(path.join(bdir, 'temp'));
      await writeFile(path.join(bdir, 'temp', 'main.edb'), 'half a backup');
      const second = await inst.backup(bdir, JET_bitBackupAtomic);
      expect(second.path).to.equal(newDir);
      expect(await readdir(bdir), 'only new/ is left: temp/ and old/ are gone').to.deep.equal(['new']);
      expectSetHoldsLogs(await readdir(newDir), second.generations!.low, second.generations!.high);
      const { p } = await restoreAndCheck(bdir, exactly(), 'the second atomic full backup');
      expect(p, 'the newest backup, not the first').to.be.above(firstAt);

      await commitMany(inst, [db], c, 60, PRELOAD);
      const inc = await inst.backup(bdir, JET_bitBackupIncremental);
      expect(inc.path).to.equal(newDir);
      expect(inc.generations!.low).to.equal(second.generations!.high + 1);
      expect(await readdir(bdir)).to.deep.equal(['new']);
      expectSetHoldsLogs(await readdir(newDir), second.generations!.low, inc.generations!.high);
      await restoreAndCheck(bdir, exactly(), 'the incremental after the atomic full backup');
    } finally {
      await inst.close();
    }
  });
});
