/** Small helpers for engine tests: write a marker into a page, read it back. */
import { expect } from 'chai';
import { JetError, type JetErrName } from '../../src/errors.js';
import type { Database } from '../../src/engine/database.js';
import type { Instance } from '../../src/engine/instance.js';
import { PAGE_HEADER_SIZE } from '../../src/format/page.js';

/** Set the page's body to `value` (u32 at the start of the body, then a fill byte). */
export function stamp(page: Buffer, value: number): void {
  page.writeUInt32LE(value >>> 0, PAGE_HEADER_SIZE);
  page.fill(value & 0xff, PAGE_HEADER_SIZE + 4, PAGE_HEADER_SIZE + 64);
}

export function stampOf(page: Buffer): number {
  return page.readUInt32LE(PAGE_HEADER_SIZE);
}

/** Allocate `n` pages in one transaction, each stamped with its page number. */
export async function growPages(inst: Instance, db: Database, n: number, durable = true): Promise<void> {
  await inst.transaction(async (tx) => {
    for (let i = 0; i < n; i++) {
      const { pgno, page } = await tx.newPage(db);
      stamp(page, pgno);
    }
  }, { durable });
}

export async function setPage(inst: Instance, db: Database, pgno: number, value: number, durable = true): Promise<void> {
  await inst.transaction(async (tx) => stamp(await tx.writePage(db, pgno), value), { durable });
}

export async function readStamp(db: Database, pgno: number): Promise<number> {
  return stampOf((await db.readPage(pgno)).page);
}

/** Assert that `p` rejects with a JetError of the given name; returns it. */
export async function expectJetError(p: Promise<unknown> | (() => unknown), name: JetErrName): Promise<JetError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(JetError);
    expect((e as JetError).errName, (e as Error).message).to.equal(name);
    return e as JetError;
  }
  expect.fail(`expected ${name}, but it succeeded`);
}
