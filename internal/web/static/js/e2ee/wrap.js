// wrap.js — the raw private bytes the key backup needs (§8 of
// docs/e2ee.md), kept AES-GCM-wrapped under a non-extractable per-device
// key. The keys the protocol uses are separate non-extractable CryptoKeys:
// a long-term key is generated extractable once, its bytes are exported and
// wrapped at once, and only a non-extractable re-import is kept (see
// docs/web.md, "End-to-end encryption", for what this does and does not
// protect against).

import { random } from './bytes.js';
import * as prim from './prim.js';

export async function newWrapKey() {
  return crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

export async function wrapBytes(wk, raw) {
  const iv = random(12);
  return { iv, ct: new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, wk, raw)) };
}

export async function unwrapBytes(wk, w) {
  return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: w.iv }, wk, w.ct));
}

// newX25519 makes a pair whose private key is non-extractable, and the
// wrapped copy of its bytes.
export async function newX25519(wk) {
  const kp = await crypto.subtle.generateKey({ name: 'X25519' }, true, ['deriveBits']);
  const raw = await prim.privateBytes(kp.privateKey);
  const pair = await prim.x25519Import(raw, false);
  const wrapped = await wrapBytes(wk, raw);
  raw.fill(0);
  return { pair, wrapped };
}

export async function newEd25519(wk) {
  const kp = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const raw = await prim.privateBytes(kp.privateKey);
  const pair = await prim.ed25519Import(raw, false);
  const wrapped = await wrapBytes(wk, raw);
  raw.fill(0);
  return { pair, wrapped };
}
