/**
 * Long values: a value too large for a leaf cell is stored in a chain of
 * LONG pages (format/table-pages.ts), and the cell keeps {firstPage, pageCount}.
 */
import { longCapacity, readLongChunk, writeLongChunk, type LongRef } from '../format/table-pages.js';
import { JetError } from '../errors.js';
import type { PageReader, PageWriter } from './page-access.js';

/** Write `value` into newly allocated pages; `objid` is the owning table's root. */
export async function writeLongValue(w: PageWriter, value: Buffer, objid: number): Promise<LongRef> {
  const per = longCapacity(w.pageSize);
  const pageCount = Math.ceil(value.length / per);
  // Allocate first, so each chunk can name the page after it.
  const pages: { pgno: number; page: Buffer }[] = [];
  for (let i = 0; i < pageCount; i++) pages.push(await w.alloc());
  for (let i = 0; i < pageCount; i++) {
    const next = i + 1 < pageCount ? pages[i + 1]!.pgno : 0;
    writeLongChunk(pages[i]!.page, next, value.subarray(i * per, (i + 1) * per), objid);
  }
  return { firstPage: pages[0]!.pgno, pageCount };
}

/** Read a long value of `length` bytes; the chain must hold exactly that. */
export async function readLongValue(r: PageReader, ref: LongRef, length: number): Promise<Buffer> {
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  let pgno = ref.firstPage;
  for (let i = 0; i < ref.pageCount; i++) {
    if (pgno === 0) throw broken(ref, `ends after ${i} pages`);
    let chunk: { next: number; bytes: Buffer };
    try {
      chunk = readLongChunk(await r.read(pgno));
    } catch (e) {
      throw broken(ref, `page ${pgno}: ${(e as Error).message}`);
    }
    if (at + chunk.bytes.length > length) throw broken(ref, `holds more than ${length} bytes`);
    chunk.bytes.copy(out, at);
    at += chunk.bytes.length;
    pgno = chunk.next;
  }
  if (at !== length || pgno !== 0) throw broken(ref, `holds ${at} bytes, expected ${length}`);
  return out;
}

/** Free every page of a long value. */
export async function freeLongValue(w: PageWriter, ref: LongRef): Promise<void> {
  let pgno = ref.firstPage;
  for (let i = 0; i < ref.pageCount && pgno !== 0; i++) {
    const next = readLongChunk(await w.read(pgno)).next;
    await w.free(pgno);
    pgno = next;
  }
}

function broken(ref: LongRef, what: string): JetError {
  return new JetError('JET_errDatabaseCorrupted', `long value at page ${ref.firstPage}: the chain ${what}`);
}
