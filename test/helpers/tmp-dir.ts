/** Fresh temporary directories for tests, removed after each test. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const made: string[] = [];

export async function tmpDir(prefix = 'esebackup-test-'): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/** Call from afterEach. */
export async function removeTmpDirs(): Promise<void> {
  while (made.length > 0) await rm(made.pop()!, { recursive: true, force: true });
}
