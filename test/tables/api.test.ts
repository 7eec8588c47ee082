import { expect } from 'chai';
import { open as fsOpen, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { DatabaseFile } from '../../src/engine/database-file.js';
import type { Database } from '../../src/engine/database.js';
import { Instance } from '../../src/engine/instance.js';
import type { InstanceParams } from '../../src/engine/params.js';
import { JetError, type JetErrName } from '../../src/errors.js';
import { pageOffset } from '../../src/format/page.js';
import {
  NODE_HEADER, PAGE_KIND_BRANCH, PAGE_KIND_FREE, PAGE_KIND_LEAF, PAGE_KIND_LONG, PAGE_KIND_META, decodeNode, longCapacity, pageKind,
} from '../../src/format/table-pages.js';
import { nodeFileSystem } from '../../src/io/file-system.js';
import { MAX_KEY_BYTES, MAX_VALUE_BYTES, type RangeOptions, type Row } from '../../src/tables/table-store.js';
import { patterned } from '../helpers/bytes.js';
import { expectJetError } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';
import { Model, collect, expectDatabaseEquals, expectRows, hexKeys, verifyEveryPage } from './table-helpers.js';

/** 4 KiB pages and a small cache: a few hundred rows make multi-level trees, and pages get evicted. */
const SMALL: InstanceParams = { pageSize: 4096, cacheSizePages: 64, checkpointDirtyPages: 16 };

/** Instances a test opened; afterEach closes any a failing test left open. */
const opened: Instance[] = [];

async function openFresh(params: InstanceParams = {}): Promise<{ dir: string; inst: Instance; db: Database }> {
  const dir = await tmpDir('tables-api-');
  const inst = await Instance.open(dir, params);
  opened.push(inst);
  const db = await inst.openDatabase('main.edb', { create: true });
  return { dir, inst, db };
}

async function reopen(dir: string, params: InstanceParams = {}): Promise<{ inst: Instance; db: Database }> {
  const inst = await Instance.open(dir, params);
  opened.push(inst);
  return { inst, db: await inst.openDatabase('main.edb') };
}

const keysOf = (rows: Row[]) => rows.map((r) => r.key.toString('latin1'));

/** Everything a caller can observe of a database: its tables, every row, and its page count. */
async function state(db: Database): Promise<{ tables: string[]; rows: Record<string, string[]>; pageCount: number }> {
  const tables = await db.tables();
  const rows: Record<string, string[]> = {};
  for (const t of tables) rows[t] = (await collect(db.range(t))).map((r) => `${r.key.toString('hex')}=${r.value.toString('hex')}`);
  return { tables, rows, pageCount: db.pageCount };
}

describe('tables: the API on Database', function () {
  this.timeout(60_000);
  afterEach(async () => {
    while (opened.length > 0) await opened.pop()!.close().catch(() => undefined);
    await removeTmpDirs();
  });

  describe('put, get, delete', () => {
    it('get returns what put stored, as a Buffer, and undefined for a missing key or table', async () => {
      const { inst, db } = await openFresh();
      expect(await db.put('users', 'alice', 'A')).to.equal(undefined);
      await db.put('users', Buffer.from('bob'), new Uint8Array([1, 2, 3]));
      const a = await db.get('users', 'alice');
      expect(Buffer.isBuffer(a)).to.equal(true);
      expect(a!.toString()).to.equal('A');
      expect([...(await db.get('users', 'bob'))!]).to.deep.equal([1, 2, 3]);
      // A string key is its UTF-8 bytes: both spellings name the same row.
      expect((await db.get('users', new TextEncoder().encode('alice')))!.toString()).to.equal('A');
      expect(await db.get('users', 'carol')).to.equal(undefined);
      expect(await db.get('nobody', 'alice')).to.equal(undefined);
      await inst.close();
    });

    it('an empty value is stored and read back as an empty Buffer, unlike a missing key', async () => {
      const { inst, db } = await openFresh();
      await db.put('t', 'empty', '');
      const v = await db.get('t', 'empty');
      expect(v).to.be.instanceOf(Buffer);
      expect(v!.length).to.equal(0);
      expect(await collect(db.range('t'))).to.have.length(1);
      await inst.close();
    });

    it('put replaces the value of an existing key, in both directions across the long-value limit', async () => {
      const { inst, db } = await openFresh(SMALL);
      const big = patterned(20_000, 3);
      const bigger = patterned(30_000, 4);
      await db.put('t', 'k', 'short');
      await db.put('t', 'k', big);
      expect((await db.get('t', 'k'))!.equals(big)).to.equal(true);
      await db.put('t', 'k', bigger);
      expect((await db.get('t', 'k'))!.equals(bigger)).to.equal(true);
      await db.put('t', 'k', 'short again');
      expect((await db.get('t', 'k'))!.toString()).to.equal('short again');
      expect(await collect(db.range('t'))).to.have.length(1);
      const report = await db.checkTables();
      expect(report.problems).to.deep.equal([]);
      // Both long values were freed when replaced.
      expect(report.freePages).to.equal(Math.ceil(20_000 / longCapacity(4096)) + Math.ceil(30_000 / longCapacity(4096)));
      await inst.close();
    });

    it('delete resolves to true when the key existed and false otherwise, and the row is gone', async () => {
      const { inst, db } = await openFresh();
      await db.put('t', 'a', '1');
      await db.put('t', 'b', '2');
      expect(await db.delete('t', 'a')).to.equal(true);
      expect(await db.delete('t', 'a')).to.equal(false);
      expect(await db.delete('t', 'zzz')).to.equal(false);
      expect(await db.get('t', 'a')).to.equal(undefined);
      expect((await db.get('t', 'b'))!.toString()).to.equal('2');
      await inst.close();
    });

    it('a key passed as a view into a larger buffer means just the viewed bytes, and later changes to the caller\'s buffers do not reach the table', async () => {
      const { inst, db } = await openFresh();
      const backing = Buffer.from('xxKEYyy');
      const key = new Uint8Array(backing.buffer, backing.byteOffset + 2, 3);
      const value = Buffer.from('value');
      await db.put('t', key, value);
      backing.fill(0);
      value.fill(0);
      expect((await db.get('t', 'KEY'))!.toString()).to.equal('value');
      expect(keysOf(await collect(db.range('t')))).to.deep.equal(['KEY']);
      await inst.close();
    });

    it('a long value is stored whole and deleting it frees all of its pages', async () => {
      const { inst, db } = await openFresh(SMALL);
      const v = patterned(50_000, 9);
      await db.put('t', 'small', 'x');
      await db.put('t', 'long', v);
      expect((await db.get('t', 'long'))!.equals(v)).to.equal(true);
      expect(await db.delete('t', 'long')).to.equal(true);
      const report = await db.checkTables();
      expect(report.problems).to.deep.equal([]);
      expect(report.freePages).to.equal(Math.ceil(v.length / longCapacity(4096)));
      await inst.close();
    });

    it('concurrent auto-commit puts from many callers all land', async () => {
      const { inst, db } = await openFresh(SMALL);
      await Promise.all(Array.from({ length: 200 }, (_, i) => db.put('t', `k${String(i).padStart(3, '0')}`, `v${i}`, { durable: i % 2 === 0 })));
      const rows = await collect(db.range('t'));
      expect(rows).to.have.length(200);
      for (const [i, r] of rows.entries()) expect(r.value.toString()).to.equal(`v${i}`);
      expect((await db.checkTables()).problems).to.deep.equal([]);
      await inst.close();
    });

    it('what was put survives a clean close and reopen', async () => {
      const { dir, inst, db } = await openFresh(SMALL);
      const model = new Model();
      for (let i = 0; i < 500; i++) {
        const v = patterned(i % 50 === 0 ? 9000 : i % 300, i + 1);
        await db.put(i % 2 ? 'odd' : 'even', `key-${i}`, v, { durable: false });
        model.put(i % 2 ? 'odd' : 'even', `key-${i}`, v);
      }
      await inst.close();
      const again = await reopen(dir, SMALL);
      await expectDatabaseEquals(again.db, model, 'after reopen');
      await again.inst.close();
    });
  });

  describe('tables()', () => {
    it('lists no tables in a new database, and a table only once something was put in it', async () => {
      const { inst, db } = await openFresh();
      expect(await db.tables()).to.deep.equal([]);
      expect(await db.get('t', 'k')).to.equal(undefined);
      expect(await db.delete('t', 'k')).to.equal(false);
      expect(await collect(db.range('t'))).to.deep.equal([]);
      expect(await db.tables()).to.deep.equal([]);
      await db.put('t', 'k', 'v');
      expect(await db.tables()).to.deep.equal(['t']);
      await inst.close();
    });

    it('lists the tables in the byte order of their UTF-8 names, not in creation or UTF-16 order', async () => {
      const { inst, db } = await openFresh();
      // U+1F600 sorts before U+FF61 in UTF-16 (a surrogate, 0xD83D) but after it in UTF-8 (0xF0 > 0xEF).
      const names = ['b', '\u{1F600}', 'a', '\uFF61', 'B', 'ab', '\u00e9', 'z'];
      for (const n of names) await db.put(n, 'k', n);
      expect(await db.tables()).to.deep.equal(['B', 'a', 'ab', 'b', 'z', '\u00e9', '\uFF61', '\u{1F600}']);
      expect((await db.get('\u{1F600}', 'k'))!.toString()).to.equal('\u{1F600}');
      await inst.close();
    });

    it('keeps a table whose rows were all deleted', async () => {
      const { inst, db } = await openFresh();
      await db.put('t', 'k', 'v');
      await db.delete('t', 'k');
      expect(await db.tables()).to.deep.equal(['t']);
      expect(await collect(db.range('t'))).to.deep.equal([]);
      await inst.close();
    });

    it('hundreds of tables grow the catalog past one page, and every table stays reachable, before and after reopening', async () => {
      const { dir, inst, db } = await openFresh(SMALL);
      const model = new Model();
      const nameOf = (i: number) => `${String((i * 7919) % 400).padStart(3, '0')}-${'t'.repeat(60)}`; // 64 bytes
      await db.transaction(async (tx) => {
        for (let i = 0; i < 400; i++) {
          await tx.put(nameOf(i), 'row', `table ${i}`);
          model.put(nameOf(i), 'row', `table ${i}`);
        }
      });
      const report = await db.checkTables();
      expect(report.tables).to.have.length(400);
      await expectDatabaseEquals(db, model, 'many tables');
      await inst.close();
      const again = await reopen(dir, SMALL);
      await expectDatabaseEquals(again.db, model, 'many tables after reopen');
      await again.inst.close();
    });

    it('accepts a table name of exactly 64 UTF-8 bytes', async () => {
      const { inst, db } = await openFresh();
      const name = '\u00e9'.repeat(32); // 64 bytes, 32 characters
      await db.put(name, 'k', 'v');
      expect(await db.tables()).to.deep.equal([name]);
      await inst.close();
    });
  });

  describe('transactions', () => {
    it('a transaction reads its own puts and deletes, by get and by range, and resolves to what its function returned', async () => {
      const { inst, db } = await openFresh();
      await db.put('t', 'old', 'o');
      const result = await db.transaction(async (tx) => {
        await tx.put('t', 'new', 'n');
        expect((await tx.get('t', 'new'))!.toString()).to.equal('n');
        expect(await tx.delete('t', 'old')).to.equal(true);
        expect(await tx.get('t', 'old')).to.equal(undefined);
        await tx.put('t2', 'x', 'y');
        expect(keysOf(await collect(tx.range('t')))).to.deep.equal(['new']);
        expect(await tx.tables()).to.deep.equal(['t', 't2']);
        return 'done';
      });
      expect(result).to.equal('done');
      expect(keysOf(await collect(db.range('t')))).to.deep.equal(['new']);
      expect(await db.tables()).to.deep.equal(['t', 't2']);
      await inst.close();
    });

    it('reads outside a transaction do not see its writes before it commits', async () => {
      const { inst, db } = await openFresh();
      await db.put('t', 'k', 'before');
      await db.transaction(async (tx) => {
        await tx.put('t', 'k', 'during');
        await tx.put('t', 'k2', 'new');
        expect((await db.get('t', 'k'))!.toString()).to.equal('before');
        expect(await db.get('t', 'k2')).to.equal(undefined);
        expect(keysOf(await collect(db.range('t')))).to.deep.equal(['k']);
      });
      expect((await db.get('t', 'k'))!.toString()).to.equal('during');
      await inst.close();
    });

    it('a transaction whose function throws changes nothing, creates no table, and rethrows the same error', async () => {
      const { inst, db } = await openFresh(SMALL);
      await db.put('t', 'keep', 'v');
      for (let i = 0; i < 100; i++) await db.put('t', `row${i}`, patterned(200, i + 1));
      const before = await state(db);
      const boom = new Error('boom');
      let caught: unknown;
      try {
        await db.transaction(async (tx) => {
          await tx.put('t', 'keep', 'changed');
          await tx.delete('t', 'row5');
          for (let i = 0; i < 100; i++) await tx.put('t', `more${i}`, patterned(300, i + 7)); // splits
          await tx.put('t', 'long', patterned(40_000, 1));
          await tx.put('brand new', 'k', 'v');
          expect(await tx.tables()).to.deep.equal(['brand new', 't']);
          throw boom;
        });
      } catch (e) {
        caught = e;
      }
      expect(caught).to.equal(boom);
      expect(await state(db)).to.deep.equal(before);
      expect(await db.tables()).to.deep.equal(['t']);
      expect((await db.checkTables()).problems).to.deep.equal([]);
      // The writer slot was released: the next transaction runs.
      await db.put('t', 'after', 'ok');
      expect((await db.get('t', 'after'))!.toString()).to.equal('ok');
      await inst.close();
    });

    it('the first put of a database rolled back leaves it without tables, and it works afterwards', async () => {
      const { dir, inst, db } = await openFresh();
      await db.transaction(async (tx) => {
        await tx.put('t', 'k', 'v');
        throw new Error('no');
      }).catch(() => undefined);
      expect(await db.tables()).to.deep.equal([]);
      expect(db.pageCount).to.equal(0);
      await db.put('u', 'k', 'v');
      await inst.close();
      const again = await reopen(dir);
      expect(await again.db.tables()).to.deep.equal(['u']);
      await again.inst.close();
    });

    it('a transaction handle kept past its commit refuses further use', async () => {
      const { inst, db } = await openFresh();
      let kept: Parameters<Parameters<Database['transaction']>[0]>[0] | undefined;
      await db.transaction(async (tx) => { kept = tx; await tx.put('t', 'k', 'v'); });
      await expectJetError(kept!.put('t', 'k2', 'v'), 'JET_errInvalidParameter');
      await expectJetError(kept!.get('t', 'k'), 'JET_errInvalidParameter');
      expect(await db.get('t', 'k2')).to.equal(undefined);
      await inst.close();
    });
  });

  describe('range', () => {
    // Keys b d f h j: every bound can sit on a key, between keys, or outside them all.
    async function fiveKeys(): Promise<{ inst: Instance; db: Database }> {
      const { inst, db } = await openFresh();
      for (const k of ['h', 'b', 'j', 'd', 'f']) await db.put('t', k, k.toUpperCase());
      return { inst, db };
    }

    const cases: [RangeOptions, string[]][] = [
      [{}, ['b', 'd', 'f', 'h', 'j']],
      [{ gte: 'd' }, ['d', 'f', 'h', 'j']],
      [{ gte: 'c' }, ['d', 'f', 'h', 'j']],
      [{ gt: 'd' }, ['f', 'h', 'j']],
      [{ gt: 'c' }, ['d', 'f', 'h', 'j']],
      [{ lt: 'h' }, ['b', 'd', 'f']],
      [{ lt: 'g' }, ['b', 'd', 'f']],
      [{ lte: 'h' }, ['b', 'd', 'f', 'h']],
      [{ lte: 'g' }, ['b', 'd', 'f']],
      [{ gte: 'b', lte: 'j' }, ['b', 'd', 'f', 'h', 'j']],
      [{ gt: 'b', lt: 'j' }, ['d', 'f', 'h']],
      [{ gte: 'a', lte: 'z' }, ['b', 'd', 'f', 'h', 'j']],
      [{ gt: 'j' }, []],
      [{ gte: 'k' }, []],
      [{ lt: 'b' }, []],
      [{ lte: 'a' }, []],
      [{ gte: 'f', lte: 'f' }, ['f']],
      [{ gt: 'f', lt: 'h' }, []],
      [{ gte: 'e', lt: 'f' }, []],
      [{ gte: 'h', lte: 'd' }, []],
      [{ gt: 'f', lte: 'f' }, []],
      [{ limit: 0 }, []],
      [{ limit: 1 }, ['b']],
      [{ limit: 2, gt: 'b' }, ['d', 'f']],
      [{ limit: 100 }, ['b', 'd', 'f', 'h', 'j']],
      [{ gte: 'c', gt: 'd' }, ['f', 'h', 'j']],
      [{ gt: 'c', gte: 'd' }, ['d', 'f', 'h', 'j']],
      [{ lt: 'h', lte: 'f' }, ['b', 'd', 'f']],
      [{ lt: 'f', lte: 'h' }, ['b', 'd']],
      [{ reverse: true }, ['j', 'h', 'f', 'd', 'b']],
      [{ reverse: true, gte: 'd' }, ['j', 'h', 'f', 'd']],
      [{ reverse: true, gte: 'c' }, ['j', 'h', 'f', 'd']],
      [{ reverse: true, gt: 'd' }, ['j', 'h', 'f']],
      [{ reverse: true, lt: 'h' }, ['f', 'd', 'b']],
      [{ reverse: true, lt: 'g' }, ['f', 'd', 'b']],
      [{ reverse: true, lte: 'h' }, ['h', 'f', 'd', 'b']],
      [{ reverse: true, lte: 'g' }, ['f', 'd', 'b']],
      [{ reverse: true, lte: 'z' }, ['j', 'h', 'f', 'd', 'b']],
      [{ reverse: true, lt: 'b' }, []],
      [{ reverse: true, gt: 'j' }, []],
      [{ reverse: true, gt: 'b', lt: 'j' }, ['h', 'f', 'd']],
      [{ reverse: true, lt: 'f', lte: 'h' }, ['d', 'b']],
      [{ reverse: true, lte: 'f', lt: 'h' }, ['f', 'd', 'b']],
      [{ reverse: true, limit: 0 }, []],
      [{ reverse: true, limit: 1 }, ['j']],
      [{ reverse: true, limit: 2, lte: 'f' }, ['f', 'd']],
    ];

    it('honours gt, gte, lt, lte, limit and reverse at existing keys, between keys and past either end', async () => {
      const { inst, db } = await fiveKeys();
      for (const [o, want] of cases) {
        const rows = await collect(db.range('t', o));
        expect(keysOf(rows), JSON.stringify(o)).to.deep.equal(want);
        for (const r of rows) expect(r.value.toString()).to.equal(r.key.toString().toUpperCase());
      }
      await inst.close();
    });

    it('gives the same answers inside a transaction', async () => {
      const { inst, db } = await fiveKeys();
      await db.transaction(async (tx) => {
        for (const [o, want] of cases) expect(keysOf(await collect(tx.range('t', o))), JSON.stringify(o)).to.deep.equal(want);
      });
      await inst.close();
    });

    it('yields nothing for a table that does not exist', async () => {
      const { inst, db } = await fiveKeys();
      expect(await collect(db.range('nope'))).to.deep.equal([]);
      expect(await collect(db.range('nope', { reverse: true, gte: 'a' }))).to.deep.equal([]);
      await inst.close();
    });

    it('matches a sorted array for bounds at, just before and just after every key of a multi-level tree', async () => {
      const { inst, db } = await openFresh(SMALL);
      const model = new Model();
      await db.transaction(async (tx) => {
        for (let i = 0; i < 1500; i += 2) {
          const k = `k${String(i).padStart(5, '0')}`;
          const v = patterned(i % 7 === 0 ? 1200 : 40, i + 1);
          await tx.put('t', k, v);
          model.put('t', k, v);
        }
      });
      const report = await db.checkTables();
      expect(report.tables[0]!.depth).to.be.at.least(2);
      const probes: string[] = [];
      for (let i = 0; i < 1500; i += 37) probes.push(`k${String(i).padStart(5, '0')}`, `k${String(i).padStart(5, '0')}!`, `k${String(i - 1).padStart(5, '0')}~`);
      for (const a of probes) {
        for (const opt of [{ gte: a }, { gt: a }, { lt: a }, { lte: a }] as RangeOptions[]) {
          for (const reverse of [false, true]) {
            const o = { ...opt, reverse, limit: 25 };
            expectRows(await collect(db.range('t', o)), model.range('t', o), JSON.stringify(o));
          }
        }
      }
      // Every range of two bounds at leaf-boundary-crossing distance.
      for (let i = 0; i + 1 < probes.length; i += 3) {
        const o = { gt: probes[i], lte: probes[i + 1 + (i % 4)] ?? probes[probes.length - 1] };
        expectRows(await collect(db.range('t', o)), model.range('t', o), JSON.stringify(o));
        expectRows(await collect(db.range('t', { ...o, reverse: true })), model.range('t', { ...o, reverse: true }), `${JSON.stringify(o)} reverse`);
      }
      await inst.close();
    });

    it('orders keys as unsigned bytes: 0x00 < 0x7f < 0x80 < 0xff, and a prefix before its extensions', async () => {
      const { inst, db } = await openFresh();
      const keys = [[0xff], [0x80], [0x7f], [0x00], [0x7f, 0x00], [0x80, 0xff], [0x01], [0xff, 0xff]].map((a) => Buffer.from(a));
      for (const k of keys) await db.put('bin', k, k);
      for (const k of ['b', 'aa', 'a', 'ab', 'a\u0000', 'B', '\u00e9', 'z']) await db.put('text', k, k);
      expect(hexKeys(await collect(db.range('bin')))).to.deep.equal(['00', '01', '7f', '7f00', '80', '80ff', 'ff', 'ffff']);
      expect(hexKeys(await collect(db.range('bin', { reverse: true })))).to.deep.equal(['ffff', 'ff', '80ff', '80', '7f00', '7f', '01', '00']);
      expect(hexKeys(await collect(db.range('bin', { gt: Buffer.from([0x7f]), lt: Buffer.from([0xff]) })))).to.deep.equal(['7f00', '80', '80ff']);
      expect((await collect(db.range('text'))).map((r) => r.key.toString('utf8'))).to.deep.equal(['B', 'a', 'a\u0000', 'aa', 'ab', 'b', 'z', '\u00e9']);
      await inst.close();
    });

    it('a range keeps seeing its snapshot while other commits put, change and delete rows between the rows it yields', async () => {
      const { inst, db } = await openFresh(SMALL);
      const model = new Model();
      await db.transaction(async (tx) => {
        for (let i = 0; i < 600; i++) {
          const v = patterned(i % 25 === 0 ? 6000 : 150, i + 1);
          await tx.put('t', `k${String(i).padStart(4, '0')}`, v);
          model.put('t', `k${String(i).padStart(4, '0')}`, v);
        }
      });
      const snapshot = model.clone();
      for (const reverse of [false, true]) {
        const seen: Row[] = [];
        let n = 0;
        for await (const row of db.range('t', { reverse })) {
          seen.push(row);
          n++;
          // Between rows: change rows ahead and behind, delete some, add new ones, force writes and evictions.
          const ahead = `k${String((reverse ? 600 - n : n) + 3).padStart(4, '0')}`;
          await db.put('t', ahead, patterned(n % 10 === 0 ? 7000 : 90, n + 1000), { durable: false });
          model.put('t', ahead, patterned(n % 10 === 0 ? 7000 : 90, n + 1000));
          const victim = `k${String((n * 7) % 600).padStart(4, '0')}`;
          await db.delete('t', victim, { durable: false });
          model.delete('t', victim);
          await db.put('t', `k${String(n).padStart(4, '0')}+${reverse}`, 'new', { durable: false });
          model.put('t', `k${String(n).padStart(4, '0')}+${reverse}`, 'new');
          if (n % 100 === 0) await inst.checkpoint();
        }
        expectRows(seen, snapshot.range('t', { reverse }), `the iteration (reverse ${reverse})`);
        snapshot.tables.set('t', new Map(model.tables.get('t')!));
      }
      await expectDatabaseEquals(db, model, 'after the iterations');
      await inst.close();
    });
  });

  describe('limits', () => {
    it('a key of 1024 bytes works and one of 1025 bytes is JET_errKeyTooBig, for put, get and delete alike', async () => {
      const { inst, db } = await openFresh(SMALL);
      expect(MAX_KEY_BYTES).to.equal(1024);
      const max = patterned(1024, 5);
      await db.put('t', max, 'v');
      expect((await db.get('t', max))!.toString()).to.equal('v');
      expect(hexKeys(await collect(db.range('t', { gte: max, lte: max })))).to.deep.equal([max.toString('hex')]);
      const over = patterned(1025, 5);
      await expectJetError(db.put('t', over, 'v'), 'JET_errKeyTooBig');
      await expectJetError(db.get('t', over), 'JET_errKeyTooBig');
      await expectJetError(db.delete('t', over), 'JET_errKeyTooBig');
      await expectJetError(db.put('t', 'x'.repeat(1025), 'v'), 'JET_errKeyTooBig');
      // The limit counts UTF-8 bytes: 512 two-byte characters fit, 513 do not.
      await db.put('t', '\u00e9'.repeat(512), 'v');
      await expectJetError(db.put('t', '\u00e9'.repeat(513), 'v'), 'JET_errKeyTooBig');
      expect(await db.delete('t', max)).to.equal(true);
      expect(await collect(db.range('t'))).to.have.length(1);
      await inst.close();
    });

    it('many 1024-byte keys build a deep tree whose every row reads back (branch pages of three cells)', async () => {
      const { dir, inst, db } = await openFresh(SMALL);
      const model = new Model();
      const keyOf = (i: number) => {
        const k = Buffer.alloc(1024, 0x6b);
        k.writeUInt32BE(i * 2654435761 >>> 0, 1020); // differ only at the very end, in a scattered order
        return k;
      };
      await db.transaction(async (tx) => {
        for (let i = 0; i < 300; i++) {
          await tx.put('t', keyOf(i), patterned(1 + (i % 50), i + 1));
          model.put('t', keyOf(i), patterned(1 + (i % 50), i + 1));
        }
      });
      const report = await db.checkTables();
      expect(report.tables[0]!.depth).to.be.at.least(4);
      await expectDatabaseEquals(db, model, 'deep tree');
      for (let i = 0; i < 300; i += 2) {
        expect(await db.delete('t', keyOf(i))).to.equal(true);
        model.delete('t', keyOf(i));
      }
      await expectDatabaseEquals(db, model, 'deep tree, half deleted');
      await inst.close();
      const again = await reopen(dir, SMALL);
      await expectDatabaseEquals(again.db, model, 'deep tree after reopen');
      await again.inst.close();
    });

    it('a 1024-byte key with an empty value works with 4096-byte pages', async () => {
      const { inst, db } = await openFresh(SMALL);
      const k = Buffer.alloc(1024, 0x41);
      await db.put('t', k, '');
      expect((await db.get('t', k))?.length).to.equal(0);
      expect(await db.delete('t', k)).to.equal(true);
      expect((await db.checkTables()).problems).to.deep.equal([]);
      await inst.close();
    });

    it('a 64 MiB value round-trips, and one byte more is JET_errColumnTooBig and changes nothing', async function () {
      this.timeout(180_000);
      const { dir, inst, db } = await openFresh();
      expect(MAX_VALUE_BYTES).to.equal(64 * 1024 * 1024);
      await db.put('t', 'small', 's');
      const big = Buffer.alloc(MAX_VALUE_BYTES);
      for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i); // every page's worth distinct
      big[big.length - 1] = 0xee;
      await db.put('t', 'big', big);
      const before = db.pageCount;
      const tooBig = Buffer.alloc(MAX_VALUE_BYTES + 1);
      await expectJetError(db.put('t', 'big', tooBig), 'JET_errColumnTooBig');
      await expectJetError(db.put('t', 'other', tooBig), 'JET_errColumnTooBig');
      await expectJetError(db.transaction(async (tx) => { await tx.put('t', 'x', 'y'); await tx.put('t', 'other', tooBig); }), 'JET_errColumnTooBig');
      expect(db.pageCount).to.equal(before);
      expect(await db.get('t', 'other')).to.equal(undefined);
      expect(await db.get('t', 'x')).to.equal(undefined);
      expect((await db.get('t', 'big'))!.equals(big)).to.equal(true);
      await inst.close();
      const again = await reopen(dir);
      expect((await again.db.get('t', 'big'))!.equals(big)).to.equal(true);
      expect(await again.db.delete('t', 'big')).to.equal(true);
      const report = await again.db.checkTables();
      expect(report.problems).to.deep.equal([]);
      expect(report.freePages).to.equal(Math.ceil(MAX_VALUE_BYTES / longCapacity(8192)));
      await again.inst.close();
    });
  });

  describe('bad input', () => {
    const cases: { what: string; err: JetErrName; run: (db: Database) => Promise<unknown> }[] = [
      { what: 'put with an empty string key', err: 'JET_errInvalidParameter', run: (db) => db.put('t', '', 'v') },
      { what: 'put with an empty byte key', err: 'JET_errInvalidParameter', run: (db) => db.put('t', new Uint8Array(0), 'v') },
      { what: 'put with a 1025-byte key', err: 'JET_errKeyTooBig', run: (db) => db.put('t', Buffer.alloc(1025, 1), 'v') },
      { what: 'put with a number key', err: 'JET_errInvalidParameter', run: (db) => db.put('t', 42 as never, 'v') },
      { what: 'put with a null key', err: 'JET_errInvalidParameter', run: (db) => db.put('t', null as never, 'v') },
      { what: 'put with an undefined key', err: 'JET_errInvalidParameter', run: (db) => db.put('t', undefined as never, 'v') },
      { what: 'put with an array key', err: 'JET_errInvalidParameter', run: (db) => db.put('t', [1, 2] as never, 'v') },
      { what: 'put with a number value', err: 'JET_errInvalidParameter', run: (db) => db.put('t', 'k', 7 as never) },
      { what: 'put with a null value', err: 'JET_errInvalidParameter', run: (db) => db.put('t', 'k', null as never) },
      { what: 'put with an undefined value', err: 'JET_errInvalidParameter', run: (db) => db.put('t', 'k', undefined as never) },
      { what: 'put with an object value', err: 'JET_errInvalidParameter', run: (db) => db.put('t', 'k', { a: 1 } as never) },
      { what: 'put into an empty table name', err: 'JET_errInvalidName', run: (db) => db.put('', 'k', 'v') },
      { what: 'put into a 65-byte table name', err: 'JET_errInvalidName', run: (db) => db.put('n'.repeat(65), 'k', 'v') },
      { what: 'put into a 66-byte table name of 33 characters', err: 'JET_errInvalidName', run: (db) => db.put('\u00e9'.repeat(33), 'k', 'v') },
      { what: 'put into a table name with NUL', err: 'JET_errInvalidName', run: (db) => db.put('a\u0000b', 'k', 'v') },
      { what: 'put into a non-string table name', err: 'JET_errInvalidName', run: (db) => db.put(7 as never, 'k', 'v') },
      { what: 'put into a new table with a bad key', err: 'JET_errInvalidParameter', run: (db) => db.put('brand new', '', 'v') },
      { what: 'get with an empty key', err: 'JET_errInvalidParameter', run: (db) => db.get('t', '') },
      { what: 'get with a 1025-byte key', err: 'JET_errKeyTooBig', run: (db) => db.get('t', 'k'.repeat(1025)) },
      { what: 'get from an empty table name', err: 'JET_errInvalidName', run: (db) => db.get('', 'k') },
      { what: 'delete with an empty key', err: 'JET_errInvalidParameter', run: (db) => db.delete('t', '') },
      { what: 'delete with a number key', err: 'JET_errInvalidParameter', run: (db) => db.delete('t', 1 as never) },
      { what: 'delete from a 65-byte table name', err: 'JET_errInvalidName', run: (db) => db.delete('n'.repeat(65), 'k') },
      { what: 'range with limit -1', err: 'JET_errInvalidParameter', run: (db) => collect(db.range('t', { limit: -1 })) },
      { what: 'range with limit 1.5', err: 'JET_errInvalidParameter', run: (db) => collect(db.range('t', { limit: 1.5 })) },
      { what: 'range with limit NaN', err: 'JET_errInvalidParameter', run: (db) => collect(db.range('t', { limit: NaN })) },
      { what: 'range with a number bound', err: 'JET_errInvalidParameter', run: (db) => collect(db.range('t', { gte: 3 as never })) },
      { what: 'range with null options', err: 'JET_errInvalidParameter', run: (db) => collect(db.range('t', null as never)) },
      { what: 'range over an empty table name', err: 'JET_errInvalidName', run: (db) => collect(db.range('')) },
      {
        what: 'a transaction whose second put has a bad key', err: 'JET_errInvalidParameter',
        run: (db) => db.transaction(async (tx) => { await tx.put('t', 'good', 'v'); await tx.put('t', '', 'v'); }),
      },
      {
        what: 'a transaction whose second put has a bad table name', err: 'JET_errInvalidName',
        run: (db) => db.transaction(async (tx) => { await tx.put('new', 'good', 'v'); await tx.put('', 'k', 'v'); }),
      },
      {
        what: 'a transaction with a bad range', err: 'JET_errInvalidParameter',
        run: (db) => db.transaction(async (tx) => { await tx.delete('t', 'a'); await collect(tx.range('t', { limit: -2 })); }),
      },
    ];

    it('each bad input fails with its JetError and leaves every table as it was', async () => {
      const { inst, db } = await openFresh(SMALL);
      for (let i = 0; i < 50; i++) await db.put('t', String.fromCharCode(97 + (i % 26)) + i, patterned(i * 40, i + 1));
      const before = await state(db);
      for (const c of cases) {
        const e = await expectJetError(c.run(db), c.err);
        expect(e, c.what).to.be.instanceOf(JetError);
        expect(await state(db), `after ${c.what}`).to.deep.equal(before);
      }
      expect((await db.checkTables()).problems).to.deep.equal([]);
      await inst.close();
    });
  });

  describe('after close', () => {
    it('every table operation on a closed instance fails with JET_errNotInitialized', async () => {
      const { inst, db } = await openFresh();
      await db.put('t', 'k', 'v');
      await inst.close();
      await expectJetError(() => db.put('t', 'k', 'v'), 'JET_errNotInitialized');
      await expectJetError(() => db.get('t', 'k'), 'JET_errNotInitialized');
      await expectJetError(() => db.delete('t', 'k'), 'JET_errNotInitialized');
      await expectJetError(() => collect(db.range('t')), 'JET_errNotInitialized');
      await expectJetError(() => db.tables(), 'JET_errNotInitialized');
      await expectJetError(() => db.checkTables(), 'JET_errNotInitialized');
      await expectJetError(() => db.transaction(async (tx) => tx.put('t', 'k', 'v')), 'JET_errNotInitialized');
    });

    it('on a closed instance every promise-returning table operation rejects rather than throwing synchronously', async () => {
      const { inst, db } = await openFresh();
      await inst.close();
      const calls: [string, () => Promise<unknown>][] = [
        ['put', () => db.put('t', 'k', 'v')],
        ['get', () => db.get('t', 'k')],
        ['delete', () => db.delete('t', 'k')],
        ['tables', () => db.tables()],
        ['checkTables', () => db.checkTables()],
        ['transaction', () => db.transaction(async () => undefined)],
      ];
      for (const [name, call] of calls) {
        let p: Promise<unknown> | undefined;
        try {
          p = call();
        } catch (e) {
          expect.fail(`${name} threw synchronously instead of returning a rejected promise: ${String(e)}`);
        }
        await expectJetError(p!, 'JET_errNotInitialized');
      }
    });

    it('a range being iterated when the instance closes fails on its next row with JET_errNotInitialized', async () => {
      const { inst, db } = await openFresh(SMALL);
      await db.transaction(async (tx) => { for (let i = 0; i < 300; i++) await tx.put('t', `k${String(i).padStart(3, '0')}`, patterned(100, i + 1)); });
      const it = db.range('t')[Symbol.asyncIterator]();
      expect((await it.next()).done).to.equal(false);
      await inst.close();
      let err: unknown;
      try {
        for (let i = 0; i < 300; i++) if ((await it.next()).done) break;
      } catch (e) {
        err = e;
      }
      expect(JetError.is(err, 'JET_errNotInitialized'), String(err)).to.equal(true);
    });
  });

  describe('pages', () => {
    it('deleting every row frees the pages, and inserting again reuses them: the page count stops growing', async () => {
      const { dir, inst, db } = await openFresh(SMALL);
      const rows = Array.from({ length: 400 }, (_, i) => ({ key: `r${(i * 7919) % 400}`, value: patterned(i % 20 === 0 ? 9000 : 120, i + 1) }));
      const fill = () => db.transaction(async (tx) => { for (const r of rows) await tx.put('t', r.key, r.value); });
      const empty = () => db.transaction(async (tx) => { for (const r of rows) expect(await tx.delete('t', r.key)).to.equal(true); });
      await fill();
      const full = db.pageCount;
      await empty();
      let report = await db.checkTables();
      expect(report.problems).to.deep.equal([]);
      // Meta page, catalog root and the table's root stay; everything else is free.
      expect(report.freePages).to.equal(full - 3);
      expect(report.pagesInUse).to.equal(full);
      for (let cycle = 0; cycle < 4; cycle++) {
        await fill();
        expect(db.pageCount, `cycle ${cycle}: page count after refilling`).to.equal(full);
        report = await db.checkTables();
        expect(report.problems).to.deep.equal([]);
        expect(report.freePages, `cycle ${cycle}: free pages when full`).to.equal(0);
        await empty();
        expect((await db.checkTables()).freePages).to.equal(full - 3);
      }
      await inst.close();
      // The file does not grow either, across a reopen and one more refill.
      const { size } = await stat(path.join(dir, 'main.edb'));
      const again = await reopen(dir, SMALL);
      await again.db.transaction(async (tx) => { for (const r of rows) await tx.put('t', r.key, r.value); });
      expect(again.db.pageCount).to.equal(full);
      const model = new Model();
      for (const r of rows) model.put('t', r.key, r.value);
      await expectDatabaseEquals(again.db, model, 'refilled after reopen');
      await again.inst.close();
      expect((await stat(path.join(dir, 'main.edb'))).size).to.equal(size);
    });

    it('every page of the file passes its checksum after splits, long values, overwrites and frees', async () => {
      const { dir, inst: first, db: firstDb } = await openFresh(SMALL);
      let inst = first;
      let db = firstDb;
      const model = new Model();
      const kinds = new Set<number>();
      const phase = async (what: string, work: () => Promise<void>) => {
        await work();
        await expectDatabaseEquals(db, model, what);
        await inst.close();
        for (const k of await verifyEveryPage(dir)) if (k) kinds.add(k);
        ({ inst, db } = await reopen(dir, SMALL));
      };
      await phase('splits', async () => {
        for (let i = 0; i < 1500; i++) {
          const k = `s${(i * 104729) % 1500}`;
          await db.put('small', k, patterned(60, i + 1), { durable: false });
          model.put('small', k, patterned(60, i + 1));
        }
      });
      await phase('long values', async () => {
        for (let i = 0; i < 30; i++) {
          await db.put('long', `l${i}`, patterned(5000 + i * 1500, i + 1), { durable: false });
          model.put('long', `l${i}`, patterned(5000 + i * 1500, i + 1));
        }
      });
      await phase('overwrites across the long-value limit', async () => {
        for (let i = 0; i < 30; i++) {
          const v = patterned(i % 2 ? 20 : 25_000, i + 100);
          await db.put('long', `l${i}`, v, { durable: false });
          model.put('long', `l${i}`, v);
        }
        for (let i = 0; i < 1500; i += 3) {
          await db.put('small', `s${i}`, patterned(3000, i + 7), { durable: false });
          model.put('small', `s${i}`, patterned(3000, i + 7));
        }
      });
      await phase('frees', async () => {
        for (let i = 0; i < 1500; i++) if (i % 5 !== 0) { await db.delete('small', `s${i}`, { durable: false }); model.delete('small', `s${i}`); }
        for (let i = 0; i < 30; i++) { await db.delete('long', `l${i}`, { durable: false }); model.delete('long', `l${i}`); }
        expect((await db.checkTables()).freePages).to.be.above(100);
      });
      await phase('reuse', async () => {
        for (let i = 0; i < 800; i++) {
          await db.put('again', `a${i}`, patterned(i % 40 === 0 ? 8000 : 100, i + 3), { durable: false });
          model.put('again', `a${i}`, patterned(i % 40 === 0 ? 8000 : 100, i + 3));
        }
      });
      await inst.close();
      expect([...kinds].sort()).to.deep.equal([PAGE_KIND_META, PAGE_KIND_LEAF, PAGE_KIND_BRANCH, PAGE_KIND_LONG, PAGE_KIND_FREE].sort());
    });

    it('a corrupted byte in a leaf page makes reads through that page fail with JET_errReadVerifyFailure, and only those', async () => {
      const { dir, inst, db } = await openFresh(SMALL);
      await db.transaction(async (tx) => {
        for (let i = 0; i < 400; i++) await tx.put('t', `k${String(i).padStart(4, '0')}`, patterned(100, i + 1));
      });
      await inst.close();
      // Find a leaf of the table in the middle of the key range.
      const f = await DatabaseFile.open(nodeFileSystem, path.join(dir, 'main.edb'), 'r');
      const leaves: { pgno: number; keys: string[] }[] = [];
      for (let pgno = 1; pgno <= f.header.pageCount; pgno++) {
        const { page } = await f.readPage(pgno);
        if (pageKind(page) !== PAGE_KIND_LEAF) continue;
        const node = decodeNode(page);
        if (node.kind === 'leaf' && node.prev !== 0 && node.next !== 0) leaves.push({ pgno, keys: node.cells.map((c) => c.key.toString()) });
      }
      await f.close();
      expect(leaves.length).to.be.at.least(3);
      const victim = leaves[1]!;
      const other = leaves.find((l) => l !== victim)!;
      const fh = await fsOpen(path.join(dir, 'main.edb'), 'r+');
      const at = pageOffset(victim.pgno, 4096) + NODE_HEADER + 9; // inside the first cell's key
      const b = Buffer.alloc(1);
      await fh.read(b, 0, 1, at);
      b[0] ^= 0x20;
      await fh.write(b, 0, 1, at);
      await fh.close();

      const again = await reopen(dir, SMALL);
      const e = await expectJetError(again.db.get('t', victim.keys[0]!), 'JET_errReadVerifyFailure');
      expect(e.message).to.include(`page ${victim.pgno}`);
      await expectJetError(again.db.get('t', victim.keys[victim.keys.length - 1]!), 'JET_errReadVerifyFailure');
      await expectJetError(collect(again.db.range('t')), 'JET_errReadVerifyFailure');
      await expectJetError(again.db.checkTables(), 'JET_errReadVerifyFailure');
      await expectJetError(again.db.put('t', victim.keys[0]!, 'x'), 'JET_errReadVerifyFailure');
      // Rows in other leaves are still readable, and the failed put changed nothing.
      expect((await again.db.get('t', other.keys[0]!))!.equals(patterned(100, Number(other.keys[0]!.slice(1)) + 1))).to.equal(true);
      await again.inst.close();
    });
  });
});

describe('tables: strings that are not valid Unicode', () => {
  afterEach(removeTmpDirs);

  it('refuses keys and table names with a lone surrogate, which would collide with other strings in UTF-8', async () => {
    const inst = await Instance.open(await tmpDir());
    const db = await inst.openDatabase('main.edb', { create: true });
    await expectJetError(db.put('t', 'a\uD800', 'v'), 'JET_errInvalidParameter');
    await expectJetError(db.put('t\uDC00', 'a', 'v'), 'JET_errInvalidName');
    await db.put('t', 'a\uD83D\uDE00', 'v'); // a proper surrogate pair is fine
    expect(String(await db.get('t', 'a\uD83D\uDE00'))).to.equal('v');
    expect(await db.tables()).to.deep.equal(['t']);
    await inst.close();
  });
});
