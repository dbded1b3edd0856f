// device.js — this browser's E2EE device (§1, §2, §8 of docs/e2ee.md):
// creation and registration, prekey upkeep, backup and restore. The state is
// an Engine state (engine.js) with, in addition:
//   wrapKey (non-extractable AES-GCM CryptoKey), wrapped {iks, ikd,
//   spks: Map(id → wrapped), opks: Map(id → wrapped)}, nextSpk, nextOpk.

import { b64, unb64n } from './bytes.js';
import * as prim from './prim.js';
import * as x3dh from './x3dh.js';
import * as wrap from './wrap.js';
import * as backup from './backup.js';
import { emptyState } from './engine.js';

export const OPK_TARGET = 100;
export const OPK_LOW = 20;
export const SPK_ROTATE_MS = 7 * 24 * 3600 * 1000;
export const SPK_KEEP_MS = 30 * 24 * 3600 * 1000;
const enc = encodeURIComponent;

async function newOPKs(st, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const id = st.nextOpk++;
    const k = await wrap.newX25519(st.wrapKey);
    st.opks.set(id, k.pair);
    st.wrapped.opks.set(id, k.wrapped);
    out.push({ id, key: b64(k.pair.pub) });
  }
  return out;
}

async function newSPK(st) {
  const id = st.nextSpk++;
  const k = await wrap.newX25519(st.wrapKey);
  st.spks.set(id, { ...k.pair, created: Date.now() });
  st.wrapped.spks.set(id, k.wrapped);
  return { id, key: b64(k.pair.pub), sig: b64(await x3dh.signSPK(st.iks, id, k.pair.pub)) };
}

// create makes a new device's keys (nothing is sent yet).
export async function create(userId) {
  const wrapKey = await wrap.newWrapKey();
  const iks = await wrap.newEd25519(wrapKey);
  const ikd = await wrap.newX25519(wrapKey);
  const st = emptyState(null, userId, iks.pair, ikd.pair);
  Object.assign(st, { wrapKey, wrapped: { iks: iks.wrapped, ikd: ikd.wrapped, spks: new Map(), opks: new Map() }, nextSpk: 1, nextOpk: 1 });
  return st;
}

// register publishes a new device (POST /e2ee/devices) and sets its id.
export async function register(api, st, name) {
  const spk = await newSPK(st);
  const opks = await newOPKs(st, OPK_TARGET);
  const r = await api.req('POST', '/e2ee/devices', {
    name, identity_sign: b64(st.iks.pub), identity_dh: b64(st.ikd.pub),
    identity_dh_sig: b64(await x3dh.signIKd(st.iks, st.ikd.pub)), signed_prekey: spk, one_time_prekeys: opks,
  });
  st.deviceId = String(r.device_id ?? r.device?.device_id);
  return st;
}

// upkeep replenishes one-time prekeys below OPK_LOW and rotates the signed
// prekey weekly (old private halves kept 30 days). Returns whether st changed.
export async function upkeep(api, st, now = Date.now()) {
  let changed = false;
  const base = `/e2ee/devices/${enc(st.deviceId)}`;
  const r = await api.req('GET', base + '/prekey_count');
  const count = r?.count ?? r?.one_time_prekeys ?? r?.prekey_count ?? 0;
  if (count < OPK_LOW) {
    const opks = await newOPKs(st, OPK_TARGET - count);
    await api.req('POST', base + '/one_time_prekeys', { one_time_prekeys: opks });
    changed = true;
  }
  const newest = Math.max(...[...st.spks.values()].map((k) => k.created || 0));
  if (now - newest > SPK_ROTATE_MS) {
    const spk = await newSPK(st);
    await api.req('PUT', base + '/signed_prekey', spk);
    changed = true;
  }
  for (const [id, k] of st.spks) {
    if (st.spks.size > 1 && now - (k.created || 0) > SPK_KEEP_MS + SPK_ROTATE_MS) { st.spks.delete(id); st.wrapped.spks.delete(id); changed = true; }
  }
  return changed;
}

// backupState is the §8 state JSON of st (only prekeys still unused).
export async function backupState(st) {
  const wk = st.wrapKey;
  const list = async (m, live) => {
    const out = [];
    for (const [id, w] of m) if (live.has(id)) out.push({ id, priv: b64(await wrap.unwrapBytes(wk, w)) });
    return out;
  };
  return {
    device_id: st.deviceId,
    identity_sign_priv: b64(await wrap.unwrapBytes(wk, st.wrapped.iks)),
    identity_dh_priv: b64(await wrap.unwrapBytes(wk, st.wrapped.ikd)),
    signed_prekeys: await list(st.wrapped.spks, st.spks),
    one_time_prekeys: await list(st.wrapped.opks, st.opks),
    ext: { web: { user_id: st.userId, next_spk: st.nextSpk, next_opk: st.nextOpk } },
  };
}

export async function makeBackup(api, st, passphrase, params) {
  const blob = await backup.seal(passphrase, await backupState(st), params);
  await api.req('PUT', '/e2ee/backup', blob);
  return blob;
}

// restore rebuilds a device from a §8 state JSON: working keys are imported
// non-extractable and the bytes wrapped again under a new wrap key.
export async function restore(userId, s) {
  const wrapKey = await wrap.newWrapKey();
  const imp = async (b64s, ed) => {
    const raw = unb64n(b64s, 32);
    const pair = ed ? await prim.ed25519Import(raw) : await prim.x25519Import(raw);
    return { pair, wrapped: await wrap.wrapBytes(wrapKey, raw) };
  };
  const iks = await imp(s.identity_sign_priv, true);
  const ikd = await imp(s.identity_dh_priv, false);
  const st = emptyState(String(s.device_id), userId, iks.pair, ikd.pair);
  Object.assign(st, { wrapKey, wrapped: { iks: iks.wrapped, ikd: ikd.wrapped, spks: new Map(), opks: new Map() } });
  let maxSpk = 0, maxOpk = 0;
  for (const k of s.signed_prekeys || []) {
    const r = await imp(k.priv, false);
    st.spks.set(k.id, { ...r.pair, created: Date.now() });
    st.wrapped.spks.set(k.id, r.wrapped);
    maxSpk = Math.max(maxSpk, k.id);
  }
  for (const k of s.one_time_prekeys || []) {
    const r = await imp(k.priv, false);
    st.opks.set(k.id, r.pair);
    st.wrapped.opks.set(k.id, r.wrapped);
    maxOpk = Math.max(maxOpk, k.id);
  }
  const ext = s.ext?.web || {};
  st.nextSpk = Math.max(maxSpk + 1, ext.next_spk || 0);
  st.nextOpk = Math.max(maxOpk + 1, ext.next_opk || 0);
  return st;
}
