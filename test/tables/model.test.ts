/**
 * Property test of the table API against an in-memory model: random
 * sequences of put / delete / get / range / transactions (some rolled back)
 * on three tables, with 4096-byte pages and a 64-page cache so that leaves
 * and branches split, emptied leaves are freed, long values come and go and
 * pages are evicted and checkpointed while the sequence runs.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { rm } from 'node:fs/promises';
import type { Database } from '../../src/engine/database.js';
import { Instance } from '../../src/engine/instance.js';
import type { InstanceParams } from '../../src/engine/params.js';
import type { RangeOptions, TableTransaction } from '../../src/tables/table-store.js';
import { patterned } from '../helpers/bytes.js';
import { tmpDir, removeTmpDirs } from '../helpers/tmp-dir.js';
import { Model, collect, expectDatabaseEquals, expectRows, show, verifyEveryPage } from './table-helpers.js';

const PARAMS: InstanceParams = {
  pageSize: 4096,
  cacheSizePages: 64,
  checkpointDirtyPages: 8,
  logFileSize: 64 * 1024,
  checkpointDepth: 0,
};

const TABLES = ['alpha', 'beta', 'gr\u00fc\u00dfe'];

// ---- arbitraries ---------------------------------------------------------------

/** Few letters, chosen around the signed/unsigned boundary, so keys collide and sort in telling ways. */
const LETTERS = [0x00, 0x01, 0x61, 0x62, 0x7f, 0x80, 0xfe, 0xff];
const letter = fc.constantFrom(...LETTERS);

/** A key that fast-check prints briefly in counterexamples (a 1024-byte key is 1024 numbers otherwise). */
function printable(b: Buffer): Buffer {
  return Object.defineProperty(b, fc.toStringMethod, { value: () => `key(${show(b)})`, enumerable: false });
}

const shortKey = fc.oneof(
  { weight: 2, arbitrary: fc.array(letter, { minLength: 1, maxLength: 1 }) },
  { weight: 5, arbitrary: fc.array(letter, { minLength: 2, maxLength: 2 }) },
  { weight: 3, arbitrary: fc.array(letter, { minLength: 3, maxLength: 3 }) },
).map((a) => printable(Buffer.from(a)));

/** Long keys from a handful of shapes, so that they collide too; up to the 1024-byte limit. */
const longKey = fc.record({
  head: letter,
  len: fc.constantFrom(100, 500, 1000, 1023, 1024),
  fill: fc.constantFrom(0x61, 0xff),
}).map(({ head, len, fill }) => {
  const b = Buffer.alloc(len, fill);
  b[0] = head;
  return printable(b);
});

/** A short key behind a shared 1000-byte prefix: many distinct long keys, so branch cells are long and trees get deep. */
const PREFIX = Buffer.alloc(1000, 0x70);
const prefixedKey = shortKey.map((k) => printable(Buffer.concat([PREFIX, k])));

const key = fc.oneof({ weight: 12, arbitrary: shortKey }, { weight: 1, arbitrary: longKey }, { weight: 2, arbitrary: prefixedKey });

/** A value by size and seed; built when the op runs. Sizes straddle the inline limit (~1000 bytes at 4 KiB pages). */
const value = fc.record({
  size: fc.oneof(
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 6, arbitrary: fc.nat(64) },
    { weight: 3, arbitrary: fc.integer({ min: 65, max: 1100 }) },
    { weight: 2, arbitrary: fc.integer({ min: 1500, max: 12_000 }) },
  ),
  seed: fc.integer({ min: 1, max: 0x7fffffff }),
});
type ValueSpec = { size: number; seed: number };
const bytesOf = (v: ValueSpec) => patterned(v.size, v.seed);

const maybe = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: a });

const bounds = fc.record({
  gt: maybe(key), gte: maybe(key), lt: maybe(key), lte: maybe(key),
  reverse: fc.boolean(),
  limit: maybe(fc.nat(12)),
});

function rangeOptions(b: { gt?: Buffer; gte?: Buffer; lt?: Buffer; lte?: Buffer; reverse: boolean; limit?: number }): RangeOptions {
  const o: RangeOptions = { reverse: b.reverse };
  if (b.gt !== undefined) o.gt = b.gt;
  if (b.gte !== undefined) o.gte = b.gte;
  if (b.lt !== undefined) o.lt = b.lt;
  if (b.lte !== undefined) o.lte = b.lte;
  if (b.limit !== undefined) o.limit = b.limit;
  return o;
}

/** Bounds for assertion messages, keys shown briefly. */
function showBounds(o: RangeOptions): string {
  return Object.entries(o).map(([k, v]) => `${k}=${Buffer.isBuffer(v) ? show(v) : String(v)}`).join(' ');
}

const table = fc.nat(TABLES.length - 1);

const txOp = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('put' as const), t: table, key, value }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), t: table, key }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('get' as const), t: table, key }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('range' as const), t: table, bounds }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('outerGet' as const), t: table, key }) },
);

const op = fc.oneof(
  { weight: 20, arbitrary: fc.record({ op: fc.constant('put' as const), t: table, key, value, durable: fc.boolean() }) },
  { weight: 10, arbitrary: fc.record({ op: fc.constant('delete' as const), t: table, key }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('get' as const), t: table, key }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('range' as const), t: table, bounds }) },
  {
    weight: 6,
    arbitrary: fc.record({ op: fc.constant('tx' as const), ops: fc.array(txOp, { minLength: 1, maxLength: 12 }), fail: fc.boolean(), durable: fc.boolean() }),
  },
  // Many puts in one transaction: grows trees deep enough for branch splits.
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('bulk' as const), t: table, count: fc.integer({ min: 10, max: 120 }),
      seed: fc.integer({ min: 1, max: 0x7fffffff }), maxSize: fc.constantFrom(40, 400, 3000), prefixed: fc.boolean(), fail: fc.boolean(),
      // First delete this many rows from `from` on, in the same transaction: freed pages are reused at once.
      clear: fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 150 }) }), from: shortKey,
    }),
  },
  // Delete every row in a key range in one transaction: empties leaves, frees pages.
  { weight: 2, arbitrary: fc.record({ op: fc.constant('deleteRange' as const), t: table, from: shortKey, count: fc.integer({ min: 1, max: 200 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('checkpoint' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reopen' as const) }) },
);

type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;
type TxOp = typeof txOp extends fc.Arbitrary<infer T> ? T : never;

class Rollback extends Error {}

/** Rows of a bulk op: 3- or 4-letter keys from the same alphabet (optionally behind PREFIX), so they mix with the others. */
function bulkRows(count: number, seed: number, maxSize: number, prefixed: boolean): { key: Buffer; value: Buffer }[] {
  const r = patterned(count * 7, seed);
  const rows: { key: Buffer; value: Buffer }[] = [];
  for (let i = 0; i < count; i++) {
    const len = 3 + (r[i * 7]! & 1);
    const k = Buffer.alloc(len);
    for (let j = 0; j < len; j++) k[j] = LETTERS[r[i * 7 + 1 + j]! % LETTERS.length]!;
    const size = r.readUInt16LE(i * 7 + 5) % (maxSize + 1);
    rows.push({ key: prefixed ? Buffer.concat([PREFIX, k]) : k, value: patterned(size, seed + i) });
  }
  return rows;
}

// ---- the run -------------------------------------------------------------------

async function runTxOp(tx: TableTransaction, db: Database, o: TxOp, work: Model, committed: Model, where: string): Promise<void> {
  const name = TABLES[o.t]!;
  switch (o.op) {
    case 'put': {
      const v = bytesOf(o.value);
      await tx.put(name, o.key, v);
      work.put(name, o.key, v);
      return;
    }
    case 'delete':
      expect(await tx.delete(name, o.key), `${where}: tx.delete ${show(o.key)} result`).to.equal(work.delete(name, o.key));
      return;
    case 'get': {
      const got = await tx.get(name, o.key);
      const want = work.get(name, o.key);
      expect(got?.toString('hex'), `${where}: tx.get ${name} ${show(o.key)}`).to.equal(want?.toString('hex'));
      return;
    }
    case 'range': {
      const ro = rangeOptions(o.bounds);
      expectRows(await collect(tx.range(name, ro)), work.range(name, ro), `${where}: tx.range ${name} ${showBounds(ro)}`);
      return;
    }
    case 'outerGet': {
      // A read outside the transaction sees the committed state only.
      const got = await db.get(name, o.key);
      expect(got?.toString('hex'), `${where}: db.get ${name} ${show(o.key)} during a transaction`).to.equal(committed.get(name, o.key)?.toString('hex'));
    }
  }
}

interface Env { dir: string; inst: Instance; db: Database }

async function reopen(env: Env): Promise<void> {
  await env.inst.close();
  env.inst = await Instance.open(env.dir, PARAMS);
  env.db = await env.inst.openDatabase('main.edb');
}

async function runOp(env: Env, o: Op, model: Model, where: string): Promise<Model> {
  const { db } = env;
  switch (o.op) {
    case 'put': {
      const v = bytesOf(o.value);
      expect(await db.put(TABLES[o.t]!, o.key, v, { durable: o.durable })).to.equal(undefined);
      model.put(TABLES[o.t]!, o.key, v);
      return model;
    }
    case 'delete':
      expect(await db.delete(TABLES[o.t]!, o.key), `${where}: delete ${show(o.key)} result`).to.equal(model.delete(TABLES[o.t]!, o.key));
      return model;
    case 'get': {
      const got = await db.get(TABLES[o.t]!, o.key);
      expect(got?.toString('hex'), `${where}: get ${TABLES[o.t]} ${show(o.key)}`).to.equal(model.get(TABLES[o.t]!, o.key)?.toString('hex'));
      return model;
    }
    case 'range': {
      const ro = rangeOptions(o.bounds);
      expectRows(await collect(db.range(TABLES[o.t]!, ro)), model.range(TABLES[o.t]!, ro), `${where}: range ${TABLES[o.t]} ${showBounds(ro)}`);
      return model;
    }
    case 'tx': {
      const work = model.clone();
      try {
        await db.transaction(async (tx) => {
          for (let i = 0; i < o.ops.length; i++) await runTxOp(tx, db, o.ops[i]!, work, model, `${where}.${i}`);
          if (o.fail) throw new Rollback('roll back');
        }, { durable: o.durable });
      } catch (e) {
        if (!(e instanceof Rollback)) throw e;
        return model;
      }
      expect(o.fail).to.equal(false);
      return work;
    }
    case 'bulk': {
      const name = TABLES[o.t]!;
      const work = model.clone();
      try {
        await db.transaction(async (tx) => {
          for (const r of work.range(name, { gte: o.from, limit: o.clear })) {
            expect(await tx.delete(name, r.key), `${where}: delete ${show(r.key)}`).to.equal(true);
            work.delete(name, r.key);
          }
          for (const r of bulkRows(o.count, o.seed, o.maxSize, o.prefixed)) {
            await tx.put(name, r.key, r.value);
            work.put(name, r.key, r.value);
          }
          if (o.fail) throw new Rollback('roll back');
        }, { durable: false });
      } catch (e) {
        if (!(e instanceof Rollback)) throw e;
        return model;
      }
      return work;
    }
    case 'deleteRange': {
      const name = TABLES[o.t]!;
      const victims = model.range(name, { gte: o.from, limit: o.count }).map((r) => r.key);
      await db.transaction(async (tx) => {
        for (const k of victims) expect(await tx.delete(name, k), `${where}: delete ${show(k)}`).to.equal(true);
      });
      for (const k of victims) model.delete(name, k);
      return model;
    }
    case 'checkpoint':
      await env.inst.checkpoint();
      return model;
    case 'reopen':
      await reopen(env);
      await expectDatabaseEquals(env.db, model, `${where}: after reopen`);
      return model;
  }
}

describe('tables against an in-memory model (property)', function () {
  this.timeout(120_000);
  afterEach(removeTmpDirs);

  it('any sequence of puts, deletes, gets, ranges and transactions leaves the tables equal to the model, before and after reopening', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 300, size: 'max' }), async (ops) => {
        const dir = await tmpDir('tables-model-');
        const env: Env = { dir, inst: await Instance.open(dir, PARAMS), db: undefined as unknown as Database };
        env.db = await env.inst.openDatabase('main.edb', { create: true });
        try {
          let model = new Model();
          for (let i = 0; i < ops.length; i++) model = await runOp(env, ops[i]!, model, `op ${i} (${ops[i]!.op})`);
          await expectDatabaseEquals(env.db, model, 'after the sequence');
          await env.inst.close();
          // Every page of the file, as the clean shutdown left it, passes its checksum.
          await verifyEveryPage(dir);
          env.inst = await Instance.open(dir, PARAMS);
          env.db = await env.inst.openDatabase('main.edb');
          await expectDatabaseEquals(env.db, model, 'after close and reopen');
        } finally {
          await env.inst.close();
          await rm(dir, { recursive: true, force: true });
        }
        runs++;
      }),
      { numRuns: 25 },
    );
    expect(runs).to.equal(25);
  });
});
