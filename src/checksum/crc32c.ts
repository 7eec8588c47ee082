/**
 * CRC-32C — the ONE checksum module. Nothing else computes CRCs.
 *
 * Polynomial: Castagnoli, 0x1EDC6F41 (reflected 0x82F63B78), init and final
 * XOR 0xFFFFFFFF — i.e. standard CRC-32C as in iSCSI/ext4/LevelDB. Chosen for
 * its SSE4.2 hardware instruction and better error detection than CRC-32.
 *
 * Stored CRCs are NOT masked (no LevelDB-style rotate+add). Masking guards
 * against taking a CRC over bytes that contain that same CRC (or embedded
 * CRCs); we never do: every checksum covers a region that excludes its own
 * checksum field, and log records also seed the CRC with the generation number
 * (so a leftover record from an older generation does not verify). Masking
 * would buy nothing and make values differ from every other CRC-32C tool.
 *
 * Rule: each format module states, next to its layout, exactly which bytes its
 * checksum covers (and with what seed). Extend a running CRC with `initial`.
 *
 * Implementation: native sse4_crc32 (built by node-gyp at install, see
 * scripts/ensure-native-crc.mjs); if it will not load we fall back to
 * fast-crc32c's pure-JS table version and warn once.
 */
import { createRequire } from 'node:module';

type Calculate = (buf: Buffer, initial?: number) => number;
export type Crc32cImplementation = 'sse4_crc32' | 'js';

const require = createRequire(import.meta.url);
// Env, not a module variable: piscina workers copy process.env at spawn, so the
// warning is printed once per process rather than once per worker.
const WARNED_ENV = 'ESEBACKUP_CRC32C_FALLBACK_WARNED';

let active: { name: Crc32cImplementation; calculate: Calculate } | undefined;

// Resolved lazily (package is "sideEffects": false; importing must not print).
function impl(): { name: Crc32cImplementation; calculate: Calculate } {
  if (active) return active;
  try {
    const native = require('sse4_crc32') as { calculate: Calculate };
    active = { name: 'sse4_crc32', calculate: native.calculate };
  } catch (err) {
    const js = require('fast-crc32c/impls/js_crc32c') as { calculate: Calculate };
    active = { name: 'js', calculate: js.calculate };
    if (!process.env[WARNED_ENV]) {
      process.env[WARNED_ENV] = '1';
      const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
      process.stderr.write(
        `WARNING crc32c: native sse4_crc32 failed to load (${why}); using the slow ` +
          `pure-JS fallback fast-crc32c/impls/js_crc32c. Fix: npm rebuild sse4_crc32\n`,
      );
    }
  }
  return active;
}

/** CRC-32C of `buf`, continuing from `initial` (a previous crc32c result). Unsigned. */
export function crc32c(buf: Uint8Array, initial = 0): number {
  // Both impls want a Buffer; a view over the same memory costs no copy.
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return impl().calculate(b, initial >>> 0) >>> 0;
}

/** Which implementation is active ('js' means the native addon failed to load). */
export function crc32cImplementation(): Crc32cImplementation {
  return impl().name;
}

/** Throws if the active implementation gives wrong answers. Cheap; call at startup. */
export function crc32cSelfTest(): void {
  const vectors: Array<[string, number]> = [
    ['', 0],
    ['123456789', 0xe3069283],
    ['The quick brown fox jumps over the lazy dog', 0x22620404],
  ];
  for (const [text, want] of vectors) {
    const got = crc32c(Buffer.from(text));
    if (got !== want) {
      throw new Error(
        `crc32c self-test failed (${impl().name}): "${text}" gave 0x${got.toString(16)}, want 0x${want.toString(16)}`,
      );
    }
  }
  // Unaligned view + chaining exercise the paths format code actually uses.
  const data = Buffer.from('xx123456789', 'latin1').subarray(2);
  if (crc32c(data.subarray(4), crc32c(data.subarray(0, 4))) !== 0xe3069283) {
    throw new Error(`crc32c self-test failed (${impl().name}): chained CRC mismatch`);
  }
}
