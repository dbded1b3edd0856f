// bytes.js — byte-string helpers shared by the E2EE modules (docs/e2ee.md):
// standard base64 with padding (RFC 4648 §4), concatenation, big-endian u32,
// UTF-8, constant-shape comparison.

const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });

export const utf8 = (s) => te.encode(s);
// fromUtf8 decodes strict UTF-8 (throws on invalid sequences).
export const fromUtf8 = (b) => td.decode(b);

export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

// u32 is the 4-byte big-endian encoding of n (0 ≤ n < 2^32).
export function u32(n) {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError('u32 out of range');
  return new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}
export const readU32 = (b, o) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

export function b64(b) {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000));
  return btoa(s);
}

// unb64 decodes standard base64 WITH padding; anything else (URL alphabet,
// missing padding, whitespace) throws a TypeError, so malformed input is
// reported as "truncated" by the callers, never guessed at.
export function unb64(s) {
  if (typeof s !== 'string' || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new TypeError('bad base64');
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// unb64n decodes and requires exactly n bytes.
export function unb64n(s, n) {
  const b = unb64(s);
  if (b.length !== n) throw new TypeError(`want ${n} bytes, got ${b.length}`);
  return b;
}

export function equal(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

// compare orders byte strings lexicographically (shorter prefix first).
export function compare(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

export const random = (n) => crypto.getRandomValues(new Uint8Array(n));
export const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
export function unhex(s) {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16);
  return out;
}
