// client.js — the web client's E2EE service (docs/e2ee.md, docs/web.md):
// binds the protocol engine to the REST API, the store and IndexedDB.
//
//   start()            load or create this browser's device (or wait for a
//                      restore from the key backup), keep prekeys topped up
//   seal/send/edit     encrypt for every device of the conversation
//   transform(m)       synchronous hook of Store.addMessages: a known
//                      plaintext at once, else a "Decrypting…" placeholder
//                      and the message is decrypted in seq order, then
//                      re-added with body (or e2ee_status "failed")
//   safety numbers, verified marks, key-change warnings, backup, files.
//
// Events (EventTarget): "state" (availability / restore needed),
// "keys-changed" {userId}, "verified".

import { b64, unb64, unb64n, random, equal } from './bytes.js';
import * as prim from './prim.js';
import * as keystore from './keystore.js';
import * as device from './device.js';
import * as backup from './backup.js';
import * as safety from './safety.js';
import { Engine } from './engine.js';
import { DecryptError, FORGED, NOT_FOR_THIS_DEVICE, UNKNOWN_DEVICE, asDecryptError } from './errors.js';

const enc = encodeURIComponent;
const DEVICE_TTL = 60 * 1000;
const FILL_PAGES = 20; // pages of 100 fetched to decrypt in order before a newer message

export class E2EE extends EventTarget {
  constructor(api, store) {
    super();
    this.api = api;
    this.store = store;
    this.status = 'starting'; // starting | ready | restore | unavailable | error
    this.engine = null;
    this.plain = new Map(); // message key → decrypted fields
    this.devCache = new Map(); // user id → {at, list}
    this.queues = new Map(); // conversation id → {pending: Map(key → m), running}
    this.failures = 0;
    this.meta = { seq: new Map(), known: new Map(), verified: new Map(), changed: new Set() };
    this.editing = new Map(); // message id → plaintext of my edit in flight
    this.membersLoaded = new Set(); // group ids whose member list was read once
    this.ready = new Promise((r) => { this.markReady = r; });
  }

  get me() { return this.store.me.id; }
  get deviceId() { return this.engine?.s.deviceId; }
  #k(kind, rest) { return `${kind}:${this.me}:${rest}`; }
  #setStatus(s, detail) {
    if (s === 'unavailable' || s === 'error') queueMicrotask(() => this.markReady());
    this.status = s; this.statusDetail = detail; this.dispatchEvent(new CustomEvent('state', { detail: { status: s } })); this.store.emit('e2ee'); }

  async #saveMeta() { await keystore.put(this.#k('meta', 'all'), this.meta); }
  #engine(st) {
    return new Engine(st, { save: (s) => keystore.put('device:' + this.me, s) });
  }

  // start loads this browser's device, or registers a new one, or (a key
  // backup exists and this browser has no device) waits for restore().
  async start() {
    try {
      const meta = await keystore.get(this.#k('meta', 'all'));
      if (meta) this.meta = meta;
      const st = await keystore.get('device:' + this.me);
      if (st) {
        this.engine = this.#engine(st);
        this.#setStatus('ready');
        this.markReady();
        this.#upkeep();
        return;
      }
      // Feature detection without a failing request: the server's OpenAPI
      // document lists the E2EE routes when it offers them.
      if (!await this.#serverOffersE2EE()) { this.#setStatus('unavailable'); return; }
      // A backup can only exist once the account has a device somewhere.
      const mine = await this.api.req('GET', `/e2ee/users/${enc(this.me)}/devices`);
      if (mine?.devices?.length) {
        let blob = null;
        try { blob = await this.api.req('GET', '/e2ee/backup'); } catch (e) { if (e.status !== 404) throw e; }
        if (blob && (blob.ct || blob.backup?.ct)) { this.backupBlob = blob.backup ?? blob; this.#setStatus('restore'); return; }
      }
      await this.newDevice();
    } catch (e) {
      console.error('e2ee start', e);
      this.#setStatus('error', e.message);
    }
  }

  async #serverOffersE2EE() {
    try {
      const doc = await this.api.req('GET', '/openapi.json');
      return !!doc?.paths?.['/api/v1/e2ee/devices'];
    } catch { return false; }
  }

  // newDevice creates and registers this browser's keys.
  async newDevice() {
    const st = await device.create(this.me);
    await device.register(this.api, st, deviceName());
    await keystore.put('device:' + this.me, st);
    this.engine = this.#engine(st);
    this.#setStatus('ready');
    this.markReady();
  }

  // restore opens the server's key backup with passphrase and makes this
  // browser that device again (throws backup.BackupError).
  async restore(passphrase) {
    const blob = this.backupBlob || await this.api.req('GET', '/e2ee/backup');
    const state = await backup.open(passphrase, blob.backup ?? blob);
    const st = await device.restore(this.me, state);
    await keystore.put('device:' + this.me, st);
    this.engine = this.#engine(st);
    this.#setStatus('ready');
    this.markReady();
    this.#upkeep();
  }

  async setBackup(passphrase, params) {
    await this.whenReady();
    return device.makeBackup(this.api, this.engine.s, passphrase, params);
  }

  async deleteBackup() { await this.api.req('DELETE', '/e2ee/backup'); }

  // removeDevice deletes another device of this account (its keys stop
  // receiving messages; the others see a key change).
  async removeDevice(id) {
    if (id === this.deviceId) throw new Error('this browser’s own device cannot be removed here');
    await this.api.req('DELETE', `/e2ee/devices/${enc(id)}`);
    this.devCache.delete(this.me);
  }

  // whenReady waits for this browser's keys; it throws when there are none
  // to wait for (server without E2EE, setup failed).
  async whenReady() {
    if (this.status !== 'ready') await this.ready;
    if (this.status === 'unavailable') throw new Error('this server does not offer end-to-end encryption');
    if (this.status !== 'ready') throw new Error('encryption keys could not be set up: ' + (this.statusDetail || 'unknown error'));
  }

  async #upkeep() {
    try {
      if (await device.upkeep(this.api, this.engine.s)) await keystore.put('device:' + this.me, this.engine.s);
    } catch (e) {
      if (e.status === 404) { await this.#checkStillRegistered(); return; }
      console.warn('e2ee prekey upkeep', e);
    }
  }

  // #checkStillRegistered makes new keys when the server no longer lists
  // this browser's device (removed from another device): its old sessions
  // cannot be used any more.
  async #checkStillRegistered() {
    try {
      const r = await this.api.req('GET', `/e2ee/users/${enc(this.me)}/devices`);
      if ((r?.devices || []).some((d) => String(d.device_id) === this.deviceId)) return;
      console.warn('e2ee: this browser\'s device was removed from the account; making new keys');
      this.#setStatus('starting');
      this.ready = new Promise((res) => { this.markReady = res; });
      await this.newDevice();
    } catch (e) {
      if (e.status === 404) this.#setStatus('unavailable');
      else console.warn('e2ee device check', e);
    }
  }

  // Devices ----------------------------------------------------------------

  // devices returns a user's published devices ({device_id, iks (raw), name}),
  // cached a minute; a change from what this browser knew is a key change.
  async devices(userId, fresh = false) {
    const c = this.devCache.get(userId);
    if (c && !fresh && Date.now() - c.at < DEVICE_TTL) return c.list;
    const r = await this.api.req('GET', `/e2ee/users/${enc(userId)}/devices`);
    const list = (r?.devices || []).map((d) => ({ device_id: String(d.device_id), name: d.name, iks: unb64n(d.identity_sign, 32), raw: d }));
    this.devCache.set(userId, { at: Date.now(), list });
    const ids = list.map((d) => d.device_id + '=' + b64(d.iks)).sort();
    const known = this.meta.known.get(userId);
    if (known && userId !== this.me && JSON.stringify(known) !== JSON.stringify(ids)) {
      const removed = known.some((k) => !ids.includes(k));
      this.meta.changed.add(userId);
      this.meta.verified.delete(userId);
      if (removed) await this.#rotateWith(userId);
      this.dispatchEvent(new CustomEvent('keys-changed', { detail: { userId } }));
      this.store.emit('e2ee');
    }
    this.meta.known.set(userId, ids);
    await this.#saveMeta();
    return list;
  }

  // onDevicesEvent handles the e2ee_devices event (§2).
  async onDevicesEvent(f) {
    if (!f?.user_id) return;
    this.devCache.delete(f.user_id);
    if (this.status === 'ready') await this.devices(f.user_id, true).catch(() => {});
  }

  // onMemberGone rotates my sender key of a group (§9 rotation).
  async onMemberGone(convId) { if (this.engine) await this.engine.rotateGroupKey(convId); }

  async #rotateWith(userId) {
    if (!this.engine) return;
    for (const c of this.store.convs.values()) if (c.encrypted && c.kind !== 'direct' && c.members?.has(userId)) await this.engine.rotateGroupKey(c.id);
  }

  keysChanged(userId) { return this.meta.changed.has(userId); }
  async dismissKeyChange(userId) { this.meta.changed.delete(userId); await this.#saveMeta(); this.store.emit('e2ee'); }

  // Safety numbers ---------------------------------------------------------

  async safetyNumber(userId) {
    const [mine, theirs] = await Promise.all([this.devices(this.me, true), this.devices(userId, true)]);
    return safety.safetyNumber({ id: this.me, iks: mine.map((d) => d.iks) }, { id: userId, iks: theirs.map((d) => d.iks) });
  }

  // isVerified: marked verified and the safety number has not changed since.
  isVerified(userId) { return this.meta.verified.has(userId); }
  async markVerified(userId, number) {
    this.meta.verified.set(userId, number);
    this.meta.changed.delete(userId);
    await this.#saveMeta();
    this.store.emit('e2ee');
  }
  async checkVerified(userId, number) {
    const v = this.meta.verified.get(userId);
    if (v && v !== number) { this.meta.verified.delete(userId); this.meta.changed.add(userId); await this.#saveMeta(); this.store.emit('e2ee'); }
    return this.meta.verified.get(userId) === number;
  }

  // Sending ----------------------------------------------------------------

  // #memberIds lists the members to encrypt for: a group's full list is read
  // once (receipts alone may have filled c.members partly); member frames
  // keep it current after that.
  async #memberIds(c) {
    if ((c.kind !== 'direct' && !this.membersLoaded.has(c.id)) || !c.members || c.members.size < 2) {
      await this.store.loadMembers(c.id, false);
      this.membersLoaded.add(c.id);
    }
    return [...(this.store.convs.get(c.id)?.members?.keys() || c.members?.keys() || [])];
  }

  // seal builds the envelope of inner for conversation c.
  async seal(c, inner) {
    await this.whenReady();
    const recips = [];
    for (const uid of await this.#memberIds(c)) {
      const devs = await this.devices(uid);
      const need = devs.filter((d) => d.device_id !== this.deviceId && !this.engine.hasSession(d.device_id));
      let bundles = new Map();
      if (need.length) {
        const r = await this.api.req('POST', `/e2ee/users/${enc(uid)}/bundles`, {});
        bundles = new Map((r?.bundles || []).map((b) => [String(b.device_id), b]));
      }
      for (const d of devs) {
        if (d.device_id === this.deviceId) continue;
        const b = bundles.get(d.device_id);
        if (b && !equal(unb64n(b.identity_sign, 32), d.iks)) throw new Error('a claimed bundle does not match the published identity key');
        if (!this.engine.hasSession(d.device_id) && !b) continue; // device without prekeys left: skipped
        recips.push({ device: d.device_id, bundle: b });
      }
    }
    return this.engine.seal(c.id, recips, inner, { group: c.kind !== 'direct' });
  }

  // send encrypts body (and encrypted files) and queues it; the plaintext
  // is remembered by client_msg_id so this device shows its own message.
  async send(rt, c, body, replyTo, files = []) {
    const inner = { body, reply_to: replyTo || 0, mentions: [], attachments: files };
    const env = await this.seal(c, inner);
    // The ciphertext blobs ride in attachment_ids (docs/e2ee.md) so the server
    // lets the members fetch them; their keys stay in the envelope.
    const bound = files.map((f) => ({ id: f.id, name: f.name, mime: f.mime, size: f.size }));
    const entry = rt.send(c.id, '', undefined, bound, { e2ee: env, preview: body });
    const rec = { body, reply_to: replyTo || 0, e2ee_files: files, e2ee_status: 'ok' };
    this.plain.set('cmid:' + entry.client_msg_id, rec);
    await keystore.put(this.#k('plain', 'cmid:' + entry.client_msg_id), rec);
    return entry;
  }

  // edit sends a new envelope for my message m (§3: edits carry a new one).
  async edit(c, m, body) {
    const inner = { body, reply_to: m.reply_to || 0, mentions: [], attachments: m.e2ee_files || [], edit_of: m.id };
    const env = await this.seal(c, inner);
    const rec = { body, reply_to: m.reply_to || 0, e2ee_files: inner.attachments, e2ee_status: 'ok' };
    this.editing.set(m.id, rec);
    try {
      const r = await this.api.req('PATCH', `/conversations/${enc(c.id)}/messages/${m.seq}`, { body: '', e2ee: env });
      const updated = r?.message ?? r;
      if (updated?.id) await this.#remember(updated, rec);
      return updated ? { ...updated, ...rec } : null;
    } finally { this.editing.delete(m.id); }
  }

  // Receiving --------------------------------------------------------------

  #key(m) { return `${m.id || m.conversation_id + ':' + m.seq}|${m.edited_at || ''}`; }

  async #remember(m, rec) {
    const k = this.#key(m);
    this.plain.set(k, rec);
    await keystore.put(this.#k('plain', k), rec);
  }

  // #own is the plaintext this browser sent as m: its own send (by
  // client_msg_id) or, for an edited message, the edit being made.
  #own(m) {
    if (!this.deviceId || m.e2ee?.sender_device !== this.deviceId) return null;
    if (m.edited_at) return this.editing.get(m.id) || null;
    return (m.client_msg_id && this.plain.get('cmid:' + m.client_msg_id)) || null;
  }

  // transform is Store.addMessages' hook (synchronous).
  transform(m) {
    if (!m?.e2ee || m.deleted || m.e2ee_status) return m;
    const rec = this.#own(m) || this.plain.get(this.#key(m));
    if (rec) { this.#advance(m); return { ...m, ...rec }; }
    this.#enqueue(m);
    return { ...m, body: '', e2ee_status: 'pending' };
  }

  #enqueue(m) {
    let q = this.queues.get(m.conversation_id);
    if (!q) { q = { pending: new Map(), running: false }; this.queues.set(m.conversation_id, q); }
    q.pending.set(this.#key(m), m);
    if (!q.running) { q.running = true; queueMicrotask(() => this.#drain(m.conversation_id, q)); }
  }

  async #drain(convId, q) {
    try {
      try { await this.whenReady(); } catch (e) {
        for (const m of q.pending.values()) this.store.addMessages([{ ...m, body: '', e2ee_status: 'failed', e2ee_error: 'could not decrypt: ' + e.message }]);
        q.pending.clear();
        return;
      }
      while (q.pending.size) {
        const all = [...q.pending.values()].sort((a, b) => a.seq - b.seq);
        const m = all[0];
        q.pending.delete(this.#key(m));
        const rec = await this.#decrypt(m);
        // A message held outside the window's seq list (a reply's original
        // fetched alone, app.js fetchMessage) stays outside it.
        const w = this.store.msgs.get(m.conversation_id);
        if (w && w.bySeq.has(m.seq) && !w.seqs.includes(m.seq)) {
          w.bySeq.set(m.seq, { ...m, ...rec });
          this.store.emit('msgs:' + m.conversation_id);
        } else this.store.addMessages([{ ...m, ...rec }]);
      }
    } finally { q.running = false; }
  }

  // #decrypt returns the fields to merge into m, from the cache or by
  // decrypting (after the messages before it this browser has not seen).
  async #decrypt(m) {
    const rec = await this.#cached(m);
    if (rec) return rec;
    const last = this.meta.seq.get(m.conversation_id);
    if (last !== undefined && m.seq > last + 1) await this.#fill(m.conversation_id, last, m.seq);
    return (await this.#cached(m)) || this.#open(m);
  }

  // #cached finds m's plaintext in memory or IndexedDB (own sends by
  // client_msg_id first: they have no entry for this device).
  async #cached(m) {
    const k = this.#key(m);
    let rec = this.#own(m);
    if (!rec && !m.edited_at && this.deviceId && m.e2ee?.sender_device === this.deviceId && m.client_msg_id) {
      rec = await keystore.get(this.#k('plain', 'cmid:' + m.client_msg_id));
    }
    rec = rec || this.plain.get(k) || await keystore.get(this.#k('plain', k));
    if (rec) { this.plain.set(k, rec); this.#advance(m); }
    return rec || null;
  }

  // #fill decrypts, in order, the messages between after and before that
  // this browser never saw (they stay out of the store's windows).
  async #fill(convId, after, before) {
    for (let i = 0; i < FILL_PAGES && after < before - 1; i++) {
      let ms;
      try { ms = await this.api.messages(convId, { after, limit: 100 }); } catch { return; }
      if (!ms.length) return;
      for (const x of ms.sort((a, b) => a.seq - b.seq)) {
        if (x.seq >= before) return;
        after = x.seq;
        if (!x.e2ee || x.deleted) { this.#advance(x); continue; }
        if (!await this.#cached(x)) await this.#open(x);
      }
    }
  }

  #advance(m) {
    if ((this.meta.seq.get(m.conversation_id) || 0) < m.seq) this.meta.seq.set(m.conversation_id, m.seq);
  }

  async #open(m) {
    let rec;
    try {
      const env = m.e2ee;
      if (env?.sender_device === this.deviceId) throw new DecryptError(NOT_FOR_THIS_DEVICE, 'sent from this browser before its local history was cleared');
      const devs = await this.devices(m.sender_id).catch(() => []);
      let dev = devs.find((d) => d.device_id === env?.sender_device);
      if (!dev) dev = (await this.devices(m.sender_id, true).catch(() => [])).find((d) => d.device_id === env?.sender_device);
      if (!dev) throw new DecryptError(UNKNOWN_DEVICE, 'the sending device is not one of the sender\'s devices');
      const inner = await this.engine.open(m.conversation_id, env, { iksOf: async (id) => (id === dev.device_id ? dev.iks : null) });
      if (m.edited_at && inner.edit_of && inner.edit_of !== m.id) throw new DecryptError(FORGED, 'edit of another message');
      rec = { body: typeof inner.body === 'string' ? inner.body : '', reply_to: Number.isInteger(inner.reply_to) && inner.reply_to > 0 ? inner.reply_to : (m.reply_to || 0),
        e2ee_files: Array.isArray(inner.attachments) ? inner.attachments.filter((a) => a && typeof a === 'object') : [], e2ee_status: 'ok' };
    } catch (e) {
      const d = asDecryptError(e);
      this.failures++;
      console.warn('e2ee:', d.message, d.detail || '');
      rec = { body: '', e2ee_status: 'failed', e2ee_error: d.message, e2ee_files: [] };
    }
    this.#advance(m);
    await this.#remember(m, rec);
    await this.#saveMeta();
    return rec;
  }

  // Files (§7) ---------------------------------------------------------------

  // encryptFile encrypts a File and uploads the ciphertext as an opaque
  // blob; resolves to the inner plaintext's attachment object.
  async encryptFile(file, opts) {
    const data = new Uint8Array(await file.arrayBuffer());
    const key = random(32), nonce = random(12);
    const ct = await prim.aesGcmEncrypt(key, nonce, data);
    const sha = await prim.sha256(data);
    const blob = new File([ct], 'encrypted.bin', { type: 'application/octet-stream' });
    const att = await this.api.upload(blob, opts);
    return { url: `/api/v1/attachments/${enc(att.id)}/content`, id: att.id, name: file.name || 'file', mime: file.type || 'application/octet-stream',
      size: data.length, key: b64(key), nonce: b64(nonce), sha256: b64(sha) };
  }

  // decryptFile downloads and decrypts an attachment object; resolves to a
  // Blob, or throws "could not decrypt: …".
  async decryptFile(a) {
    // Only an attachment download: the URL comes from another member.
    const path = String(a.url || '').replace(/^\/api\/v1/, '');
    if (!/^\/attachments\/[A-Za-z0-9_-]{1,64}\/content$/.test(path)) throw new DecryptError(FORGED, 'attachment address');
    const ct = new Uint8Array(await (await this.api.blob(path)).arrayBuffer());
    let pt;
    try { pt = await prim.aesGcmDecrypt(unb64n(a.key, 32), unb64n(a.nonce, 12), ct); } catch (e) { throw asDecryptError(e); }
    if (!equal(await prim.sha256(pt), unb64(a.sha256))) throw new DecryptError('forged or corrupted', 'file hash');
    return new Blob([pt], { type: typeof a.mime === 'string' ? a.mime : 'application/octet-stream' });
  }
}

function deviceName() {
  const ua = navigator.userAgent;
  const b = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrom/.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const os = /Windows/.test(ua) ? 'Windows' : /Mac OS/.test(ua) ? 'macOS' : /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Linux/.test(ua) ? 'Linux' : '';
  return `Web · ${b}${os ? ' on ' + os : ''}`;
}
