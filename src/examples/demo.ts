/**
 * The main job until the CLI exists: create an instance in a fresh directory,
 * load a table, make durable commits, close, reopen, check every row and
 * every tree, and print what it measured.
 *
 *   node dist/src/examples/demo.js [dir]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { crc32cImplementation } from '../checksum/crc32c.js';
import { Instance } from '../engine/instance.js';

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
  if (rows !== ROWS || wrong > 0 || report.problems.length > 0) {
    console.error(`demo: ${ROWS - rows} rows missing, ${wrong} wrong, problems: ${report.problems.join('; ')}`);
    process.exit(1);
  }
  console.log('demo: ok');
}

main().catch((e) => {
  console.error(`demo: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
