// prim.js — the WebCrypto primitives of the wire spec (docs/e2ee.md):
// X25519, Ed25519, HKDF-SHA256, HMAC-SHA256, AES-256-GCM, SHA-512, and the
// message cipher ENC of §5. Private keys live as CryptoKey objects; they are
// non-extractable unless a caller asks otherwise (see keystore.js for which
// ones the backup needs as bytes).

import { concat, utf8, unhex } from './bytes.js';

const S = crypto.subtle;
// PKCS #8 prefixes for a raw 32-byte private key (RFC 8410).
const PK8_X25519 = unhex('302e020100300506032b656e04220420');
const PK8_ED25519 = unhex('302e020100300506032b657004220420');
const BASEPOINT = (() => { const b = new Uint8Array(32); b[0] = 9; return b; })();
export const ZERO32 = new Uint8Array(32);

// A DH pair is {pub: Uint8Array(32), priv: CryptoKey}.
export async function x25519Generate() {
  const kp = await S.generateKey({ name: 'X25519' }, false, ['deriveBits']);
  return { pub: new Uint8Array(await S.exportKey('raw', kp.publicKey)), priv: kp.privateKey };
}

// x25519Import turns 32 private bytes into a pair; the public key is
// computed as X25519(priv, 9) so the private key can stay non-extractable.
export async function x25519Import(raw, extractable = false) {
  const priv = await S.importKey('pkcs8', concat(PK8_X25519, raw), { name: 'X25519' }, extractable, ['deriveBits']);
  return { pub: await x25519(priv, BASEPOINT), priv };
}

export async function x25519(priv, pubRaw) {
  const pub = await S.importKey('raw', pubRaw, { name: 'X25519' }, true, []);
  return new Uint8Array(await S.deriveBits({ name: 'X25519', public: pub }, priv, 256));
}

// A signing pair is {pub: Uint8Array(32), priv: CryptoKey}.
export async function ed25519Generate(extractable = false) {
  const kp = await S.generateKey({ name: 'Ed25519' }, extractable, ['sign', 'verify']);
  return { pub: new Uint8Array(await S.exportKey('raw', kp.publicKey)), priv: kp.privateKey };
}

// ed25519Import turns a 32-byte seed into a pair. WebCrypto cannot derive
// the public key of a non-extractable private key, so it is imported once
// extractable to read the public half, then again as asked.
export async function ed25519Import(seed, extractable = false) {
  const pk8 = concat(PK8_ED25519, seed);
  const tmp = await S.importKey('pkcs8', pk8, { name: 'Ed25519' }, true, ['sign']);
  const jwk = await S.exportKey('jwk', tmp);
  const pub = b64urlDecode(jwk.x);
  const priv = extractable ? tmp : await S.importKey('pkcs8', pk8, { name: 'Ed25519' }, false, ['sign']);
  return { pub, priv };
}

// privateBytes returns the raw 32 private bytes of an extractable X25519 or
// Ed25519 key (the seed for Ed25519): what the backup holds.
export async function privateBytes(priv) {
  return new Uint8Array(await S.exportKey('pkcs8', priv)).slice(16);
}

export async function sign(priv, data) {
  return new Uint8Array(await S.sign({ name: 'Ed25519' }, priv, data));
}

export async function verify(pubRaw, sig, data) {
  if (!pubRaw || pubRaw.length !== 32 || !sig || sig.length !== 64) return false;
  try {
    const pub = await S.importKey('raw', pubRaw, { name: 'Ed25519' }, false, ['verify']);
    return await S.verify({ name: 'Ed25519' }, pub, sig, data);
  } catch { return false; }
}

export async function hkdf(salt, ikm, info, len) {
  const k = await S.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
  const inf = typeof info === 'string' ? utf8(info) : info;
  return new Uint8Array(await S.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info: inf }, k, len * 8));
}

export async function hmac(key, data) {
  const k = await S.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await S.sign('HMAC', k, data));
}

export async function sha512(data) { return new Uint8Array(await S.digest('SHA-512', data)); }
export async function sha256(data) { return new Uint8Array(await S.digest('SHA-256', data)); }

export async function aesGcmEncrypt(key, nonce, pt, aad) {
  const k = await S.importKey('raw', key, 'AES-GCM', false, ['encrypt']);
  const p = { name: 'AES-GCM', iv: nonce };
  if (aad) p.additionalData = aad;
  return new Uint8Array(await S.encrypt(p, k, pt));
}

// aesGcmDecrypt throws on any authentication failure.
export async function aesGcmDecrypt(key, nonce, ct, aad) {
  const k = await S.importKey('raw', key, 'AES-GCM', false, ['decrypt']);
  const p = { name: 'AES-GCM', iv: nonce };
  if (aad) p.additionalData = aad;
  return new Uint8Array(await S.decrypt(p, k, ct));
}

// KDF_CK of §5: (next chain key, message key).
const B1 = new Uint8Array([1]);
const B2 = new Uint8Array([2]);
export async function kdfCK(ck) { return [await hmac(ck, B2), await hmac(ck, B1)]; }

// KDF_RK of §5: (root key, chain key).
export async function kdfRK(rk, dh) {
  const okm = await hkdf(rk, dh, 'ParleyRatchet1', 64);
  return [okm.slice(0, 32), okm.slice(32)];
}

// ENC/DEC of §5: AES-256-GCM under key and nonce from HKDF(mk).
async function msgKeys(mk) { return hkdf(ZERO32, mk, 'ParleyMsg1', 44); }
export async function enc(mk, pt, ad) {
  const okm = await msgKeys(mk);
  return aesGcmEncrypt(okm.subarray(0, 32), okm.subarray(32, 44), pt, ad);
}
export async function dec(mk, ct, ad) {
  const okm = await msgKeys(mk);
  return aesGcmDecrypt(okm.subarray(0, 32), okm.subarray(32, 44), ct, ad);
}

function b64urlDecode(s) {
  const t = s.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(t + '='.repeat((4 - (t.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
