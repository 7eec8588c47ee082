/**
 * The engine's only door to the disk.
 *
 * Everything that reads, writes, syncs, renames or deletes goes through a
 * `FileSystem`, so tests can inject faults (a failing write, a full disk, a
 * failing fsync) by wrapping the real one — see `faultyFileSystem` in
 * ./fault-injection.ts — instead of mocking the engine itself.
 *
 * The default implementation is node:fs/promises with nothing added.
 */
import * as fsp from 'node:fs/promises';
import { crc32c } from '../checksum/crc32c.js';
import { constants as fsc } from 'node:fs';

/** The subset of node's FileHandle the engine uses. */
export interface FileHandle {
  /** Read into buf[off, off+len) from file position pos; resolves to bytes read (short at EOF). */
  read(buf: Uint8Array, off: number, len: number, pos: number): Promise<number>;
  /** Write all of buf[off, off+len) at file position pos. */
  write(buf: Uint8Array, off: number, len: number, pos: number): Promise<void>;
  /** Write the buffers back to back from file position pos (one system call when it can). */
  writev(bufs: Buffer[], pos: number): Promise<void>;
  /** fdatasync: data and the size are durable when it resolves. */
  datasync(): Promise<void>;
  truncate(len: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

export type OpenMode =
  | 'r'   // read only, must exist
  | 'r+'  // read/write, must exist
  | 'wx'; // create, must not exist (read/write)

export interface FileSystem {
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Names in a directory (not paths). */
  readdir(path: string): Promise<string[]>;
  mkdir(path: string, recursive: boolean): Promise<void>;
  /** Remove an empty directory. */
  rmdir(path: string): Promise<void>;
  /** Whether a path exists (any kind). */
  exists(path: string): Promise<boolean>;
  /** Whole-file helpers for small files (checkpoint, lock). */
  readFile(path: string): Promise<Buffer>;
  /** fsync a directory so that creates, renames and deletes in it are durable. */
  syncDir(path: string): Promise<void>;
}

class NodeFileHandle implements FileHandle {
  constructor(private readonly fh: fsp.FileHandle) {}
  async read(buf: Uint8Array, off: number, len: number, pos: number): Promise<number> {
    let done = 0;
    while (done < len) {
      const { bytesRead } = await this.fh.read(buf, off + done, len - done, pos + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }
  async write(buf: Uint8Array, off: number, len: number, pos: number): Promise<void> {
    let done = 0;
    while (done < len) {
      const { bytesWritten } = await this.fh.write(buf, off + done, len - done, pos + done);
      done += bytesWritten;
    }
  }
  async writev(bufs: Buffer[], pos: number): Promise<void> {
    const total = bufs.reduce((n, b) => n + b.length, 0);
    const { bytesWritten } = await this.fh.writev(bufs, pos);
    if (bytesWritten < total) {
      // A short vectored write: finish the rest with plain writes.
      const rest = Buffer.concat(bufs).subarray(bytesWritten);
      await this.write(rest, 0, rest.length, pos + bytesWritten);
    }
  }
  datasync(): Promise<void> { return this.fh.datasync(); }
  truncate(len: number): Promise<void> { return this.fh.truncate(len); }
  async size(): Promise<number> { return (await this.fh.stat()).size; }
  close(): Promise<void> { return this.fh.close(); }
}

const OPEN_FLAGS: Record<OpenMode, number> = {
  r: fsc.O_RDONLY,
  'r+': fsc.O_RDWR,
  wx: fsc.O_RDWR | fsc.O_CREAT | fsc.O_EXCL,
};

export const nodeFileSystem: FileSystem = {
  async open(path, mode) {
    return new NodeFileHandle(await fsp.open(path, OPEN_FLAGS[mode], 0o644));
  },
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  readdir: (path) => fsp.readdir(path),
  async mkdir(path, recursive) { await fsp.mkdir(path, { recursive }); },
  rmdir: (path) => fsp.rmdir(path),
  async exists(path) {
    try { await fsp.stat(path); return true; } catch { return false; }
  },
  readFile: (path) => fsp.readFile(path),
  async syncDir(path) {
    const fh = await fsp.open(path, fsc.O_RDONLY);
    try { await fh.sync(); } finally { await fh.close(); }
  },
};

/** Write a small file durably and atomically: tmp, fsync, rename, fsync dir. */
export async function writeFileAtomic(fs: FileSystem, dir: string, name: string, data: Uint8Array): Promise<void> {
  const path = `${dir}/${name}`;
  const tmp = `${path}.tmp`;
  if (await fs.exists(tmp)) await fs.unlink(tmp);
  const fh = await fs.open(tmp, 'wx');
  try {
    await fh.write(data, 0, data.length, 0);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, path);
  await fs.syncDir(dir);
}

/** Copy `src` to a new file `dst` (which must not exist) in 8 MiB chunks, and sync it; resolves to its size and CRC32C. */
export async function copyFileDurable(fs: FileSystem, src: string, dst: string): Promise<{ bytes: number; crc: number }> {
  const from = await fs.open(src, 'r');
  try {
    const to = await fs.open(dst, 'wx');
    try {
      const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
      let at = 0;
      let crc = 0;
      for (;;) {
        const n = await from.read(buf, 0, buf.length, at);
        if (n === 0) break;
        await to.write(buf, 0, n, at);
        crc = crc32c(buf.subarray(0, n), crc);
        at += n;
      }
      await to.datasync();
      return { bytes: at, crc };
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
}
