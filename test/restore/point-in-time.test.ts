/**
 * Point-in-time restore (`upTo`): a set built as a full backup and three
 * incrementals, taken with no writer running so the committed state at the
 * end of each backup's last generation is known exactly. Restoring up to a
 * generation gives exactly the commits whose records end in it or before;
 * up to a Date, the generations finished by then.
 */
import { expect } from 'chai';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { JET_bitBackupIncremental } from '../../src/backup/options.js';
import { BackupPool } from '../../src/backup/pool.js';
import { Instance } from '../../src/engine/instance.js';
import type { Manifest } from '../../src/format/backup-manifest.js';
import { restore } from '../../src/restore/restore.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';
import { closeOpened, track } from '../backup/failure-helpers.js';
import {
  SMALL, Counter, commitMany, expectRefused, expectRestoredState, lastOf, loadedSource, readSetManifest, restoreAndExpect,
} from './restore-helpers.js';

const ROWS = 800;

interface Point {
  type: 'full' | 'incremental';
  /** Transactions committed when the backup began (none ran during it). */
  p: number;
  /** The backup's last generation. */
  high: number;
  /** Taken right after the backup resolved. */
  after: Date;
}

describe('restore: point in time (upTo)', function () {
  this.timeout(60_000);
  let pool: BackupPool;
  let bdir: string;
  let m: Manifest;
  const points: Point[] = [];

  before(async () => {
    pool = new BackupPool();
    const { inst, db, c } = await loadedSource(ROWS);
    bdir = await tmpDir('pit-set-');
    await commitMany(db, c, 30); // no checkpoint first: the full backup spans several generations
    for (const type of ['full', 'incremental', 'incremental', 'incremental'] as const) {
      if (type === 'incremental') await commitMany(db, c, 100);
      const p = c.begun;
      const r = await inst.backup(bdir, type === 'full' ? 0 : JET_bitBackupIncremental, undefined, { pool });
      points.push({ type, p, high: r.generations!.high, after: new Date() });
      await sleep(5); // what comes next is written strictly after `after`
    }
    await inst.close();
    m = await readSetManifest(bdir);
  });
  after(async () => {
    await pool.close();
    await closeOpened();
    await removeTmpDirs();
  });
  afterEach(closeOpened);

  it('upTo the last generation of each backup restores exactly the state that backup recorded', async () => {
    expect(m.backups.map((b) => b.genHigh)).to.deep.equal(points.map((x) => x.high));
    for (const [k, pt] of points.entries()) {
      const what = `upTo ${pt.high} (end of backup ${k + 1}, ${pt.type})`;
      const { p, result } = await restoreAndExpect(bdir, ROWS, pt.p, pt.p, what, { pool, upTo: pt.high });
      expect(p, what).to.equal(pt.p);
      expect(result.generations, what).to.deep.equal({ low: m.logs[0]!.generation, high: pt.high });
    }
  });

  it('upTo a generation between two backups restores exactly a prefix of the commits, between the two backups\' states and never going backwards', async () => {
    const first = points[0]!.high;
    const last = points[points.length - 1]!.high;
    const between = Array.from({ length: last - first - 1 }, (_, k) => first + 1 + k).filter((g) => !points.some((x) => x.high === g));
    expect(between.length, 'generations that end no backup').to.be.at.least(3);
    // At most six of them, spread over the set.
    const picked = between.filter((_, k) => k % Math.ceil(between.length / 6) === 0);
    let prev = 0;
    for (const g of picked) {
      const lo = [...points].reverse().find((x) => x.high < g)!;
      const hi = points.find((x) => x.high > g)!;
      const { p } = await restoreAndExpect(bdir, ROWS, lo.p, hi.p, `upTo generation ${g}`, { pool, upTo: g });
      expect(p, `upTo ${g}: commit point never goes back as the generation grows`).to.be.at.least(prev);
      prev = p;
    }
    expect(prev, 'some intermediate generation holds commits past the previous backup').to.be.greaterThan(points[0]!.p);
  });

  it('upTo below the full backup\'s last generation: JET_errEndingRestoreLogTooLow, nothing written', async () => {
    const full = m.backups[0]!;
    expect(full.genHigh, 'the full backup spans more than one generation').to.be.greaterThan(full.genLow);
    for (const upTo of [full.genLow, full.genHigh - 1]) {
      const e = await expectRefused(bdir, 'JET_errEndingRestoreLogTooLow', pool, { upTo });
      expect(e.detail).to.include(`generation ${full.genHigh}`);
    }
  });

  it('upTo past the set\'s last generation, or not a generation at all: JET_errInvalidParameter, nothing written', async () => {
    const last = m.logs[m.logs.length - 1]!.generation;
    const e = await expectRefused(bdir, 'JET_errInvalidParameter', pool, { upTo: last + 1 });
    expect(e.detail).to.include(`${last + 1}`).and.to.include(`${last}`);
    for (const upTo of [0, 2.5, -1, new Date(Number.NaN)]) await expectRefused(bdir, 'JET_errInvalidParameter', pool, { upTo });
  });

  it('upTo a Date taken right after an incremental finished restores at least that incremental\'s state and nothing written after the Date', async () => {
    for (const [k, pt] of points.entries()) {
      if (pt.type !== 'incremental') continue;
      // Everything committed after `after` is transaction p + 1 or later (the next round of commits).
      const { p, result } = await restoreAndExpect(bdir, ROWS, pt.p, pt.p, `upTo ${pt.after.toISOString()} (after backup ${k + 1})`, { pool, upTo: pt.after });
      expect(p).to.equal(pt.p);
      expect(result.generations.high).to.be.at.least(pt.high);
    }
  });

  it('upTo a Date right after the full backup restores the full backup\'s state; a Date before it finished is JET_errEndingRestoreLogTooLow', async () => {
    const full = points[0]!;
    const { p } = await restoreAndExpect(bdir, ROWS, full.p, full.p, 'upTo right after the full backup', { pool, upTo: full.after });
    expect(p).to.equal(full.p);
    await expectRefused(bdir, 'JET_errEndingRestoreLogTooLow', pool, { upTo: new Date(m.backups[0]!.startedAt - 1) });
  });

  it('an instance restored to an earlier point opens with nothing to redo and goes on committing and backing up from there', async () => {
    const pt = points[1]!;
    const dest = path.join(await tmpDir('pit-fork-'), 'inst');
    await restore(bdir, dest, { createPathIfNotExist: true, pool, upTo: pt.high });
    const inst = track(await Instance.open(dest, SMALL));
    expect(inst.recovery?.transactionsRedone ?? 0).to.equal(0);
    const db = await inst.openDatabase('main.edb');
    expect(await lastOf(db)).to.equal(pt.p);
    const c = new Counter(ROWS);
    c.begun = pt.p;
    await commitMany(db, c, 50);
    const b2 = await tmpDir('pit-fork-bk-');
    await inst.checkpoint();
    await inst.backup(b2, 0, undefined, { pool });
    await inst.close();
    await expectRestoredState(dest, ROWS, c.begun, c.begun, 'the restored instance after more commits');
    await restoreAndExpect(b2, ROWS, c.begun, c.begun, 'a backup of the restored instance', { pool });
  });
});
