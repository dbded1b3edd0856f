// argon2.js — Argon2id (RFC 9106, version 0x13) in plain JavaScript, on
// blake2b.js. Memory is one Uint32Array of m' blocks of 1024 bytes; a 64-bit
// word w of a block is held as (lo, hi) at [2w], [2w+1].

import { blake2b } from './blake2b.js';
import { concat } from './bytes.js';

const WORDS = 256; // uint32 per block
const SYNC_POINTS = 4;
const VERSION = 0x13;
const TYPE_ID = 2;

const le32 = (n) => new Uint8Array([n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255]);

// hPrime is H' of RFC 9106 §3.3 (variable-length hash).
function hPrime(len, x) {
  const input = concat(le32(len), x);
  if (len <= 64) return blake2b(len, input);
  const r = Math.ceil(len / 32) - 2;
  const out = new Uint8Array(len);
  let vi = blake2b(64, input);
  out.set(vi.subarray(0, 32), 0);
  for (let i = 1; i < r; i++) {
    vi = blake2b(64, vi);
    out.set(vi.subarray(0, 32), i * 32);
  }
  out.set(blake2b(len - 32 * r, vi), 32 * r);
  return out;
}

// --- the compression function G of §3.5 on (lo, hi) word pairs ---

const R = new Uint32Array(WORDS);
const Z = new Uint32Array(WORDS);

// fBlaMka: word a = a + b + 2 * lo32(a) * lo32(b) (mod 2^64), in Z.
function blamka(a, b) {
  const al = Z[a], bl = Z[b];
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
  const ll = a0 * b0, lh = a0 * b1, hl = a1 * b0, hh = a1 * b1;
  const t = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  let plo = ((t << 16) | (ll & 0xffff)) >>> 0;
  let phi = (hh + (lh >>> 16) + (hl >>> 16) + (t >>> 16)) >>> 0;
  phi = ((phi << 1) | (plo >>> 31)) >>> 0;
  plo = (plo << 1) >>> 0;
  let lo = al + bl;
  let hi = Z[a + 1] + Z[b + 1] + (lo > 0xffffffff ? 1 : 0);
  lo >>>= 0;
  const lo2 = lo + plo;
  hi += phi + (lo2 > 0xffffffff ? 1 : 0);
  Z[a] = lo2;
  Z[a + 1] = hi;
}

function xorRot(d, a, r) {
  const lo = Z[d] ^ Z[a], hi = Z[d + 1] ^ Z[a + 1];
  if (r === 32) { Z[d] = hi; Z[d + 1] = lo; } else if (r === 63) { Z[d] = (lo << 1) | (hi >>> 31); Z[d + 1] = (hi << 1) | (lo >>> 31); } else { Z[d] = (lo >>> r) | (hi << (32 - r)); Z[d + 1] = (hi >>> r) | (lo << (32 - r)); }
}

function GB(a, b, c, d) {
  blamka(a, b); xorRot(d, a, 32);
  blamka(c, d); xorRot(b, c, 24);
  blamka(a, b); xorRot(d, a, 16);
  blamka(c, d); xorRot(b, c, 63);
}

// P on 16 words given as Z offsets (2 × word index).
function P(o) {
  GB(o[0], o[4], o[8], o[12]); GB(o[1], o[5], o[9], o[13]); GB(o[2], o[6], o[10], o[14]); GB(o[3], o[7], o[11], o[15]);
  GB(o[0], o[5], o[10], o[15]); GB(o[1], o[6], o[11], o[12]); GB(o[2], o[7], o[8], o[13]); GB(o[3], o[4], o[9], o[14]);
}

const ROWS = [], COLS = [];
for (let i = 0; i < 8; i++) {
  const row = [], col = [];
  for (let j = 0; j < 16; j++) row.push(2 * (16 * i + j));
  for (let j = 0; j < 8; j++) { col.push(2 * (2 * (i + 8 * j))); col.push(2 * (2 * (i + 8 * j) + 1)); }
  ROWS.push(row); COLS.push(col);
}

// compress writes G(X, Y) to out at outOff, XORed into what is there when
// xor is set (passes after the first, version 0x13).
function compress(x, xo, y, yo, out, oo, xor) {
  for (let i = 0; i < WORDS; i++) { R[i] = x[xo + i] ^ y[yo + i]; Z[i] = R[i]; }
  for (let i = 0; i < 8; i++) P(ROWS[i]);
  for (let i = 0; i < 8; i++) P(COLS[i]);
  if (xor) for (let i = 0; i < WORDS; i++) out[oo + i] ^= Z[i] ^ R[i];
  else for (let i = 0; i < WORDS; i++) out[oo + i] = Z[i] ^ R[i];
}

// hi32 of the 64-bit product of two uint32.
function mulHi(a, b) {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const ll = a0 * b0, lh = a0 * b1, hl = a1 * b0, hh = a1 * b1;
  const t = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (hh + (lh >>> 16) + (hl >>> 16) + (t >>> 16)) >>> 0;
}

// argon2id returns the tag of RFC 9106 §3 for Argon2id.
// opts: {t (passes), m (KiB), p (lanes), len (tag bytes), secret, ad}.
export function argon2id(password, salt, { t, m, p, len, secret = new Uint8Array(0), ad = new Uint8Array(0) }) {
  if (!(p >= 1 && p < 2 ** 24) || !(t >= 1) || !(m >= 8 * p) || !(len >= 4)) throw new RangeError('argon2id: bad parameters');
  const h0 = blake2b(64, concat(le32(p), le32(len), le32(m), le32(t), le32(VERSION), le32(TYPE_ID),
    le32(password.length), password, le32(salt.length), salt, le32(secret.length), secret, le32(ad.length), ad));
  const mBlocks = 4 * p * Math.floor(m / (4 * p));
  const laneLen = mBlocks / p;
  const segLen = laneLen / SYNC_POINTS;
  const B = new Uint32Array(mBlocks * WORDS);
  const load = (bytes, blk) => {
    const o = blk * WORDS;
    for (let i = 0; i < WORDS; i++) B[o + i] = bytes[4 * i] | (bytes[4 * i + 1] << 8) | (bytes[4 * i + 2] << 16) | (bytes[4 * i + 3] << 24);
  };
  for (let l = 0; l < p; l++) {
    load(hPrime(1024, concat(h0, le32(0), le32(l))), l * laneLen);
    load(hPrime(1024, concat(h0, le32(1), le32(l))), l * laneLen + 1);
  }
  const zero = new Uint32Array(WORDS);
  const input = new Uint32Array(WORDS);
  const addr = new Uint32Array(WORDS);
  const nextAddresses = () => {
    input[12] = (input[12] + 1) >>> 0;
    compress(zero, 0, input, 0, addr, 0, false);
    compress(zero, 0, addr, 0, addr, 0, false);
  };
  for (let pass = 0; pass < t; pass++) {
    for (let sl = 0; sl < SYNC_POINTS; sl++) {
      for (let l = 0; l < p; l++) {
        const independent = pass === 0 && sl < SYNC_POINTS / 2;
        if (independent) {
          input.fill(0);
          input[0] = pass; input[2] = l; input[4] = sl; input[6] = mBlocks; input[8] = t; input[10] = TYPE_ID;
        }
        let start = 0;
        if (pass === 0 && sl === 0) {
          start = 2;
          if (independent) nextAddresses();
        }
        let cur = l * laneLen + sl * segLen + start;
        let prev = cur % laneLen === 0 ? cur + laneLen - 1 : cur - 1;
        for (let idx = start; idx < segLen; idx++, cur++, prev++) {
          if (cur % laneLen === 1) prev = cur - 1;
          let j1, j2;
          if (independent) {
            if (idx % 128 === 0) nextAddresses();
            j1 = addr[2 * (idx % 128)];
            j2 = addr[2 * (idx % 128) + 1];
          } else {
            j1 = B[prev * WORDS];
            j2 = B[prev * WORDS + 1];
          }
          let refLane = j2 % p;
          if (pass === 0 && sl === 0) refLane = l;
          const same = refLane === l;
          let area;
          if (pass === 0) area = same ? sl * segLen + idx - 1 : sl * segLen + (idx === 0 ? -1 : 0);
          else area = same ? laneLen - segLen + idx - 1 : laneLen - segLen + (idx === 0 ? -1 : 0);
          let rel = mulHi(j1, j1);
          rel = area - 1 - mulHi(area, rel);
          const startPos = pass !== 0 && sl !== SYNC_POINTS - 1 ? (sl + 1) * segLen : 0;
          const ref = refLane * laneLen + (startPos + rel) % laneLen;
          compress(B, prev * WORDS, B, ref * WORDS, B, cur * WORDS, pass > 0);
        }
      }
    }
  }
  const c = B.slice((laneLen - 1) * WORDS, laneLen * WORDS);
  for (let l = 1; l < p; l++) {
    const o = (l * laneLen + laneLen - 1) * WORDS;
    for (let i = 0; i < WORDS; i++) c[i] ^= B[o + i];
  }
  const cb = new Uint8Array(1024);
  for (let i = 0; i < WORDS; i++) { cb[4 * i] = c[i]; cb[4 * i + 1] = c[i] >>> 8; cb[4 * i + 2] = c[i] >>> 16; cb[4 * i + 3] = c[i] >>> 24; }
  return hPrime(len, cb);
}
