/**
 * Which finished log generations may be deleted, and deleting them.
 *
 * A generation is kept while crash recovery needs it (it is at or above the
 * checkpoint's generation) or while someone holds a pin at or below it (the
 * backup pins the generations it is copying). Deletion goes oldest first, so
 * what remains is always one contiguous run of generations.
 */
import { fromFsError } from '../errors.js';
import { archivedPath, listLogs, type LogDir } from './log-files.js';

export class LogRetention {
  private readonly pins = new Map<number, number>();
  private nextPin = 1;

  constructor(private readonly dir: LogDir) {}

  /** Keep generation `fromGen` and later until the returned function is called. */
  pin(fromGen: number): () => void {
    const id = this.nextPin++;
    this.pins.set(id, fromGen);
    return () => { this.pins.delete(id); };
  }

  /** The lowest generation deletion must keep, given the checkpoint's generation. */
  keepFrom(checkpointGen: number): number {
    let keep = checkpointGen;
    for (const g of this.pins.values()) keep = Math.min(keep, g);
    return keep;
  }

  /** Delete finished generations below min(belowGen, keepFrom(checkpointGen)); resolves to those deleted. */
  async deleteBelow(belowGen: number, checkpointGen: number): Promise<number[]> {
    const limit = Math.min(belowGen, this.keepFrom(checkpointGen));
    const deleted: number[] = [];
    for (const gen of (await listLogs(this.dir)).archived) {
      if (gen >= limit) break;
      try {
        await this.dir.io.unlink(archivedPath(this.dir, gen));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted meanwhile by another truncation
        throw fromFsError(e, `deleting log generation ${gen}`);
      }
      deleted.push(gen);
    }
    if (deleted.length > 0) await this.dir.io.syncDir(this.dir.dir);
    return deleted;
  }
}
