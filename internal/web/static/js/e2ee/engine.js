// engine.js — one device's E2EE protocol state and the envelope of §6–§7
// of docs/e2ee.md, independent of the network and of storage.
//
// State (a plain object IndexedDB stores as is; see keystore.js):
//   deviceId, userId, iks {pub, priv}, ikd {pub, priv},
//   spks: Map(id → {pub, priv, created}), opks: Map(id → {pub, priv}),
//   sessions: Map(device → {ratchet, iks, ikd, pending (x3dh object or null), ek (b64, responder side)}),
//   ctrOut: Map(conversation → last ctr sent), ctrIn: Map("conv|device" → highest ctr accepted),
//   myGroup: Map(conversation → {key, sent: Set(device), stale}),
//   groupIn: Map("conv|device|keyId" → receiving sender key).
//
// Every operation runs alone (a queue), computes on copies and commits to
// the state only when it succeeds, so a rejected message changes nothing.

import { utf8, fromUtf8, b64, unb64, unb64n, equal } from './bytes.js';
import * as x3dh from './x3dh.js';
import * as ratchet from './ratchet.js';
import * as senderkey from './senderkey.js';
import { x25519Generate } from './prim.js';
import { DecryptError, FORGED, FORGED_OR_CORRUPTED, REPLAYED, TRUNCATED, NOT_FOR_THIS_DEVICE, NO_SENDER_KEY, asDecryptError } from './errors.js';

export const MAX_RECIPIENTS = 64;

export function emptyState(deviceId, userId, iks, ikd) {
  return {
    deviceId, userId, iks, ikd, spks: new Map(), opks: new Map(), sessions: new Map(),
    ctrOut: new Map(), ctrIn: new Map(), myGroup: new Map(), groupIn: new Map(),
  };
}

export class Engine {
  // opts.gen: X25519 pair generator (tests pass fixed keys);
  // opts.save(state): persist after each committed change.
  constructor(state, opts = {}) {
    this.s = state;
    this.gen = opts.gen || x25519Generate;
    this.save = opts.save || (async () => {});
    this.queue = Promise.resolve();
  }

  run(fn) {
    const p = this.queue.then(fn);
    this.queue = p.catch(() => {});
    return p;
  }

  hasSession(device) { return this.s.sessions.has(device); }

  // rotateGroupKey marks my sender key of a group stale: a new one is made
  // and distributed before the next group message (§9 rotation).
  rotateGroupKey(conv) {
    return this.run(async () => {
      const g = this.s.myGroup.get(conv);
      if (g) { g.stale = true; await this.save(this.s); }
    });
  }

  // seal builds the envelope of inner (an object without conversation_id,
  // sender_device and ctr, which seal fills in) for conv.
  // recipients: [{device, bundle?}] — every device to reach but this one;
  // bundle (raw claimed bundle JSON) is needed for devices without a session.
  // group: true for group conversations (sender key, §9).
  seal(conv, recipients, inner, { group = false } = {}) {
    return this.run(async () => {
      const s = this.s;
      const targets = recipients.filter((r) => r.device !== s.deviceId);
      if (targets.length > MAX_RECIPIENTS) throw new Error(`too many devices (${targets.length} > ${MAX_RECIPIENTS})`);
      const ctr = (s.ctrOut.get(conv) || 0) + 1;
      const full = { kind: 'msg', conversation_id: conv, sender_device: s.deviceId, ctr, ...inner };
      const sessions = new Map();
      const entries = [];
      const pairwise = async (r, pt) => {
        let sess = s.sessions.get(r.device);
        if (!sess) {
          if (!r.bundle) throw new Error(`no session and no bundle for device ${r.device}`);
          const b = await x3dh.parseBundle(r.bundle);
          const init = await x3dh.initiate(s, b, this.gen);
          sess = { ratchet: await ratchet.initAlice(init.sk, init.ad, b.spk, this.gen), iks: b.iks, ikd: b.ikd, pending: init.x3dh, ek: null };
        }
        const out = await ratchet.encrypt(sess.ratchet, utf8(JSON.stringify(pt)));
        sessions.set(r.device, { ...sess, ratchet: out.state });
        const e = { device: r.device, type: sess.pending ? 'prekey' : 'msg', header: b64(out.header), ct: b64(out.ct) };
        if (sess.pending) e.x3dh = sess.pending;
        entries.push(e);
      };
      const env = { v: 1, sender_device: s.deviceId, recipients: entries };
      let mine = null;
      if (group) {
        const cur = s.myGroup.get(conv);
        mine = cur && !cur.stale ? { key: cur.key, sent: new Set(cur.sent) } : { key: await senderkey.create(), sent: new Set() };
        const skd = senderkey.distribution(mine.key, conv);
        for (const r of targets) {
          if (mine.sent.has(r.device)) continue;
          await pairwise(r, { kind: 'skd', conversation_id: conv, sender_device: s.deviceId, ctr, skd });
          mine.sent.add(r.device);
        }
        const sealed = await senderkey.seal(mine.key, conv, utf8(JSON.stringify(full)));
        mine.key = sealed.key;
        env.group = sealed.group;
      } else {
        for (const r of targets) await pairwise(r, full);
      }
      for (const [d, sess] of sessions) s.sessions.set(d, sess);
      if (mine) s.myGroup.set(conv, { key: mine.key, sent: mine.sent, stale: false });
      s.ctrOut.set(conv, ctr);
      await this.save(s);
      return env;
    });
  }

  // open decrypts an envelope of conv and returns the inner plaintext
  // object, or throws a DecryptError (nothing changes then).
  // iksOf(device) may return the sender device's published identity key
  // (raw), checked against a prekey message's ik_sign.
  open(conv, env, { iksOf } = {}) {
    return this.run(async () => {
      const s = this.s;
      const commits = [];
      let inner;
      try {
        if (!env || typeof env !== 'object' || env.v !== 1 || typeof env.sender_device !== 'string' || !Array.isArray(env.recipients)) throw new DecryptError(TRUNCATED, 'envelope shape');
        const sender = env.sender_device;
        if (sender === s.deviceId) throw new DecryptError(NOT_FOR_THIS_DEVICE, 'sent by this device');
        const entry = env.recipients.find((r) => r && r.device === s.deviceId);
        let pairwisePT = null;
        if (entry) pairwisePT = await this.openEntry(sender, entry, commits, iksOf);
        if (env.group) {
          const groupKey = (kid) => `${conv}|${sender}|${kid}`;
          const pending = new Map();
          if (pairwisePT) {
            if (pairwisePT.kind !== 'skd' || !pairwisePT.skd) throw new DecryptError(FORGED, 'expected a sender key distribution');
            if (pairwisePT.conversation_id !== conv || pairwisePT.sender_device !== sender || pairwisePT.skd.conversation_id !== conv) throw new DecryptError(FORGED, 'distribution for another conversation or device');
            pending.set(groupKey(pairwisePT.skd.key_id), senderkey.accept(pairwisePT.skd));
          }
          const g = env.group;
          if (typeof g !== 'object' || typeof g.key_id !== 'string') throw new DecryptError(TRUNCATED, 'group shape');
          const k = groupKey(g.key_id);
          const key = pending.get(k) || s.groupIn.get(k);
          if (!key) throw new DecryptError(NO_SENDER_KEY, 'no sender key ' + g.key_id);
          const out = await senderkey.open(key, conv, g);
          commits.push(() => s.groupIn.set(k, out.key));
          inner = parseInner(out.pt);
        } else {
          if (!entry) throw new DecryptError(NOT_FOR_THIS_DEVICE);
          inner = pairwisePT;
        }
        if (inner.kind !== 'msg') throw new DecryptError(FORGED, 'unexpected kind ' + inner.kind);
        if (inner.conversation_id !== conv || inner.sender_device !== sender) throw new DecryptError(FORGED, 'conversation or sender differs from the envelope');
        if (!Number.isInteger(inner.ctr) || inner.ctr < 1) throw new DecryptError(TRUNCATED, 'bad ctr');
        const ck = `${conv}|${sender}`;
        if (inner.ctr <= (s.ctrIn.get(ck) || 0)) throw new DecryptError(REPLAYED, `ctr ${inner.ctr}`);
        commits.push(() => s.ctrIn.set(ck, inner.ctr));
      } catch (e) {
        throw asDecryptError(e);
      }
      for (const c of commits) c();
      await this.save(s);
      return inner;
    });
  }

  // openEntry decrypts this device's pairwise entry, queueing the session
  // change in commits.
  async openEntry(sender, entry, commits, iksOf) {
    const s = this.s;
    if (entry.type !== 'prekey' && entry.type !== 'msg') throw new DecryptError(TRUNCATED, 'entry type');
    const header = unb64n(entry.header, ratchet.HEADER_LEN);
    const ct = unb64(entry.ct);
    let sess = s.sessions.get(sender);
    let usedOpk = null;
    if (entry.type === 'prekey') {
      const x = x3dh.parseX3DH(entry.x3dh);
      const ekB64 = b64(x.ek);
      if (!sess || sess.ek !== ekB64) {
        if (iksOf) {
          const want = await iksOf(sender);
          if (!want || !equal(want, x.iks)) throw new DecryptError(FORGED, 'identity key differs from the published one');
        }
        const spk = s.spks.get(x.spkId);
        if (!spk) throw new DecryptError(FORGED_OR_CORRUPTED, 'unknown signed prekey');
        let opk = null;
        if (x.opkId !== null) {
          opk = s.opks.get(x.opkId);
          if (!opk) throw new DecryptError(REPLAYED, 'one-time prekey already used');
          usedOpk = x.opkId;
        }
        const r = await x3dh.respond(s, x, spk, opk);
        sess = { ratchet: ratchet.initBob(r.sk, r.ad, spk), iks: x.iks, ikd: x.ikd, pending: null, ek: ekB64 };
      }
    }
    if (!sess) throw new DecryptError(FORGED_OR_CORRUPTED, 'no session with device ' + sender);
    const out = await ratchet.decrypt(sess.ratchet, header, ct, this.gen);
    commits.push(() => {
      s.sessions.set(sender, { ...sess, ratchet: out.state, pending: null });
      if (usedOpk !== null) s.opks.delete(usedOpk);
    });
    return parseInner(out.pt);
  }
}

function parseInner(pt) {
  let o;
  try { o = JSON.parse(fromUtf8(pt)); } catch { throw new DecryptError(TRUNCATED, 'inner plaintext is not JSON'); }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new DecryptError(TRUNCATED, 'inner plaintext is not an object');
  return o;
}
