/**
 * What a backup tells its caller and the operator: the status callback's
 * sequence (JET_snpBackup: Begin, Progress with monotonic counts and the
 * page phase before the log phase, then Complete or Fail), and the
 * structured events (instance.on('event')) that are also appended to
 * <instanceDir>/edb.events.jsonl.
 */
import { expect } from 'chai';
import { open, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import {
  JET_bitBackupAtomic, JET_bitBackupIncremental, JET_snpBackup, JET_sntBegin, JET_sntComplete, JET_sntFail, JET_sntProgress,
  type BackupProgress, type BackupResult,
} from '../../src/backup/options.js';
import type { Instance, InstanceEvent } from '../../src/engine/instance.js';
import { pageOffset } from '../../src/format/page.js';
import { flipByte } from '../helpers/bytes.js';
import { expectJetError } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';
import { closeOpened, fill, listTree, openInstance } from './failure-helpers.js';

type Call = { snp: number; snt: number; p: BackupProgress | undefined };

function recorder(): { calls: Call[]; cb: (snp: number, snt: number, p?: BackupProgress) => void } {
  const calls: Call[] = [];
  return { calls, cb: (snp, snt, p) => { calls.push({ snp, snt, p: p && { ...p } }); } };
}

/** Begin first, Complete last, Progress between; counts never go down and never pass the total. */
function expectSuccessSequence(calls: Call[]): Call[] {
  expect(calls.length).to.be.at.least(2);
  expect(calls.every((c) => c.snp === JET_snpBackup), 'snp').to.equal(true);
  expect(calls[0]!.snt, 'first call').to.equal(JET_sntBegin);
  expect(calls[0]!.p?.cunitDone).to.equal(0);
  expect(calls[0]!.p?.cunitTotal).to.be.greaterThan(0);
  const last = calls[calls.length - 1]!;
  expect(last.snt, 'last call').to.equal(JET_sntComplete);
  expect(last.p?.cunitDone).to.equal(last.p?.cunitTotal);
  const middle = calls.slice(1, -1);
  expect(middle.map((c) => c.snt).filter((s) => s !== JET_sntProgress), 'only Progress between Begin and Complete').to.deep.equal([]);
  let done = -1;
  for (const c of calls) {
    expect(c.p?.cbStruct).to.equal(12);
    expect(c.p!.cunitDone, 'cunitDone never goes down').to.be.at.least(done);
    expect(c.p!.cunitDone, 'cunitDone <= cunitTotal').to.be.at.most(c.p!.cunitTotal);
    done = c.p!.cunitDone;
  }
  return middle;
}

/** The backup-related events, in order. */
function backupEvents(all: InstanceEvent[]): InstanceEvent[] {
  return all.filter((e) => e.type.startsWith('backup-') || e.type === 'truncate');
}

async function eventFileLines(inst: Instance): Promise<Record<string, unknown>[]> {
  const text = await readFile(path.join(inst.params.systemPath, 'edb.events.jsonl'), 'utf8');
  expect(text.endsWith('\n')).to.equal(true);
  return text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Each backup-file event names a file of the set with its size, and every file of the set but the manifest has one. */
async function expectFileEventsMatchSet(events: InstanceEvent[], r: BackupResult, kinds: string[]): Promise<void> {
  const files = events.filter((e) => e.type === 'backup-file');
  expect(files.map((e) => e.kind)).to.have.members(kinds);
  for (const f of files) {
    const size = (await stat(path.join(r.path!, String(f.name)))).size;
    expect(f.bytes, `size of ${String(f.name)}`).to.equal(size);
  }
  const inSet = (await listTree(r.path!)).filter((n) => n !== 'esebackup.manifest');
  const named = files.map((f) => String(f.name));
  if (r.type === 'full') expect(named).to.have.members(inSet);
  else expect(named).to.deep.equal(r.logs.map((l) => l.name));
}

describe('backup: status callback and events', function () {
  this.timeout(30_000);
  afterEach(async () => {
    await closeOpened();
    await removeTmpDirs();
  });

  describe('the status callback', () => {
    it('a full backup reports Begin, Progress for the pages and then the logs with counts that only grow, and Complete', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 300);
      await inst.checkpoint(); // pages on disk: there is a page phase
      await fill(db, 100, 'l');
      await inst.rollLog();
      const { calls, cb } = recorder();
      const r = await inst.backup(await tmpDir(), 0, cb);
      const progress = expectSuccessSequence(calls);
      const phases = progress.map((c) => c.p!.phase);
      expect(phases).to.include('pages');
      expect(phases).to.include('logs');
      expect(phases.lastIndexOf('pages'), 'every page Progress comes before the first log Progress').to.be.below(phases.indexOf('logs'));
      for (const c of progress) {
        if (c.p!.phase === 'pages') {
          expect(c.p!.file).to.equal('main.edb');
          expect(c.p!.pagesDone).to.be.within(1, c.p!.pagesTotal!);
          expect(c.p!.pagesTotal).to.equal(r.databases[0]!.pages);
        } else {
          expect(r.logs.map((l) => l.name)).to.include(c.p!.file);
        }
        expect(c.p!.pagesReread).to.equal(0);
      }
      // The last log's Progress is always sent, so the log phase ends at its full count.
      const lastLog = progress.filter((c) => c.p!.phase === 'logs').pop()!;
      expect(lastLog.p!.file).to.equal(r.logs[r.logs.length - 1]!.name);
      expect(lastLog.p!.cunitDone).to.equal(calls[calls.length - 1]!.p!.cunitDone);
    });

    it('an incremental backup reports Begin, log Progress only, and Complete', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 100);
      const bk = await tmpDir();
      await inst.backup(bk, JET_bitBackupAtomic);
      await fill(db, 150, 'i');
      await inst.rollLog();
      const { calls, cb } = recorder();
      const r = await inst.backup(bk, JET_bitBackupIncremental, cb);
      expect(r.logs.length).to.be.at.least(2);
      const progress = expectSuccessSequence(calls);
      expect(progress.length).to.be.at.least(1);
      expect(new Set(progress.map((c) => c.p!.phase))).to.deep.equal(new Set(['logs']));
      expect(progress[progress.length - 1]!.p!.file).to.equal(r.logs[r.logs.length - 1]!.name);
    });

    it('a backup that fails part-way ends its calls with Fail carrying the error, and never Complete', async () => {
      const { dir, inst, db } = await openInstance();
      await fill(db, 300);
      await inst.checkpoint();
      const fh = await open(path.join(dir, 'main.edb'), 'r+');
      const at = pageOffset(db.pageCount, 4096) + 50;
      const b = Buffer.alloc(1);
      await fh.read(b, 0, 1, at);
      await fh.write(flipByte(b, 0), 0, 1, at);
      await fh.close();
      const { calls, cb } = recorder();
      const e = await expectJetError(inst.backup(await tmpDir(), 0, cb, { retries: 1, retryDelayMs: 1 }), 'JET_errReadVerifyFailure');
      expect(calls[0]!.snt).to.equal(JET_sntBegin);
      const last = calls[calls.length - 1]!;
      expect(last.snp).to.equal(JET_snpBackup);
      expect(last.snt).to.equal(JET_sntFail);
      expect(last.p?.err).to.equal(e.err);
      expect(last.p?.errName).to.equal('JET_errReadVerifyFailure');
      expect(calls.filter((c) => c.snt === JET_sntFail)).to.have.length(1);
      expect(calls.some((c) => c.snt === JET_sntComplete)).to.equal(false);
    });

    it('a backup refused at its destination calls Fail with that error as its last call', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 50);
      const { calls, cb } = recorder();
      const e = await expectJetError(inst.backup(path.join(await tmpDir(), 'missing'), 0, cb), 'JET_errInvalidPath');
      expect(calls.length).to.be.at.least(1);
      expect(calls[calls.length - 1]!.snt).to.equal(JET_sntFail);
      expect(calls[calls.length - 1]!.p?.err).to.equal(e.err);
      expect(calls.some((c) => c.snt === JET_sntComplete)).to.equal(false);
    });

    it('a truncation (null path) reports Begin and Complete', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 100);
      await inst.rollLog();
      await inst.checkpoint();
      const { calls, cb } = recorder();
      const info = await inst.getLogInfo();
      const r = await inst.backup(null, 0, cb);
      expect(r.truncated).to.have.length(info.checkpoint.gen - info.lowestGeneration).and.to.include(1);
      expectSuccessSequence(calls);
    });
  });

  describe('events', () => {
    it('a full backup emits backup-begin, backup-file for the database and each log with its size, truncate, and backup-end with err 0', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 100);
      await inst.rollLog();
      await fill(db, 100, 'b');
      await inst.rollLog();
      await inst.checkpoint(); // the generations before this one are no longer needed: the backup truncates them
      await fill(db, 20, 'c');
      const info = await inst.getLogInfo();
      const stale = Array.from({ length: info.checkpoint.gen - info.lowestGeneration }, (_, i) => info.lowestGeneration + i);
      expect(stale.length).to.be.at.least(2);
      const all: InstanceEvent[] = [];
      inst.on('event', (e: InstanceEvent) => all.push(e));
      const bk = await tmpDir();
      const r = await inst.backup(bk, 0);
      expect(r.truncated).to.deep.equal(stale);
      const ev = backupEvents(all);
      expect(ev[0]).to.deep.include({ type: 'backup-begin', backupType: 'full', path: bk });
      const end = ev[ev.length - 1]!;
      expect(end).to.deep.include({ type: 'backup-end', backupType: 'full', path: r.path, err: 0, truncated: stale, generations: r.generations });
      expect(ev.filter((e) => e.type === 'truncate')).to.deep.equal([{ type: 'truncate', generations: stale }]);
      expect(ev.filter((e) => e.type === 'backup-begin' || e.type === 'backup-end')).to.have.length(2);
      await expectFileEventsMatchSet(ev, r, ['database', ...r.logs.map(() => 'log')]);
    });

    it('an atomic full and an incremental backup name the files of the set in <dir>/new', async () => {
      const { inst, db } = await openInstance();
      await fill(db, 100);
      const all: InstanceEvent[] = [];
      inst.on('event', (e: InstanceEvent) => all.push(e));
      const bk = await tmpDir();
      const full = await inst.backup(bk, JET_bitBackupAtomic);
      expect(full.path).to.equal(path.join(bk, 'new'));
      await expectFileEventsMatchSet(backupEvents(all), full, ['database', ...full.logs.map(() => 'log')]);
      expect(backupEvents(all).pop()).to.deep.include({ type: 'backup-end', path: full.path, err: 0 });
      all.length = 0;
      await fill(db, 100, 'i');
      const inc = await inst.backup(bk, JET_bitBackupIncremental);
      const ev = backupEvents(all);
      expect(ev[0]).to.deep.include({ type: 'backup-begin', backupType: 'incremental', path: bk });
      await expectFileEventsMatchSet(ev, inc, inc.logs.map(() => 'log'));
      expect(ev[ev.length - 1]).to.deep.include({ type: 'backup-end', backupType: 'incremental', err: 0, generations: inc.generations });
    });

    it('the same events are in edb.events.jsonl as soon as the backup settles, including a failed backup-end with its error number', async () => {
      const { dir, inst, db } = await openInstance();
      await fill(db, 100);
      await inst.rollLog();
      await inst.checkpoint();
      const all: InstanceEvent[] = [];
      inst.on('event', (e: InstanceEvent) => all.push(e));
      const bk = await tmpDir();
      await inst.backup(bk, 0);
      const e = await expectJetError(inst.backup(bk, 0), 'JET_errBackupDirectoryNotEmpty');
      await inst.backup(null, 0);
      const emitted = backupEvents(all);
      const lines = (await eventFileLines(inst)).filter((l) => String(l.type).startsWith('backup-') || l.type === 'truncate');
      const key = (x: Record<string, unknown>) => JSON.stringify([x.type, x.backupType, x.name, x.bytes, x.err, x.generations]);
      expect(lines.map(key)).to.deep.equal(emitted.map(key));
      for (const l of lines) {
        expect(l.instance).to.equal(dir);
        expect(Number.isNaN(Date.parse(String(l.time)))).to.equal(false);
      }
      const ends = lines.filter((l) => l.type === 'backup-end');
      expect(ends.map((l) => l.err)).to.deep.equal([0, e.err, 0]);
      expect(ends[1]).to.deep.include({ err: -504, errName: 'JET_errBackupDirectoryNotEmpty', backupType: 'full' });
      expect(String(ends[1]!.message)).to.include(bk);
      expect(lines.filter((l) => l.type === 'backup-begin').map((l) => l.backupType)).to.deep.equal(['full', 'full', 'truncate']);
    });
  });
});
