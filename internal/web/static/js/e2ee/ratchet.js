// ratchet.js — the Double Ratchet of §5 of docs/e2ee.md.
//
// A session is a plain object (Uint8Arrays, numbers, CryptoKeys and a Map)
// so IndexedDB can store it as is. decrypt works on a copy and returns the
// new state: the caller commits it only after the whole message (inner
// plaintext checks included) is accepted, so a failure changes nothing.

import { concat, u32, readU32, b64, equal } from './bytes.js';
import { x25519, x25519Generate, kdfRK, kdfCK, enc, dec } from './prim.js';
import { DecryptError, REPLAYED, TRUNCATED, asDecryptError } from './errors.js';

export const MAX_SKIP = 1000;
export const MAX_SKIPPED_KEYS = 2000;
export const HEADER_LEN = 40;

// initAlice: A after X3DH; spkB is B's signed prekey (raw), gen the DH pair generator.
export async function initAlice(sk, ad, spkB, gen = x25519Generate) {
  const dhs = await gen();
  const [rk, cks] = await kdfRK(sk, await x25519(dhs.priv, spkB));
  return { ad, dhs, dhr: spkB, rk, cks, ckr: null, ns: 0, nr: 0, pn: 0, skipped: new Map() };
}

// initBob: B after X3DH, with its signed prekey pair as first ratchet pair.
export function initBob(sk, ad, spkPair) {
  return { ad, dhs: spkPair, dhr: null, rk: sk, cks: null, ckr: null, ns: 0, nr: 0, pn: 0, skipped: new Map() };
}

export const encodeHeader = (pub, pn, n) => concat(pub, u32(pn), u32(n));

export function decodeHeader(h) {
  if (!(h instanceof Uint8Array) || h.length !== HEADER_LEN) throw new DecryptError(TRUNCATED, 'header length');
  return { dh: h.slice(0, 32), pn: readU32(h, 32), n: readU32(h, 36) };
}

const copy = (s) => ({ ...s, skipped: new Map(s.skipped) });

// encrypt returns {state, header, ct}; the input state is left as it was.
export async function encrypt(state, pt) {
  const s = copy(state);
  if (!s.cks) throw new Error('session cannot send yet');
  const [ck, mk] = await kdfCK(s.cks);
  s.cks = ck;
  const header = encodeHeader(s.dhs.pub, s.pn, s.ns);
  s.ns += 1;
  const ct = await enc(mk, pt, concat(s.ad, header));
  return { state: s, header, ct };
}

const skipKey = (dh, n) => b64(dh) + ':' + n;

async function skipTo(s, until) {
  if (until - s.nr > MAX_SKIP) throw new DecryptError(REPLAYED, 'too many skipped messages');
  if (!s.ckr) return;
  while (s.nr < until) {
    const [ck, mk] = await kdfCK(s.ckr);
    s.ckr = ck;
    s.skipped.set(skipKey(s.dhr, s.nr), mk);
    s.nr += 1;
  }
  while (s.skipped.size > MAX_SKIPPED_KEYS) s.skipped.delete(s.skipped.keys().next().value);
}

// decrypt returns {state, pt} or throws a DecryptError; gen makes the new
// ratchet pair of a DH step (tests pass fixed keys).
export async function decrypt(state, headerBytes, ct, gen = x25519Generate) {
  try {
    const h = decodeHeader(headerBytes);
    const s = copy(state);
    const aad = concat(s.ad, headerBytes);
    const k = skipKey(h.dh, h.n);
    if (s.skipped.has(k)) {
      const pt = await dec(s.skipped.get(k), ct, aad);
      s.skipped.delete(k);
      return { state: s, pt };
    }
    if (!s.dhr || !equal(h.dh, s.dhr)) {
      await skipTo(s, h.pn);
      s.pn = s.ns;
      s.ns = 0;
      s.nr = 0;
      s.dhr = h.dh;
      [s.rk, s.ckr] = await kdfRK(s.rk, await x25519(s.dhs.priv, s.dhr));
      s.dhs = await gen();
      [s.rk, s.cks] = await kdfRK(s.rk, await x25519(s.dhs.priv, s.dhr));
    } else if (h.n < s.nr) {
      // An old key that is not among the skipped ones was used (replay).
      throw new DecryptError(REPLAYED, 'message key already used');
    }
    await skipTo(s, h.n);
    const [ck, mk] = await kdfCK(s.ckr);
    s.ckr = ck;
    s.nr += 1;
    const pt = await dec(mk, ct, aad);
    return { state: s, pt };
  } catch (e) {
    throw asDecryptError(e);
  }
}
