// x3dh.js — device key signatures and X3DH (§1, §4 of docs/e2ee.md).

import { concat, u32, utf8, b64, unb64n } from './bytes.js';
import { x25519, x25519Generate, hkdf, sign, verify, ZERO32 } from './prim.js';

const FF32 = new Uint8Array(32).fill(0xff);

export const ikdSigData = (ikdPub) => concat(utf8('ParleyIKd1'), ikdPub);
export const spkSigData = (id, spkPub) => concat(utf8('ParleySPK1'), u32(id), spkPub);

export const signIKd = (iks, ikdPub) => sign(iks.priv, ikdSigData(ikdPub));
export const signSPK = (iks, id, spkPub) => sign(iks.priv, spkSigData(id, spkPub));

// ad is AD = "ParleyAD1" || IKs_A || IKd_A || IKs_B || IKd_B (A initiator).
export const ad = (iksA, ikdA, iksB, ikdB) => concat(utf8('ParleyAD1'), iksA, ikdA, iksB, ikdB);

async function sk(dhs) { return hkdf(ZERO32, concat(FF32, ...dhs), 'ParleyX3DH1', 32); }

// parseBundle decodes and verifies a claimed bundle (§2); it throws when a
// signature does not verify, so the caller refuses to talk to that device.
export async function parseBundle(b) {
  const out = {
    device_id: String(b.device_id),
    iks: unb64n(b.identity_sign, 32),
    ikd: unb64n(b.identity_dh, 32),
    ikdSig: unb64n(b.identity_dh_sig, 64),
    spkId: b.signed_prekey.id,
    spk: unb64n(b.signed_prekey.key, 32),
    spkSig: unb64n(b.signed_prekey.sig, 64),
    opkId: b.one_time_prekey ? b.one_time_prekey.id : null,
    opk: b.one_time_prekey ? unb64n(b.one_time_prekey.key, 32) : null,
  };
  if (!await verify(out.iks, out.ikdSig, ikdSigData(out.ikd))) throw new Error('identity key signature does not verify');
  if (!await verify(out.iks, out.spkSig, spkSigData(out.spkId, out.spk))) throw new Error('signed prekey signature does not verify');
  return out;
}

// initiate runs X3DH as A against a verified bundle. me holds A's identity
// pairs {iks, ikd}; gen makes the ephemeral pair (tests pass fixed keys).
// Returns {sk, ad, ek (pair), x3dh (the envelope's x3dh object)}.
export async function initiate(me, bundle, gen = x25519Generate) {
  const ek = await gen();
  const dhs = [
    await x25519(me.ikd.priv, bundle.spk),
    await x25519(ek.priv, bundle.ikd),
    await x25519(ek.priv, bundle.spk),
  ];
  if (bundle.opk) dhs.push(await x25519(ek.priv, bundle.opk));
  const x3dh = { ik_sign: b64(me.iks.pub), ik_dh: b64(me.ikd.pub), ek: b64(ek.pub), spk_id: bundle.spkId };
  if (bundle.opkId !== null && bundle.opkId !== undefined) x3dh.opk_id = bundle.opkId;
  return { sk: await sk(dhs), ad: ad(me.iks.pub, me.ikd.pub, bundle.iks, bundle.ikd), ek, x3dh };
}

// respond runs X3DH as B. x is the decoded x3dh object {iks, ikd, ek};
// spk and opk are B's pairs (opk null when the message names none).
export async function respond(me, x, spk, opk) {
  const dhs = [
    await x25519(spk.priv, x.ikd),
    await x25519(me.ikd.priv, x.ek),
    await x25519(spk.priv, x.ek),
  ];
  if (opk) dhs.push(await x25519(opk.priv, x.ek));
  return { sk: await sk(dhs), ad: ad(x.iks, x.ikd, me.iks.pub, me.ikd.pub) };
}

// parseX3DH decodes an envelope's x3dh object (throws TypeError if malformed).
export function parseX3DH(o) {
  if (!o || typeof o !== 'object') throw new TypeError('x3dh missing');
  if (!Number.isInteger(o.spk_id) || o.spk_id < 0) throw new TypeError('bad spk_id');
  if (o.opk_id !== undefined && o.opk_id !== null && (!Number.isInteger(o.opk_id) || o.opk_id < 0)) throw new TypeError('bad opk_id');
  return { iks: unb64n(o.ik_sign, 32), ikd: unb64n(o.ik_dh, 32), ek: unb64n(o.ek, 32), spkId: o.spk_id, opkId: o.opk_id ?? null };
}
