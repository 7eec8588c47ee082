/**
 * Regression test (found in review; fixed): decodeManifest checks the CRC and the shape but not the names in
 * it. A set whose manifest names a database "../evil/main.edb" (the CRC is
 * no authentication: anyone can recompute it) verifies clean, and restore()
 * copies the file to path.join(destDir, "../evil/main.edb"): outside the
 * destination, and it stays there after the restore fails.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Instance } from '../../src/engine/instance.js';
import { MANIFEST_NAME, decodeManifest, encodeManifest } from '../../src/format/backup-manifest.js';
import { restore } from '../../src/restore/restore.js';
import { verify } from '../../src/restore/verify.js';
import { removeTmpDirs, tmpDir } from '../helpers/tmp-dir.js';

describe('backup manifest names are not confined to the set', function () {
  this.timeout(60_000);
  afterEach(removeTmpDirs);

  it('restore never writes outside destDir', async () => {
    const root = await tmpDir('review-trav-');
    const inst = await Instance.open(path.join(root, 'inst'), { logFileSize: 64 * 1024, pageSize: 4096, createPathIfNotExist: true });
    const db = await inst.openDatabase('main.edb', { create: true });
    for (let i = 0; i < 200; i++) await db.put('t', `k${i}`, `v${i}`, { durable: false });
    const setDir = path.join(root, 'a', 'set');
    await mkdir(setDir, { recursive: true });
    await inst.backup(setDir);
    await inst.close();

    // Edit the set: the copy moves to a/evil/main.edb and the manifest names it "../evil/main.edb".
    await mkdir(path.join(root, 'a', 'evil'));
    await rename(path.join(setDir, 'main.edb'), path.join(root, 'a', 'evil', 'main.edb'));
    const d = decodeManifest(await readFile(path.join(setDir, MANIFEST_NAME)));
    if (!d.ok) throw new Error(d.reason);
    d.manifest.databases[0]!.name = '../evil/main.edb';
    await writeFile(path.join(setDir, MANIFEST_NAME), encodeManifest(d.manifest));

    const report = await verify(setDir);
    const dest = path.join(root, 'b', 'dest');
    await restore(setDir, dest, { createPathIfNotExist: true }).catch(() => undefined);
    const outside = path.join(root, 'b', 'evil', 'main.edb');
    expect({ verifyOk: report.ok, writtenOutsideDest: existsSync(outside) }).to.deep.equal({ verifyOk: false, writtenOutsideDest: false });
  });
});
