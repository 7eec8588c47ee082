/** Reading and writing <base>.chk (layout in format/checkpoint.ts). */
import * as path from 'node:path';
import { JetError, fromFsError } from '../errors.js';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../format/checkpoint.js';
import { checkpointName } from '../format/log-names.js';
import { writeFileAtomic, type FileSystem } from '../io/file-system.js';

/** The checkpoint, or undefined when there is no checkpoint file. A corrupt one is JET_errCheckpointCorrupt. */
export async function readCheckpointFile(io: FileSystem, dir: string, base: string): Promise<Checkpoint | undefined> {
  const file = path.join(dir, checkpointName(base));
  let buf: Buffer;
  try {
    buf = await io.readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fromFsError(e, `reading checkpoint ${file}`);
  }
  const d = decodeCheckpoint(buf);
  if (!d.ok) throw new JetError('JET_errCheckpointCorrupt', `checkpoint ${file}: ${d.reason}`);
  return d.checkpoint;
}

export async function writeCheckpointFile(io: FileSystem, dir: string, base: string, c: Checkpoint): Promise<void> {
  try {
    await writeFileAtomic(io, dir, checkpointName(base), encodeCheckpoint(c));
  } catch (e) {
    throw fromFsError(e, `writing checkpoint in ${dir}`);
  }
}
