/**
 * A FileSystem whose operations run on the calling thread (node:fs *Sync
 * calls behind the async interface), for worker threads only.
 *
 * Why: node's async fs runs on libuv's thread pool, which the whole process
 * shares (4 threads by default). Backup workers moving multi-MiB ranges
 * through it would queue the main thread's log fdatasyncs behind their reads
 * and writes, and every commit would wait for the backup. A worker thread
 * exists to block; doing its I/O itself leaves the pool to the engine.
 * Never use this on the main thread.
 */
import * as fs from 'node:fs';
import type { FileHandle, FileSystem, OpenMode } from './file-system.js';

const FLAGS: Record<OpenMode, number> = {
  r: fs.constants.O_RDONLY,
  'r+': fs.constants.O_RDWR,
  wx: fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL,
};

/** Run a synchronous call, turning its throw into a rejection like the async API. */
function now<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (e) {
    return Promise.reject(e);
  }
}

class BlockingFileHandle implements FileHandle {
  constructor(private readonly fd: number) {}

  read(buf: Uint8Array, off: number, len: number, pos: number): Promise<number> {
    return now(() => {
      let done = 0;
      while (done < len) {
        const n = fs.readSync(this.fd, buf, off + done, len - done, pos + done);
        if (n === 0) break;
        done += n;
      }
      return done;
    });
  }

  write(buf: Uint8Array, off: number, len: number, pos: number): Promise<void> {
    return now(() => {
      for (let done = 0; done < len;) done += fs.writeSync(this.fd, buf, off + done, len - done, pos + done);
    });
  }

  writev(bufs: Buffer[], pos: number): Promise<void> {
    return now(() => {
      for (const b of bufs) {
        for (let done = 0; done < b.length;) done += fs.writeSync(this.fd, b, done, b.length - done, pos + done);
        pos += b.length;
      }
    });
  }

  datasync(): Promise<void> { return now(() => fs.fdatasyncSync(this.fd)); }
  truncate(len: number): Promise<void> { return now(() => fs.ftruncateSync(this.fd, len)); }
  size(): Promise<number> { return now(() => fs.fstatSync(this.fd).size); }
  close(): Promise<void> { return now(() => fs.closeSync(this.fd)); }
}

export const blockingFileSystem: FileSystem = {
  open: (path, mode) => now(() => new BlockingFileHandle(fs.openSync(path, FLAGS[mode], 0o644))),
  rename: (from, to) => now(() => fs.renameSync(from, to)),
  unlink: (path) => now(() => fs.unlinkSync(path)),
  rmdir: (path) => now(() => fs.rmdirSync(path)),
  readdir: (path) => now(() => fs.readdirSync(path)),
  mkdir: (path, recursive) => now(() => { fs.mkdirSync(path, { recursive }); }),
  exists: (path) => now(() => fs.existsSync(path)),
  readFile: (path) => now(() => fs.readFileSync(path)),
  syncDir: (path) => now(() => {
    const fd = fs.openSync(path, fs.constants.O_RDONLY);
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  }),
};
