import { expect } from 'chai';
import { crc32c, crc32cImplementation, crc32cSelfTest } from '../../src/checksum/crc32c.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('crc32c', () => {
  it('matches known CRC-32C (Castagnoli) vectors', () => {
    expect(crc32c(enc('The quick brown fox jumps over the lazy dog'))).to.equal(0x22620404);
    expect(crc32c(enc('123456789'))).to.equal(0xe3069283);
    expect(crc32c(new Uint8Array(0))).to.equal(0);
    expect(crc32c(new Uint8Array(32))).to.equal(0x8a9136aa); // RFC 3720 B.4: 32 zero bytes
  });

  it('returns unsigned 32-bit values', () => {
    const v = crc32c(enc('123456789'));
    expect(v).to.be.greaterThan(0x7fffffff);
    expect(v >>> 0).to.equal(v);
  });

  it('extends a running CRC: crc32c(b, crc32c(a)) === crc32c(a + b)', () => {
    const a = enc('hello, ');
    const b = enc('world');
    const ab = enc('hello, world');
    expect(crc32c(b, crc32c(a))).to.equal(crc32c(ab));
    expect(crc32c(new Uint8Array(0), crc32c(a))).to.equal(crc32c(a));
  });

  it('honours byteOffset/byteLength of views', () => {
    const backing = enc('xx123456789yy');
    expect(crc32c(backing.subarray(2, 11))).to.equal(0xe3069283);
  });

  it('changes when any single bit flips', () => {
    const data = new Uint8Array(257).map((_, i) => (i * 31) & 0xff);
    const base = crc32c(data);
    for (let bit = 0; bit < data.length * 8; bit += 13) {
      const copy = data.slice();
      copy[bit >> 3] ^= 1 << (bit & 7);
      expect(crc32c(copy), `bit ${bit}`).to.not.equal(base);
    }
  });

  it('passes its self-test', () => {
    expect(() => crc32cSelfTest()).to.not.throw();
  });

  it('uses the native sse4_crc32 implementation (run `npm rebuild sse4_crc32` if this fails)', () => {
    expect(crc32cImplementation()).to.equal('sse4_crc32');
  });
});
