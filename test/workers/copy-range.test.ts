import { expect } from 'chai';
import { open as fsOpen, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import copyRange from '../../workers/copy-range.js';
import type { CopyRangeTask } from '../../src/backup/messages.js';
import { crc32c } from '../../src/checksum/crc32c.js';
import { Instance } from '../../src/engine/instance.js';
import { pageOffset } from '../../src/format/page.js';
import { nodeFileSystem, type FileSystem } from '../../src/io/file-system.js';
import { growPages } from '../helpers/engine.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

const PAGE = 8192;

/** A closed instance whose main.edb has `pages` stamped pages; returns the file and an empty destination of its size. */
async function source(pages: number): Promise<{ src: string; dst: string }> {
  const dir = await tmpDir();
  const inst = await Instance.open(dir);
  await growPages(inst, await inst.openDatabase('main.edb', { create: true }), pages);
  await inst.close();
  const src = path.join(dir, 'main.edb');
  const dst = path.join(dir, 'copy.edb');
  await writeFile(dst, Buffer.alloc((await readFile(src)).length));
  return { src, dst };
}

const task = (t: Partial<CopyRangeTask> & Pick<CopyRangeTask, 'src'>): CopyRangeTask =>
  ({ dst: null, pageSize: PAGE, firstPage: 1, pageCount: 1, retries: 3, retryDelayMs: 1, ...t });

describe('workers/copy-range', () => {
  afterEach(removeTmpDirs);

  it('copies a range to the same offsets, verifying every page, and returns the CRC of the bytes copied', async () => {
    const { src, dst } = await source(20);
    const r = await copyRange(task({ src, dst, firstPage: 5, pageCount: 10 }));
    expect(r.error).to.equal(null);
    expect(r).to.include({ firstPage: 5, pageCount: 10, bytes: 10 * PAGE, pagesVerified: 10, pagesUninitialized: 0, pagesReread: 0 });
    const from = pageOffset(5, PAGE);
    const want = (await readFile(src)).subarray(from, from + 10 * PAGE);
    expect((await readFile(dst)).subarray(from, from + 10 * PAGE).equals(want)).to.equal(true);
    expect(r.crc).to.equal(crc32c(want));
    // Outside the range the destination is untouched.
    expect((await readFile(dst)).subarray(pageOffset(4, PAGE), from).every((b) => b === 0)).to.equal(true);
  });

  it('counts never-written pages (all zeros, or past the end of the file) as not initialized, not as errors', async () => {
    const { src } = await source(3);
    const r = await copyRange(task({ src, firstPage: 1, pageCount: 300 }));
    expect(r.error).to.equal(null);
    expect(r.pagesVerified).to.equal(3);
    expect(r.pagesUninitialized).to.equal(297);
  });

  it('reports a page that keeps failing as JET_errReadVerifyFailure naming file and page, as data', async () => {
    const { src, dst } = await source(8);
    const fh = await fsOpen(src, 'r+');
    await fh.write(Buffer.from([0xff]), 0, 1, pageOffset(6, PAGE) + 100);
    await fh.close();
    const r = await copyRange(task({ src, dst, firstPage: 1, pageCount: 8, retries: 2 }));
    expect(r.error?.errName).to.equal('JET_errReadVerifyFailure');
    expect(r.error?.message).to.include('page 6').and.include(src).and.include('2 re-reads');
  });

  it('re-reads a page torn by a concurrent write and copies the good image', async () => {
    const { src, dst } = await source(8);
    // The first read of the file sees page 4 half-written; later reads see it whole.
    let reads = 0;
    const torn: FileSystem = {
      ...nodeFileSystem,
      async open(p, mode) {
        const fh = await nodeFileSystem.open(p, mode);
        if (p !== src) return fh;
        return {
          ...fh,
          read: async (b, o, l, pos) => {
            const n = await fh.read(b, o, l, pos);
            if (reads++ === 0) b.fill(0xee, o + pageOffset(4, PAGE) - pos + 4096, o + pageOffset(5, PAGE) - pos);
            return n;
          },
          write: (b, o, l, pos) => fh.write(b, o, l, pos),
          writev: (bufs, pos) => fh.writev(bufs, pos),
          datasync: () => fh.datasync(),
          truncate: (len) => fh.truncate(len),
          size: () => fh.size(),
          close: () => fh.close(),
        };
      },
    };
    const r = await copyRange(task({ src, dst, firstPage: 1, pageCount: 8 }), torn);
    expect(r.error).to.equal(null);
    expect(r.pagesReread).to.equal(1);
    const from = pageOffset(1, PAGE);
    expect((await readFile(dst)).subarray(from, from + 8 * PAGE).equals((await readFile(src)).subarray(from, from + 8 * PAGE))).to.equal(true);
  });

  it('only verifies when there is no destination', async () => {
    const { src, dst } = await source(4);
    const r = await copyRange(task({ src, firstPage: 1, pageCount: 4 }));
    expect(r.error).to.equal(null);
    expect(r.pagesVerified).to.equal(4);
    expect((await readFile(dst)).every((b) => b === 0)).to.equal(true);
  });

  it('reports a missing source file as a JetError in the result, never a throw', async () => {
    const r = await copyRange(task({ src: '/nonexistent/main.edb' }));
    expect(r.error?.errName).to.equal('JET_errFileNotFound');
  });
});
