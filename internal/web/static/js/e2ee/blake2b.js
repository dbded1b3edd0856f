// blake2b.js — BLAKE2b (RFC 7693), one-shot, 1–64 byte output, optional
// key of up to 64 bytes. 64-bit words are held as (lo, hi) pairs of a
// Uint32Array: word w is at [2w] (low half) and [2w+1] (high half).

const IV = new Uint32Array([
  0xf3bcc908, 0x6a09e667, 0x84caa73b, 0xbb67ae85, 0xfe94f82b, 0x3c6ef372, 0x5f1d36f1, 0xa54ff53a,
  0xade682d1, 0x510e527f, 0x2b3e6c1f, 0x9b05688c, 0xfb41bd6b, 0x1f83d9ab, 0x137e2179, 0x5be0cd19,
]);

const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

const v = new Uint32Array(32);
const m = new Uint32Array(32);

// add64 sets word a to a + b (mod 2^64); b is a word of arr.
function add64(a, arr, b) {
  const lo = v[2 * a] + arr[2 * b];
  v[2 * a + 1] = v[2 * a + 1] + arr[2 * b + 1] + (lo > 0xffffffff ? 1 : 0);
  v[2 * a] = lo;
}

// xorRot sets word d to rotr64(d ^ a, r) for r in {32, 24, 16, 63}.
function xorRot(d, a, r) {
  const lo = v[2 * d] ^ v[2 * a];
  const hi = v[2 * d + 1] ^ v[2 * a + 1];
  let nl, nh;
  if (r === 32) { nl = hi; nh = lo; } else if (r === 63) { nl = (lo << 1) | (hi >>> 31); nh = (hi << 1) | (lo >>> 31); } else { nl = (lo >>> r) | (hi << (32 - r)); nh = (hi >>> r) | (lo << (32 - r)); }
  v[2 * d] = nl;
  v[2 * d + 1] = nh;
}

function G(a, b, c, d, x, y) {
  add64(a, v, b); add64(a, m, x); xorRot(d, a, 32);
  add64(c, v, d); xorRot(b, c, 24);
  add64(a, v, b); add64(a, m, y); xorRot(d, a, 16);
  add64(c, v, d); xorRot(b, c, 63);
}

function compress(h, block, off, t, last) {
  for (let i = 0; i < 16; i++) { v[i] = h[i]; v[16 + i] = IV[i]; }
  v[24] ^= t >>> 0;
  v[25] ^= Math.floor(t / 0x100000000);
  if (last) { v[28] = ~v[28]; v[29] = ~v[29]; }
  for (let i = 0; i < 32; i++) {
    const o = off + i * 4;
    m[i] = block[o] | (block[o + 1] << 8) | (block[o + 2] << 16) | (block[o + 3] << 24);
  }
  for (let r = 0; r < 12; r++) {
    const s = SIGMA[r % 10];
    G(0, 4, 8, 12, s[0], s[1]); G(1, 5, 9, 13, s[2], s[3]); G(2, 6, 10, 14, s[4], s[5]); G(3, 7, 11, 15, s[6], s[7]);
    G(0, 5, 10, 15, s[8], s[9]); G(1, 6, 11, 12, s[10], s[11]); G(2, 7, 8, 13, s[12], s[13]); G(3, 4, 9, 14, s[14], s[15]);
  }
  for (let i = 0; i < 16; i++) h[i] ^= v[i] ^ v[16 + i];
}

// blake2b returns the outLen-byte BLAKE2b hash of data (keyed when key is given).
export function blake2b(outLen, data, key = new Uint8Array(0)) {
  if (!(outLen >= 1 && outLen <= 64) || key.length > 64) throw new RangeError('blake2b: bad length');
  const h = IV.slice();
  h[0] ^= 0x01010000 ^ (key.length << 8) ^ outLen;
  let input = data;
  if (key.length > 0) {
    input = new Uint8Array(128 + data.length);
    input.set(key);
    input.set(data, 128);
  }
  const n = input.length;
  let off = 0;
  while (n - off > 128) {
    compress(h, input, off, off + 128, false);
    off += 128;
  }
  const last = new Uint8Array(128);
  last.set(input.subarray(off));
  compress(h, last, 0, n, true);
  const out = new Uint8Array(outLen);
  for (let i = 0; i < outLen; i++) out[i] = h[i >> 2] >>> (8 * (i & 3));
  return out;
}
