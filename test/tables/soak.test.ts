/**
 * Bulk load: many small records in lazy transactions of about 1000 puts,
 * then a full count by range, spot-checked gets, a structural check, a 10 %
 * delete and a reopen. SOAK=1 (npm run test:soak) loads 1,000,000 records;
 * the ordinary run loads 20,000, so the same code always runs.
 */
import { expect } from 'chai';
import { Instance } from '../../src/engine/instance.js';
import type { Database } from '../../src/engine/database.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

const SOAK = Boolean(process.env.SOAK);
const RECORDS = SOAK ? 1_000_000 : 20_000;
const PER_TX = 1000;

/** A permutation of 0..n-1 (7919 is prime and divides neither 20,000 nor 1,000,000): keys arrive scattered. */
const nth = (i: number, n: number) => (i * 7919) % n;
const keyOf = (i: number) => `rec:${String(i).padStart(7, '0')}`;
/** 10 to 73 bytes, derived from i, so every row can be checked on its own. */
const valueOf = (i: number) => `v${i}:${'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'.slice(0, i % 64)}`;
const deleted = (i: number) => i % 10 === 3;

/** Count the rows by range, checking order and every value; resolves to the count. */
async function countAndCheck(db: Database, isLive: (i: number) => boolean): Promise<number> {
  let n = 0;
  let prev = -1;
  for await (const { key, value } of db.range('records')) {
    const i = Number(key.toString().slice(4));
    expect(i, 'keys ascend').to.be.above(prev);
    expect(isLive(i), `row ${i} should not be there`).to.equal(true);
    if (value.toString() !== valueOf(i)) expect.fail(`row ${i}: value ${value.toString()} is not ${valueOf(i)}`);
    prev = i;
    n++;
  }
  return n;
}

async function spotCheck(db: Database, isLive: (i: number) => boolean): Promise<void> {
  for (let j = 0; j < 2000; j++) {
    const i = nth(j * 104_729 + 17, RECORDS);
    const v = await db.get('records', keyOf(i));
    if (isLive(i)) expect(v?.toString(), `get ${keyOf(i)}`).to.equal(valueOf(i));
    else expect(v, `get ${keyOf(i)} (deleted)`).to.equal(undefined);
  }
  expect(await db.get('records', keyOf(RECORDS))).to.equal(undefined);
  expect(await db.get('records', 'rec:')).to.equal(undefined);
}

describe('tables: bulk load (soak)', function () {
  this.timeout(SOAK ? 0 : 120_000);
  afterEach(removeTmpDirs);

  it(`loads ${RECORDS.toLocaleString('en-US')} records in lazy transactions of ${PER_TX}, counts them by range, reads them back and checks clean, before and after deleting 10 % and reopening`, async () => {
    const dir = await tmpDir('tables-soak-');
    let inst = await Instance.open(dir);
    let db = await inst.openDatabase('main.edb', { create: true });
    try {
      for (let start = 0; start < RECORDS; start += PER_TX) {
        await db.transaction(async (tx) => {
          for (let i = start; i < Math.min(start + PER_TX, RECORDS); i++) {
            const r = nth(i, RECORDS);
            await tx.put('records', keyOf(r), valueOf(r));
          }
        }, { durable: false });
      }
      expect(await countAndCheck(db, () => true)).to.equal(RECORDS);
      await spotCheck(db, () => true);
      let report = await db.checkTables();
      expect(report.problems).to.deep.equal([]);
      expect(report.tables).to.have.length(1);
      expect(report.tables[0]!.rows).to.equal(RECORDS);
      expect(report.tables[0]!.depth).to.be.at.least(2);

      for (let start = 0; start < RECORDS; start += 10 * PER_TX) {
        await db.transaction(async (tx) => {
          for (let i = start; i < Math.min(start + 10 * PER_TX, RECORDS); i++) {
            if (deleted(i)) expect(await tx.delete('records', keyOf(i))).to.equal(true);
          }
        }, { durable: false });
      }
      const live = (i: number) => !deleted(i);
      const expected = RECORDS - Math.floor((RECORDS - 4) / 10) - 1;
      expect(await countAndCheck(db, live)).to.equal(expected);

      await inst.close();
      inst = await Instance.open(dir);
      db = await inst.openDatabase('main.edb');
      expect(await countAndCheck(db, live)).to.equal(expected);
      await spotCheck(db, live);
      report = await db.checkTables();
      expect(report.problems).to.deep.equal([]);
      expect(report.tables[0]!.rows).to.equal(expected);
    } finally {
      await inst.close();
    }
  });
});
