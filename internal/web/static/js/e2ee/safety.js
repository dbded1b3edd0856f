// safety.js — safety numbers (§10 of docs/e2ee.md).

import { concat, utf8, compare } from './bytes.js';
import { sha512 } from './prim.js';

export const ITERATIONS = 5200;

// fingerprint returns the 30 digits of one user: userId and the raw IKs of
// each of that user's devices (any order; sorted here by bytes).
export async function fingerprint(userId, iksList) {
  const keys = concat(...[...iksList].sort(compare));
  let h = concat(utf8('ParleySafety1'), utf8(userId), keys);
  for (let k = 0; k < ITERATIONS; k++) h = await sha512(concat(h, keys));
  let out = '';
  for (let c = 0; c < 6; c++) {
    let v = 0;
    for (let j = 0; j < 5; j++) v = v * 256 + h[c * 5 + j]; // < 2^40: exact in a double
    out += String(v % 100000).padStart(5, '0');
  }
  return out;
}

// safetyNumber returns the 60 digits for users a and b, {id, iks: [raw]}:
// the lower user id (by bytes) first, so both sides see the same number.
export async function safetyNumber(a, b) {
  const [lo, hi] = compare(utf8(a.id), utf8(b.id)) <= 0 ? [a, b] : [b, a];
  return (await fingerprint(lo.id, lo.iks)) + (await fingerprint(hi.id, hi.iks));
}

// groups splits 60 digits into 12 groups of 5 for display.
export const groups = (digits) => digits.match(/.{1,5}/g) || [];
