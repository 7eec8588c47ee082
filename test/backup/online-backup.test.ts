/**
 * The core correctness of online full backups: writers commit continuously
 * (in this process, or in a child process that backs itself up) while a full
 * backup copies pages, the log rolls and checkpoints write pages under it.
 * Restored, the backup must be exactly the committed state at one single
 * commit point P, with P at least every transaction acknowledged before the
 * backup began and at most the last one begun before it ended: no partial
 * transaction, no lost commit (test/fixtures/backup-model.ts).
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { BackupPool } from '../../src/backup/pool.js';
import { JET_sntBegin, JET_sntComplete, JET_sntProgress, type BackupOptions, type BackupProgress, type BackupResult } from '../../src/backup/options.js';
import type { Database } from '../../src/engine/database.js';
import { Instance } from '../../src/engine/instance.js';
import type { InstanceParams } from '../../src/engine/params.js';
import { archivedLogName } from '../../src/format/log-names.js';
import { expectDatabaseEquals } from '../tables/table-helpers.js';
import { BACKUP_PARAMS, Counter, commitNext, preload, startWriters } from '../fixtures/backup-model.js';
import { archivedGenerations, lastOf, modelAt, removeTmpDirs, restoreAndCheck, tmpDir, until, watchEvents, type Happening } from './online-helpers.js';

const CHILD = new URL('../fixtures/backup-writer.ts', import.meta.url).pathname;
const PRELOAD = 3000;
/** Small ranges and a rate limit: the page copy takes about half a second, with writers committing all along. */
const SLOW: BackupOptions = { rangePages: 16, rateBytesPerSec: 2 * 1024 * 1024 };
/** Each writer's pause between transactions: a few hundred commits a second, so the log copy stays short too. */
const PAUSE_MS = 4;

interface Run {
  inst: Instance;
  dbs: Database[];
  c: Counter;
  result: BackupResult;
  min: number;
  max: number;
  rolls: number;
  checkpoints: number[];
  timeline: Happening[];
}

/**
 * Open an instance in a fresh directory with `dbNames` preloaded, start
 * `writers` writers, and once they have committed a while run a full backup
 * into a fresh directory; stop the writers when it resolves. The instance
 * is left open (the caller closes it).
 */
async function backupUnderLoad(
  params: InstanceParams, dbNames: string[], writers: number, bdir: string, opts: BackupOptions = SLOW,
  onProgress?: (inst: Instance, p: BackupProgress) => void,
): Promise<Run> {
  const inst = await Instance.open(await tmpDir('online-src-'), params);
  try {
    const dbs: Database[] = [];
    for (const n of dbNames) dbs.push(await inst.openDatabase(n, { create: true }));
    await preload(dbs, PRELOAD);
    const c = new Counter();
    const w = startWriters(inst, dbs, c, writers, PRELOAD, PAUSE_MS);
    try {
      await until(() => c.maxAcked >= 50, 'the writers to get going');
      const min = c.maxAcked;
      const watched = await watchEvents(inst, (status) => inst.backup(bdir, 0, (snp, snt, p) => {
        status(snp, snt, p);
        if (snt === JET_sntProgress && p) onProgress?.(inst, p);
      }, opts));
      const max = c.begun;
      await w.stop();
      return { inst, dbs, c, result: watched.value, min, max, rolls: watched.rolls, checkpoints: watched.checkpoints, timeline: watched.timeline };
    } finally {
      await w.stop().catch(() => undefined);
    }
  } catch (e) {
    await inst.close();
    throw e;
  }
}

/** The run was a real online backup: writers committed throughout, the log rolled and checkpoints ran under it. */
function expectBusy(r: Run): void {
  expect(r.max - r.min, 'transactions begun while the backup ran').to.be.at.least(30);
  expect(r.rolls, 'log rolls during the backup (its own is one)').to.be.at.least(2);
  expect(r.checkpoints.length, 'checkpoints during the backup').to.be.at.least(1);
}

/** Run the child-process writer; resolves to its JSON report. */
function runChild(args: string[]): Promise<{ ackedAtStart: number; begunAtEnd: number; committed: number; rolls: number; checkpoints: number; generations: { low: number; high: number } }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d) => { out += String(d); });
    child.stderr.on('data', (d) => { err += String(d); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`backup-writer exited with ${code ?? signal}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!));
    });
  });
}

describe('backup: online full backup', function () {
  this.timeout(120_000);
  afterEach(removeTmpDirs);

  it('taken while three writers commit (durable and lazy), restores to exactly one commit point between the backup\'s start and end', async () => {
    const bdir = await tmpDir('online-bk-');
    const r = await backupUnderLoad(BACKUP_PARAMS, ['main.edb'], 3, bdir);
    try {
      expectBusy(r);
      expect(r.result.type).to.equal('full');
      expect(r.result.pagesVerified, 'preloaded pages verified').to.be.above(150);
      // The model is the engine's truth: the source itself holds every transaction begun.
      expect(await lastOf(r.dbs[0]!)).to.equal(r.c.begun);
      await expectDatabaseEquals(r.dbs[0]!, modelAt(r.c.begun, 1, PRELOAD)[0]!, 'the source after the writers stopped');
      // After the backup the instance keeps no generation below min(checkpoint, high + 1), and keeps high + 1 on.
      const { high } = r.result.generations!;
      const limit = Math.min((await r.inst.getLogInfo()).checkpoint.gen, high + 1);
      for (const g of r.result.truncated) expect(g, 'a truncated generation').to.be.below(limit);
      const left = await archivedGenerations(r.inst.params.logFilePath);
      expect(left.filter((g) => g < r.result.generations!.low), 'generations below the backup left').to.deep.equal([]);
      const current = (await r.inst.getLogInfo()).currentGeneration;
      expect(current === high + 1 || left.includes(high + 1), `generation ${high + 1}, where the next incremental starts, is kept`).to.equal(true);
    } finally {
      await r.inst.close();
    }
    await restoreAndCheck(bdir, { dbNames: ['main.edb'], preloadRows: PRELOAD, min: r.min, max: r.max, params: BACKUP_PARAMS }, 'in-process writers');
  });

  it('holding pages a checkpoint wrote mid-copy with changes from the log generation still open, restores them consistently (the log is rolled after the copy)', async () => {
    // Pages reach the copy with whatever the checkpoint last wrote, changes from the
    // generation being written included; only the roll after the copy puts those in the backup.
    // Big generations (no roll of the writers' own during the copy) and a checkpoint at each progress report.
    const params: InstanceParams = { ...BACKUP_PARAMS, logFileSize: 4 * 1024 * 1024 };
    const bdir = await tmpDir('online-cp-bk-');
    const checkpoints: Promise<void>[] = [];
    const r = await backupUnderLoad(params, ['main.edb'], 3, bdir, SLOW, (inst, p) => {
      if (p.phase === 'pages') checkpoints.push(inst.checkpoint());
    });
    try {
      await Promise.all(checkpoints);
      expect(checkpoints.length, 'checkpoints forced during the page copy').to.be.at.least(2);
      expect(r.max - r.min, 'transactions begun while the backup ran').to.be.at.least(30);
    } finally {
      await r.inst.close();
    }
    await restoreAndCheck(bdir, { dbNames: ['main.edb'], preloadRows: PRELOAD, min: r.min, max: r.max, params }, 'checkpoints during the copy');
  });

  it('taken by a child process of itself while its writers commit, restores to exactly one commit point between start and end', async () => {
    const dir = await tmpDir('online-child-');
    const bdir = await tmpDir('online-child-bk-');
    const rep = await runChild([dir, bdir, '3', String(PRELOAD), String(SLOW.rateBytesPerSec), String(PAUSE_MS)]);
    expect(rep.begunAtEnd - rep.ackedAtStart, 'transactions begun while the backup ran').to.be.at.least(30);
    expect(rep.rolls, 'log rolls during the backup').to.be.at.least(2);
    expect(rep.checkpoints, 'checkpoints during the backup').to.be.at.least(1);
    const { p } = await restoreAndCheck(bdir, { dbNames: ['main.edb'], preloadRows: PRELOAD, min: rep.ackedAtStart, max: rep.begunAtEnd, params: BACKUP_PARAMS }, 'child-process writers');
    expect(p).to.be.at.most(rep.committed);
    // The source, shut down cleanly by the child, holds every transaction it numbered.
    const inst = await Instance.open(dir, BACKUP_PARAMS);
    try {
      expect(await lastOf(await inst.openDatabase('main.edb'))).to.equal(rep.committed);
    } finally {
      await inst.close();
    }
  });

  it('under circular logging, with checkpoints deleting generations while it runs, keeps what it pins, succeeds and restores to one commit point', async () => {
    const bdir = await tmpDir('online-circ-bk-');
    // checkpointDepth 0: every roll starts a checkpoint, and each checkpoint deletes the generations below it.
    const params: InstanceParams = { ...BACKUP_PARAMS, circularLog: true, checkpointDepth: 0 };
    const r = await backupUnderLoad(params, ['main.edb'], 3, bdir);
    try {
      expectBusy(r);
      const { low, high } = r.result.generations!;
      // Until its last generation is copied the backup holds its pin: circular logging must not delete
      // generation low or later, although checkpoints move past it meanwhile.
      const copied = r.timeline.findIndex((h) => h.type === 'log-copied' && h.file === archivedLogName('edb', high));
      expect(copied, 'progress reported for the last generation copied').to.be.at.least(0);
      const whileCopying = r.timeline.slice(0, copied);
      const passed = whileCopying.flatMap((h) => (h.type === 'checkpoint' && h.gen > low + 1 ? [h.gen] : []));
      expect(passed.length, `checkpoints past generation ${low + 1} while the backup ran`).to.be.above(0);
      for (const h of whileCopying) {
        if (h.type === 'truncate') expect(Math.max(...h.generations), 'a generation deleted while the backup ran').to.be.below(low);
      }
      // Once the backup is done, circular logging goes on deleting: the pin is gone.
      const after = r.timeline.slice(copied).flatMap((h) => (h.type === 'truncate' ? h.generations : []));
      expect(Math.max(...after, ...r.result.truncated), 'generations deleted after the backup').to.be.at.least(low);
      expect(r.result.logs.map((l) => l.generation)).to.deep.equal(Array.from({ length: high - low + 1 }, (_, k) => low + k));
    } finally {
      await r.inst.close();
    }
    await restoreAndCheck(bdir, { dbNames: ['main.edb'], preloadRows: PRELOAD, min: r.min, max: r.max, params }, 'circular logging');
  });

  it('of two attached databases written alternately, restores both to the same single commit point', async () => {
    const bdir = await tmpDir('online-two-bk-');
    const names = ['main.edb', 'second.edb'];
    const r = await backupUnderLoad(BACKUP_PARAMS, names, 3, bdir);
    try {
      expectBusy(r);
      expect(r.result.databases.map((d) => d.name)).to.deep.equal(names);
      expect(await readdir(bdir)).to.include.members(names);
    } finally {
      await r.inst.close();
    }
    const { p } = await restoreAndCheck(bdir, { dbNames: names, preloadRows: PRELOAD, min: r.min, max: r.max, params: BACKUP_PARAMS }, 'two databases');
    // Both databases carry writes from the backup window, so a point torn between them would show.
    expect(p).to.be.above(r.min);
  });

  it('two backups of two instances at once on one shared pool both restore exactly, and the pool serves a later backup', async () => {
    const pool = new BackupPool({ workers: 2 });
    const insts: Instance[] = [];
    try {
      const counts = [0, 0];
      for (let k = 0; k < 2; k++) {
        const inst = await Instance.open(await tmpDir(`online-pool-${k}-`), BACKUP_PARAMS);
        insts.push(inst);
        const db = await inst.openDatabase('main.edb', { create: true });
        await preload([db], PRELOAD);
        const c = new Counter();
        for (let i = 0; i < 40 + 30 * k; i++) await commitNext(inst, [db], c, PRELOAD, i % 2 === 0);
        counts[k] = c.begun;
      }
      const bdirs = [await tmpDir('online-pool-bk0-'), await tmpDir('online-pool-bk1-')];
      const seen: string[] = [];
      const opts = { ...SLOW, pool, rateBytesPerSec: 2 * 1024 * 1024 };
      const results = await Promise.all(insts.map((inst, k) => inst.backup(bdirs[k]!, 0, (_snp, snt) => {
        if (snt === JET_sntBegin) seen.push(`begin${k}`);
        if (snt === JET_sntComplete) seen.push(`complete${k}`);
      }, opts)));
      // Both were under way before either finished: the pool really served them at the same time.
      expect(seen.slice(0, 2).sort()).to.deep.equal(['begin0', 'begin1']);
      for (let k = 0; k < 2; k++) {
        expect(results[k]!.pagesVerified, `backup ${k}: pages verified`).to.be.above(150);
        await restoreAndCheck(bdirs[k]!, { dbNames: ['main.edb'], preloadRows: PRELOAD, min: counts[k]!, max: counts[k]!, params: BACKUP_PARAMS }, `shared pool, instance ${k}`);
      }
      // Still usable: a third backup on the same pool.
      const again = await tmpDir('online-pool-again-');
      const third = await insts[0]!.backup(again, 0, undefined, { pool });
      expect(third.pagesVerified).to.be.above(150);
      expect(pool.workers).to.equal(2);
      await restoreAndCheck(again, { dbNames: ['main.edb'], preloadRows: PRELOAD, min: counts[0]!, max: counts[0]!, params: BACKUP_PARAMS }, 'shared pool, later backup');
    } finally {
      for (const inst of insts) await inst.close();
      await pool.close();
    }
  });
});
