import { expect } from 'chai';
import fc from 'fast-check';
import { crc32c } from '../../src/checksum/crc32c.js';
import {
  CHECKPOINT_SIZE, CHK_FORMAT_VERSION, CHK_MAGIC, decodeCheckpoint, encodeCheckpoint, type Checkpoint,
} from '../../src/format/checkpoint.js';
import { copyWithFlippedByte } from '../helpers/bytes.js';

const SAMPLE: Checkpoint = {
  lgpos: { gen: 0x123ab, off: 4096 + 24 },
  logSignature: 'aabbccddeeff00112233445566778899',
  time: 1_700_000_000_000.5,
};

describe('format/checkpoint', () => {
  it('is 48 bytes and round-trips position, signature and time', () => {
    expect(CHECKPOINT_SIZE).to.equal(48);
    const b = encodeCheckpoint(SAMPLE);
    expect(b.length).to.equal(CHECKPOINT_SIZE);
    expect(decodeCheckpoint(b)).to.deep.equal({ ok: true, checkpoint: SAMPLE });
  });

  it('round-trips random checkpoints (property)', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const cp = fc.record({
      lgpos: fc.record({ gen: u32, off: u32 }),
      logSignature: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex')),
      time: fc.double({ noNaN: true }),
    });
    fc.assert(fc.property(cp, (c) => {
      expect(decodeCheckpoint(encodeCheckpoint(c))).to.deep.equal({ ok: true, checkpoint: c });
    }), { numRuns: 200 });
  });

  it('lays the fields out as documented', () => {
    const b = encodeCheckpoint(SAMPLE);
    expect(b.readUInt32LE(0)).to.equal(crc32c(b.subarray(4)));
    expect(b.readUInt32LE(4)).to.equal(CHK_MAGIC);
    expect(b.toString('latin1', 4, 8)).to.equal('EECK');
    expect(b.readUInt32LE(8)).to.equal(CHK_FORMAT_VERSION);
    expect(b.readUInt32LE(12)).to.equal(SAMPLE.lgpos.gen);
    expect(b.readUInt32LE(16)).to.equal(SAMPLE.lgpos.off);
    expect(b.toString('hex', 20, 36)).to.equal(SAMPLE.logSignature);
    expect(b.readDoubleLE(36)).to.equal(SAMPLE.time);
    expect(b.readUInt32LE(44)).to.equal(0);
  });

  it('reports a checksum mismatch for a flipped byte outside the magic', () => {
    const b = encodeCheckpoint(SAMPLE);
    for (let at = 0; at < CHECKPOINT_SIZE; at++) {
      if (at >= 4 && at < 8) continue;
      const d = decodeCheckpoint(copyWithFlippedByte(b, at));
      expect(d.ok, `byte ${at}`).to.equal(false);
      if (!d.ok) expect(d.reason, `byte ${at}`).to.match(/checksum/);
    }
  });

  it('reports bad magic for a flipped magic byte', () => {
    const d = decodeCheckpoint(copyWithFlippedByte(encodeCheckpoint(SAMPLE), 7));
    expect(d).to.deep.equal({ ok: false, reason: 'bad magic' });
  });

  it('rejects a file of the wrong size, naming the size', () => {
    const b = encodeCheckpoint(SAMPLE);
    for (const n of [0, CHECKPOINT_SIZE - 1, CHECKPOINT_SIZE + 1]) {
      const buf = n <= b.length ? b.subarray(0, n) : Buffer.concat([b, Buffer.alloc(n - b.length)]);
      const d = decodeCheckpoint(buf);
      expect(d.ok, `size ${n}`).to.equal(false);
      if (!d.ok) expect(d.reason).to.contain(`size ${n}`);
    }
  });

  it('rejects an unsupported version even when the checksum is right', () => {
    const b = encodeCheckpoint(SAMPLE);
    b.writeUInt32LE(CHK_FORMAT_VERSION + 1, 8);
    b.writeUInt32LE(crc32c(b.subarray(4)), 0);
    const d = decodeCheckpoint(b);
    expect(d.ok).to.equal(false);
    if (!d.ok) expect(d.reason).to.contain(`version ${CHK_FORMAT_VERSION + 1}`);
  });
});
