// senderkey.js — sender keys for group conversations (§9 of docs/e2ee.md).
//
// My key: {keyId, ck, i, sig: {pub, priv}}; a received key:
// {keyId, ck, i, signPub, skipped: Map(iteration → mk)}. Both are plain
// objects for IndexedDB; open returns a new state, committed by the caller
// only once the whole envelope is accepted.

import { concat, u32, utf8, random, b64, unb64, unb64n } from './bytes.js';
import { ed25519Generate, kdfCK, enc, dec, sign, verify } from './prim.js';
import { DecryptError, FORGED_OR_CORRUPTED, REPLAYED, asDecryptError } from './errors.js';

export const MAX_SKIP = 1000;

export async function create(gen = () => ed25519Generate(false)) {
  return { keyId: random(16), ck: random(32), i: 0, sig: await gen() };
}

const aad = (convId, keyId, i) => concat(utf8('ParleyGroup1'), utf8(convId), keyId, u32(i));
const sigData = (keyId, i, ct) => concat(utf8('ParleyGroupSig1'), keyId, u32(i), ct);

// seal encrypts pt at the key's current iteration: {key (advanced), group}.
export async function seal(key, convId, pt) {
  const [ck, mk] = await kdfCK(key.ck);
  const ct = await enc(mk, pt, aad(convId, key.keyId, key.i));
  const sig = await sign(key.sig.priv, sigData(key.keyId, key.i, ct));
  const group = { key_id: b64(key.keyId), iteration: key.i, ct: b64(ct), sig: b64(sig) };
  return { key: { ...key, ck, i: key.i + 1 }, group };
}

// distribution is the skd object of the inner plaintext (§7).
export function distribution(key, convId) {
  return { conversation_id: convId, key_id: b64(key.keyId), iteration: key.i, chain_key: b64(key.ck), sign_pub: b64(key.sig.pub) };
}

// accept turns a received skd object into a receiving key (throws TypeError if malformed).
export function accept(skd) {
  if (!Number.isInteger(skd.iteration) || skd.iteration < 0) throw new TypeError('bad iteration');
  return { keyId: unb64n(skd.key_id, 16), ck: unb64n(skd.chain_key, 32), i: skd.iteration, signPub: unb64n(skd.sign_pub, 32), skipped: new Map() };
}

// open verifies and decrypts a group object with a receiving key:
// {key (new state), pt}, or throws a DecryptError.
export async function open(key, convId, g) {
  try {
    const keyId = unb64n(g.key_id, 16);
    const ct = unb64(g.ct);
    const sig = unb64n(g.sig, 64);
    const i = g.iteration;
    if (!Number.isInteger(i) || i < 0) throw new TypeError('bad iteration');
    if (!await verify(key.signPub, sig, sigData(keyId, i, ct))) throw new DecryptError(FORGED_OR_CORRUPTED, 'signature');
    const k = { ...key, skipped: new Map(key.skipped) };
    let mk;
    if (i < k.i) {
      mk = k.skipped.get(i);
      if (!mk) throw new DecryptError(REPLAYED, 'message key already used');
      k.skipped.delete(i);
    } else {
      if (i - k.i > MAX_SKIP) throw new DecryptError(REPLAYED, 'too many skipped messages');
      while (k.i < i) {
        const [ck, m] = await kdfCK(k.ck);
        k.skipped.set(k.i, m);
        k.ck = ck;
        k.i += 1;
      }
      while (k.skipped.size > MAX_SKIP) k.skipped.delete(k.skipped.keys().next().value);
      const [ck, m] = await kdfCK(k.ck);
      mk = m;
      k.ck = ck;
      k.i += 1;
    }
    const pt = await dec(mk, ct, aad(convId, keyId, i));
    return { key: k, pt };
  } catch (e) {
    throw asDecryptError(e);
  }
}
