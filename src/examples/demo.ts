/**
 * The main job until the CLI exists: create an instance in a fresh directory,
 * load a table, make durable commits, take a full backup while writers keep
 * committing, stop them, take an incremental backup, restore the set into a
 * second directory and compare it row by row with the instance; close,
 * reopen, check every row and every tree, and print what it measured.
 *
 *   node dist/src/examples/demo.js [dir]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { crc32cImplementation } from '../checksum/crc32c.js';
import { Instance } from '../engine/instance.js';
import type { Database } from '../engine/database.js';
import { JET_bitBackupIncremental } from '../backup/options.js';
import { restore } from '../restore/restore.js';

const ROWS = 200_000;
const DURABLE = 500;

const keyOf = (i: number) => `user:${i.toString().padStart(8, '0')}`;
const valueOf = (i: number, round: number) => `{"id":${i},"round":${round},"pad":"${'x'.repeat(i % 200)}"}`;

async function main(): Promise<void> {
  const given = process.argv[2];
  const dir = given ?? (await mkdtemp(path.join(tmpdir(), 'esebackup-demo-')));
  console.log(`crc32c implementation: ${crc32cImplementation()}`);
  console.log(`instance directory:    ${dir}`);

  let inst = await Instance.open(dir, { createPathIfNotExist: true });
  let db = await inst.openDatabase('demo.edb', { create: true });
  let t = performance.now();
  for (let i = 0; i < ROWS; i += 1000) {
    await db.transaction(async (tx) => {
      for (let j = i; j < i + 1000; j++) await tx.put('users', keyOf(j), valueOf(j, 0));
    }, { durable: false });
  }
  console.log(`bulk load (lazy):      ${ROWS} rows in ${(performance.now() - t).toFixed(0)} ms`);

  t = performance.now();
  for (let i = 0; i < DURABLE; i++) await db.put('users', keyOf(i * 7), valueOf(i * 7, 1));
  const ms = performance.now() - t;
  console.log(`durable puts:          ${DURABLE} in ${ms.toFixed(0)} ms = ${(DURABLE / (ms / 1000)).toFixed(0)} commits/s`);
  const backupOk = await backupAndRestore(inst, db, dir);
  await inst.close();

  inst = await Instance.open(dir);
  db = await inst.openDatabase('demo.edb');
  t = performance.now();
  let rows = 0;
  let wrong = 0;
  for await (const { key, value } of db.range('users')) {
    const i = Number(key.toString().slice(5));
    const round = i % 7 === 0 && i / 7 < DURABLE ? 1 : 0;
    if (key.toString() !== keyOf(rows) || value.toString() !== valueOf(i, round)) wrong++;
    rows++;
  }
  const report = await db.checkTables();
  const info = await inst.getLogInfo();
  console.log(`reopened and scanned:  ${rows} rows, ${wrong} wrong, in ${(performance.now() - t).toFixed(0)} ms; ` +
    `trees ${report.problems.length === 0 ? 'sound' : 'BROKEN'} (depth ${report.tables[0]?.depth}, ${db.pageCount} pages); ` +
    `log generations ${info.lowestGeneration}..${info.currentGeneration}`);
  await inst.close();
  if (!given) await rm(dir, { recursive: true, force: true });
  if (rows !== ROWS || wrong > 0 || report.problems.length > 0 || !backupOk) {
    console.error(`demo: ${ROWS - rows} rows missing, ${wrong} wrong, problems: ${report.problems.join('; ')}`);
    process.exit(1);
  }
  console.log('demo: ok');
}

/** Every row of every table as "table/key=value" strings, in order. */
async function dump(db: Database): Promise<string[]> {
  const out: string[] = [];
  for (const t of await db.tables()) {
    for await (const { key, value } of db.range(t)) out.push(`${t}/${key.toString()}=${value.toString()}`);
  }
  return out;
}

/** Full backup under load, incremental, restore, compare. Leaves the rows as they were. */
async function backupAndRestore(inst: Instance, db: Database, dir: string): Promise<boolean> {
  const backupDir = `${dir}-backup`;
  const restoredDir = `${dir}-restored`;
  await rm(backupDir, { recursive: true, force: true });
  await rm(restoredDir, { recursive: true, force: true });
  let stop = false;
  let commits = 0;
  // Writers churn a table of their own (the users table keeps its known content for the checks after reopening).
  const writer = async (w: number) => {
    for (let i = 0; !stop; i++, commits++) await db.put('churn', `w${w}:${i % 5000}`, `${i}:${'y'.repeat(i % 300)}`, { durable: i % 10 === 0 });
  };
  const writers = [writer(0), writer(1)];
  const { mkdir } = await import('node:fs/promises');
  await mkdir(backupDir);
  let t = performance.now();
  const full = await inst.backup(backupDir);
  const fullMs = performance.now() - t;
  stop = true;
  await Promise.all(writers);
  const dbBytes = full.databases.reduce((n, d) => n + d.bytes, 0);
  console.log(`full backup (online):  ${(dbBytes / 2 ** 20).toFixed(1)} MiB of pages + ${full.logs.length} log generations in ${fullMs.toFixed(0)} ms ` +
    `= ${(full.bytes / 2 ** 20 / (fullMs / 1000)).toFixed(0)} MiB/s; ${full.pagesVerified} pages verified, ${full.pagesReread} re-read; ` +
    `${commits} commits by 2 writers meanwhile`);
  t = performance.now();
  const inc = await inst.backup(backupDir, JET_bitBackupIncremental);
  console.log(`incremental backup:    generations ${inc.generations?.low}..${inc.generations?.high} in ${(performance.now() - t).toFixed(0)} ms; ` +
    `${inc.truncated.length} generations truncated from the instance`);
  t = performance.now();
  const r = await restore(backupDir, restoredDir, { createPathIfNotExist: true });
  const restoreMs = performance.now() - t;
  const copy = await Instance.open(restoredDir);
  let same = false;
  try {
    const cdb = await copy.openDatabase('demo.edb');
    const [a, b] = [await dump(db), await dump(cdb)];
    same = a.length === b.length && a.every((x, i) => x === b[i]);
    const check = await cdb.checkTables();
    same &&= check.problems.length === 0;
    console.log(`restore:               ${r.generations.high - r.generations.low + 1} generations replayed ` +
      `(${r.recovery?.transactionsRedone ?? 0} transactions) in ${restoreMs.toFixed(0)} ms; ${b.length} rows, ${same ? 'identical to the instance' : 'DIFFERENT'}`);
  } finally {
    await copy.close();
    await rm(backupDir, { recursive: true, force: true });
    await rm(restoredDir, { recursive: true, force: true });
  }
  return same;
}

main().catch((e) => {
  console.error(`demo: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
