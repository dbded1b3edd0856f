// Tests of the E2EE core (static/js/e2ee/), run in headless Chromium by
// e2ee_test.go: every primitive and protocol step is compared with the
// values Go computes in e2ee_ref_test.go (served at /test/vectors.json),
// then two in-page parties talk. Results land in window.__results.
import { b64, unb64, unb64n, utf8, hex, unhex, equal, concat } from '/assets/js/e2ee/bytes.js';
import * as prim from '/assets/js/e2ee/prim.js';
import { blake2b } from '/assets/js/e2ee/blake2b.js';
import { argon2id } from '/assets/js/e2ee/argon2.js';
import * as x3dh from '/assets/js/e2ee/x3dh.js';
import * as ratchet from '/assets/js/e2ee/ratchet.js';
import * as senderkey from '/assets/js/e2ee/senderkey.js';
import * as safety from '/assets/js/e2ee/safety.js';
import * as backup from '/assets/js/e2ee/backup.js';
import { Engine, emptyState } from '/assets/js/e2ee/engine.js';
import * as device from '/assets/js/e2ee/device.js';
import { test, assert, eq, run } from '/test/harness.js';

async function rejects(p, reason, msg) {
  try { await p; } catch (e) {
    if (e.name !== 'DecryptError') throw new Error(`${msg}: threw ${e}, not a DecryptError`);
    if (reason && e.reason !== reason) throw new Error(`${msg}: reason ${JSON.stringify(e.reason)}, want ${JSON.stringify(reason)}`);
    assert(e.message === 'could not decrypt: ' + e.reason, 'message form');
    return e;
  }
  throw new Error(msg + ': did not fail');
}

const V = await (await fetch('/test/vectors.json')).json();
const xk = (n) => prim.x25519Import(unb64(V.priv[n]));
const ek = (n) => prim.ed25519Import(unb64(V.priv[n]));
// fixedGen hands out the named X25519 pairs in order, then fails.
function fixedGen(...names) {
  const q = [...names];
  return async () => { if (!q.length) throw new Error('fixedGen exhausted'); return xk(q.shift()); };
}

test('base64 is standard with padding, strict', async () => {
  eq(b64(utf8('ab')), 'YWI=', 'encode');
  eq(Array.from(unb64('YWI=')), [97, 98], 'decode');
  for (const bad of ['YWI', 'YW-=', 'YW I=', 'YWI==']) {
    let threw = false; try { unb64(bad); } catch { threw = true; }
    assert(threw, 'refuses ' + bad);
  }
});

test('BLAKE2b matches x/crypto/blake2b and RFC 7693 "abc"', async () => {
  eq(hex(blake2b(64, utf8('abc'))), 'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923', 'abc');
  for (const c of V.blake2b) eq(b64(blake2b(c.len, unb64(c.data), unb64(c.key))), c.out, `len ${c.len} key ${unb64(c.key).length} data ${unb64(c.data).length}`);
});

test('Argon2id: RFC 9106 §5.3 test vector', async () => {
  const tag = argon2id(new Uint8Array(32).fill(1), new Uint8Array(16).fill(2), { t: 3, m: 32, p: 4, len: 32, secret: new Uint8Array(8).fill(3), ad: new Uint8Array(12).fill(4) });
  eq(hex(tag), '0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659', 'tag');
});

test('Argon2id matches x/crypto/argon2.IDKey', async () => {
  for (const c of V.argon2id) eq(b64(argon2id(utf8(c.password), unb64(c.salt), c)), c.tag, `t=${c.t} m=${c.m} p=${c.p} len=${c.len}`);
});

test('X25519 and Ed25519 keys and signatures match Go', async () => {
  for (const n of ['a_ikd', 'b_spk', 'a_r0']) eq(b64((await xk(n)).pub), V.pub[n], 'x25519 pub ' + n);
  const a = await ek('a_iks'); const b = await ek('b_iks');
  eq(b64(a.pub), V.pub.a_iks, 'ed25519 pub a');
  const aIkd = await xk('a_ikd'); const bSpk = await xk('b_spk');
  eq(b64(await x3dh.signIKd(a, aIkd.pub)), V.ikd_sig_a, 'IKd signature');
  eq(b64(await x3dh.signSPK(b, V.spk_id, bSpk.pub)), V.spk_sig_b, 'SPK signature');
});

function bundleB(opk = true) {
  return {
    device_id: 'devB', identity_sign: V.pub.b_iks, identity_dh: V.pub.b_ikd, identity_dh_sig: V.ikd_sig_b,
    signed_prekey: { id: V.spk_id, key: V.pub.b_spk, sig: V.spk_sig_b },
    one_time_prekey: opk ? { id: V.opk_id, key: V.pub.b_opk } : null,
  };
}

test('X3DH: bundle verification, SK and AD as Go computes them', async () => {
  const me = { iks: await ek('a_iks'), ikd: await xk('a_ikd') };
  const b = await x3dh.parseBundle(bundleB());
  const init = await x3dh.initiate(me, b, fixedGen('a_ek'));
  eq(b64(init.sk), V.sk, 'SK');
  eq(b64(init.ad), V.ad, 'AD');
  eq(init.x3dh, { ik_sign: V.pub.a_iks, ik_dh: V.pub.a_ikd, ek: V.pub.a_ek, spk_id: V.spk_id, opk_id: V.opk_id }, 'x3dh object');
  const bob = { iks: await ek('b_iks'), ikd: await xk('b_ikd') };
  const r = await x3dh.respond(bob, x3dh.parseX3DH(init.x3dh), await xk('b_spk'), await xk('b_opk'));
  eq(b64(r.sk), V.sk, 'responder SK');
  eq(b64(r.ad), V.ad, 'responder AD');
  const noOpk = await x3dh.initiate(me, await x3dh.parseBundle(bundleB(false)), fixedGen('a_ek'));
  eq(b64(noOpk.sk), V.sk_no_opk, 'SK without a one-time prekey');
  assert(!('opk_id' in noOpk.x3dh), 'no opk_id without OPK');
  const bad = bundleB(); bad.signed_prekey.sig = V.ikd_sig_b;
  let threw = false; try { await x3dh.parseBundle(bad); } catch { threw = true; }
  assert(threw, 'a bad SPK signature is refused');
  const bad2 = bundleB(); bad2.identity_dh = V.pub.b_spk;
  threw = false; try { await x3dh.parseBundle(bad2); } catch { threw = true; }
  assert(threw, 'a bad IKd signature is refused');
});

test('Double Ratchet: the bytes Go computes, both ways', async () => {
  const sk = unb64(V.sk), ad = unb64(V.ad);
  const genA = fixedGen('a_r0', 'a_r1'), genB = fixedGen('b_r1', 'a_ek');
  let A = await ratchet.initAlice(sk, ad, unb64(V.pub.b_spk), genA);
  let B = ratchet.initBob(sk, ad, await xk('b_spk'));
  for (const m of V.messages) {
    const [snd, rcv] = m.from === 'a' ? [A, B] : [B, A];
    const out = await ratchet.encrypt(snd, utf8(m.pt));
    eq(b64(out.header), m.header, 'header of ' + m.pt);
    eq(b64(out.ct), m.ct, 'ct of ' + m.pt);
    const got = await ratchet.decrypt(rcv, unb64(m.header), unb64(m.ct), m.from === 'a' ? genB : genA);
    eq(new TextDecoder().decode(got.pt), m.pt, 'plaintext');
    if (m.from === 'a') { A = out.state; B = got.state; } else { B = out.state; A = got.state; }
  }
});

test('Sender key: the bytes Go computes; replay and tampering refused', async () => {
  const G = V.group;
  let mine = { keyId: unb64(G.key_id), ck: unb64(G.ck), i: 0, sig: await prim.ed25519Import(unb64(G.sig_seed)) };
  let theirs = senderkey.accept(senderkey.distribution(mine, G.conversation_id));
  const initial = theirs;
  eq(b64(theirs.signPub), G.sign_pub, 'sign_pub');
  for (const m of G.messages) {
    const out = await senderkey.seal(mine, G.conversation_id, utf8(m.pt));
    eq([out.group.iteration, out.group.ct, out.group.sig], [m.iteration, m.ct, m.sig], 'group message ' + m.iteration);
    mine = out.key;
  }
  // Receive out of order: 2 first, then 0, then 1; a replay of 0 fails.
  const g = (i) => ({ key_id: G.key_id, ...G.messages[i] });
  let r = await senderkey.open(theirs, G.conversation_id, g(2)); theirs = r.key;
  eq(new TextDecoder().decode(r.pt), G.messages[2].pt, 'iteration 2');
  r = await senderkey.open(theirs, G.conversation_id, g(0)); theirs = r.key;
  await rejects(senderkey.open(theirs, G.conversation_id, g(0)), 'replayed or reordered', 'replayed iteration 0');
  r = await senderkey.open(theirs, G.conversation_id, g(1)); theirs = r.key;
  const flipped = g(1); const ct = unb64(flipped.ct); ct[3] ^= 1; flipped.ct = b64(ct);
  await rejects(senderkey.open(theirs, G.conversation_id, flipped), 'forged or corrupted', 'bit flip');
  await rejects(senderkey.open(initial, 'other', g(0)), 'forged or corrupted', 'wrong conversation (aad)');
});

test('Safety number as Go computes it, same on both sides', async () => {
  const S = V.safety;
  const a = { id: S.a.id, iks: S.a.iks.map(unb64) }, b = { id: S.b.id, iks: S.b.iks.map(unb64) };
  const n1 = await safety.safetyNumber(a, b);
  const n2 = await safety.safetyNumber(b, { ...a, iks: [...a.iks].reverse() });
  eq(n1, S.number, 'number');
  eq(n2, S.number, 'symmetric, device order free');
  eq(safety.groups(n1).length, 12, '12 groups');
});

test('Backup: opens the Go blob; a browser blob for Go to open', async () => {
  const B = V.backup;
  eq(await backup.open(B.passphrase, B.blob), B.state, 'state');
  let err = null; try { await backup.open('wrong', B.blob); } catch (e) { err = e; }
  assert(err instanceof backup.BackupError, 'wrong passphrase refused');
  window.__jsBackup = await backup.seal('browser pass ✓', B.state, { t: 1, m: 1024, p: 1 });
  eq(await backup.open('browser pass ✓', window.__jsBackup), B.state, 'round trip');
  assert(backup.stats.worker >= 4 && backup.stats.inline === 0, 'Argon2id ran in the worker: ' + JSON.stringify(backup.stats));
});

// --- two in-page parties on the Engine ---

async function newDevice(id, user) {
  const iks = await prim.ed25519Generate(); const ikd = await prim.x25519Generate();
  const st = emptyState(id, user, iks, ikd);
  const spk = await prim.x25519Generate(); st.spks.set(1, spk);
  const opk = await prim.x25519Generate(); st.opks.set(100, opk);
  const bundle = {
    device_id: id, identity_sign: b64(iks.pub), identity_dh: b64(ikd.pub), identity_dh_sig: b64(await x3dh.signIKd(iks, ikd.pub)),
    signed_prekey: { id: 1, key: b64(spk.pub), sig: b64(await x3dh.signSPK(iks, 1, spk.pub)) }, one_time_prekey: { id: 100, key: b64(opk.pub) },
  };
  return { e: new Engine(st), bundle, iks: iks.pub };
}
const clone = (o) => JSON.parse(JSON.stringify(o));

test('Engine: X3DH + 3 messages each way, reordering, replay, tampering', async () => {
  const a = await newDevice('devA', 'ua'), b = await newDevice('devB', 'ub');
  const conv = 'c1';
  const iksOf = async (d) => (d === 'devA' ? a.iks : b.iks);
  const seal = (from, to, body) => from.e.seal(conv, [{ device: to.e.s.deviceId, bundle: to.bundle }], { body });
  const a1 = await seal(a, b, 'a1'), a2 = await seal(a, b, 'a2'), a3 = await seal(a, b, 'a3');
  eq(a1.recipients[0].type, 'prekey', 'first message is a prekey message');
  assert(a1.recipients[0].x3dh && a1.recipients[0].x3dh.opk_id === 100, 'x3dh carried');
  eq((await b.e.open(conv, a2, { iksOf })).body, 'a2', 'a2 first (reordered)');
  assert(!b.e.s.opks.has(100), 'one-time prekey deleted after use');
  await rejects(b.e.open(conv, a2, { iksOf }), null, 'replayed a2');
  // a1 arrives late: ratchet keeps its key but ctr 1 < 2 is refused.
  await rejects(b.e.open(conv, a1, { iksOf }), 'replayed or reordered', 'a1 after a2 (ctr)');
  eq((await b.e.open(conv, a3, { iksOf })).body, 'a3', 'a3');
  const b1 = await seal(b, a, 'b1');
  eq(b1.recipients[0].type, 'msg', 'B answers in the session');
  const b2 = await seal(b, a, 'b2'), b3 = await seal(b, a, 'b3');
  eq((await a.e.open(conv, b1)).body, 'b1', 'b1');
  const a4 = await seal(a, b, 'a4');
  eq(a4.recipients[0].type, 'msg', 'A stops sending prekey messages after a reply');
  // Tampered copies fail and change nothing.
  const flip = clone(b3); const c = unb64(flip.recipients[0].ct); c[c.length - 1] ^= 0x80; flip.recipients[0].ct = b64(c);
  await rejects(a.e.open(conv, flip), 'forged or corrupted', 'bit flip');
  const trunc = clone(b3); trunc.recipients[0].header = trunc.recipients[0].header.slice(0, 20);
  await rejects(a.e.open(conv, trunc), 'truncated', 'truncated header');
  const trunc2 = clone(b3); trunc2.recipients[0].ct = b64(unb64(trunc2.recipients[0].ct).slice(0, 10));
  await rejects(a.e.open(conv, trunc2), 'forged or corrupted', 'truncated ct');
  eq((await a.e.open(conv, b3)).body, 'b3', 'b3 after a gap (b2 skipped)');
  await rejects(a.e.open(conv, b2), 'replayed or reordered', 'b2 after b3 (ctr)');
  await rejects(a.e.open(conv, b3), null, 'replayed b3');
  eq((await b.e.open(conv, a4, { iksOf })).body, 'a4', 'a4');
  // An envelope copied into another conversation is forged.
  const a5 = await seal(a, b, 'a5');
  await rejects(b.e.open('c2', a5, { iksOf }), 'forged', 'moved to another conversation');
  const a5b = clone(a5); a5b.sender_device = 'devX';
  await rejects(b.e.open(conv, a5b, { iksOf }), null, 'other sender device');
  eq((await b.e.open(conv, a5, { iksOf })).body, 'a5', 'the original still opens: failures changed nothing');
  // A prekey message whose identity key is not the published one is refused.
  const m = await newDevice('devM', 'um');
  const fake = await m.e.seal(conv, [{ device: 'devB', bundle: b.bundle }], { body: 'x' });
  fake.sender_device = 'devA';
  await rejects(b.e.open(conv, fake, { iksOf }), 'forged', 'identity key not the published one');
  await rejects(b.e.open(conv, { v: 1, sender_device: 'devA', recipients: 'no' }, { iksOf }), 'truncated', 'bad envelope');
  await rejects(b.e.open(conv, { v: 1, sender_device: 'devA', recipients: [] }, { iksOf }), 'not encrypted for this device', 'no entry');
});

test('Ratchet: skipped keys open reordered messages once', async () => {
  const sk = prim.ZERO32.slice(); sk[0] = 1;
  const spk = await prim.x25519Generate();
  let A = await ratchet.initAlice(sk, utf8('ad'), spk.pub);
  let B = ratchet.initBob(sk, utf8('ad'), spk);
  const out = [];
  for (let i = 0; i < 4; i++) { const o = await ratchet.encrypt(A, utf8('m' + i)); A = o.state; out.push(o); }
  for (const i of [3, 1, 0, 2]) {
    const r = await ratchet.decrypt(B, out[i].header, out[i].ct);
    eq(new TextDecoder().decode(r.pt), 'm' + i, 'message ' + i);
    B = r.state;
  }
  eq(B.skipped.size, 0, 'every skipped key used once');
  await rejects(ratchet.decrypt(B, out[1].header, out[1].ct), 'replayed or reordered', 'replay of a skipped key');
  const far = ratchet.encodeHeader(A.dhs.pub, 0, 5000);
  await rejects(ratchet.decrypt(B, far, out[0].ct), 'replayed or reordered', 'beyond MAX_SKIP');
});

test('Engine: sender-key group with rotation', async () => {
  const a = await newDevice('gA', 'ua'), b = await newDevice('gB', 'ub'), c = await newDevice('gC', 'uc');
  const conv = 'g1';
  const all = [a, b, c];
  const to = (from, members) => members.filter((x) => x !== from).map((x) => ({ device: x.e.s.deviceId, bundle: x.bundle }));
  const m1 = await a.e.seal(conv, to(a, all), { body: 'hello group' }, { group: true });
  eq(m1.recipients.length, 2, 'distribution to both others');
  assert(m1.group && m1.group.iteration === 0, 'group part');
  eq((await b.e.open(conv, m1)).body, 'hello group', 'b reads');
  eq((await c.e.open(conv, m1)).body, 'hello group', 'c reads');
  const m2 = await a.e.seal(conv, to(a, all), { body: 'second' }, { group: true });
  eq(m2.recipients.length, 0, 'no distribution once everyone has the key');
  eq((await b.e.open(conv, m2)).body, 'second', 'b reads m2');
  await rejects(b.e.open(conv, m2), null, 'replayed group message');
  const forged = clone(m2); const ct = unb64(forged.group.ct); ct[0] ^= 1; forged.group.ct = b64(ct);
  await rejects(c.e.open(conv, forged), 'forged or corrupted', 'tampered group ct (signature)');
  eq((await c.e.open(conv, m2)).body, 'second', 'c reads m2');
  // c leaves: a rotates; the new key reaches b only, c cannot read.
  await a.e.rotateGroupKey(conv);
  const m3 = await a.e.seal(conv, to(a, [a, b]), { body: 'after c left' }, { group: true });
  eq(m3.recipients.map((r) => r.device), ['gB'], 'new key distributed to b');
  assert(m3.group.key_id !== m2.group.key_id && m3.group.iteration === 0, 'a new sender key');
  eq((await b.e.open(conv, m3)).body, 'after c left', 'b reads after rotation');
  await rejects(c.e.open(conv, m3), 'missing sender key', 'c cannot read after rotation');
});
test('Device: registration body, non-extractable keys, prekey upkeep, backup state and restore', async () => {
  const calls = [];
  let count = 100;
  const api = { req: async (method, path, body) => {
    calls.push({ method, path, body });
    if (method === 'POST' && path === '/e2ee/devices') return { device_id: 'dev1' };
    if (path.endsWith('/prekey_count')) return { count };
    return null;
  } };
  const st = await device.create('u1');
  await device.register(api, st, 'Web test');
  eq(st.deviceId, 'dev1', 'device id from the server');
  const reg = calls[0].body;
  eq([reg.one_time_prekeys.length, reg.signed_prekey.id], [100, 1], '100 one-time prekeys and signed prekey 1');
  const bundle = { device_id: 'dev1', identity_sign: reg.identity_sign, identity_dh: reg.identity_dh, identity_dh_sig: reg.identity_dh_sig,
    signed_prekey: reg.signed_prekey, one_time_prekey: reg.one_time_prekeys[0] };
  await x3dh.parseBundle(bundle); // both signatures verify
  const keys = [st.iks.priv, st.ikd.priv, ...[...st.spks.values()].map((k) => k.priv), ...[...st.opks.values()].map((k) => k.priv)];
  assert(keys.every((k) => k instanceof CryptoKey && k.extractable === false), 'every private key is non-extractable');
  assert(st.wrapKey.extractable === false, 'the wrapping key is non-extractable');
  let threw = false; try { await crypto.subtle.exportKey('pkcs8', st.iks.priv); } catch { threw = true; }
  assert(threw, 'the identity key cannot be exported');
  // Upkeep: nothing to do at 100 prekeys; below 20 it tops up to 100; a week later a new signed prekey.
  eq(await device.upkeep(api, st), false, 'no upkeep needed');
  count = 15;
  eq(await device.upkeep(api, st), true, 'replenished');
  const up = calls[calls.length - 1];
  eq([up.method, up.path, up.body.one_time_prekeys.length], ['POST', '/e2ee/devices/dev1/one_time_prekeys', 85], 'uploads 85');
  count = 100;
  eq(await device.upkeep(api, st, Date.now() + device.SPK_ROTATE_MS + 1000), true, 'rotated');
  const put = calls[calls.length - 1];
  eq([put.method, put.path, put.body.id], ['PUT', '/e2ee/devices/dev1/signed_prekey', 2], 'new signed prekey 2');
  await x3dh.parseBundle({ ...bundle, signed_prekey: put.body });
  // Backup state → restore: the same device, able to answer a prekey message.
  st.opks.delete(1);
  const bs = await device.backupState(st);
  eq([bs.device_id, bs.signed_prekeys.map((k) => k.id), bs.one_time_prekeys.length], ['dev1', [1, 2], 184], 'backup state (used prekeys left out)');
  const r = await device.restore('u1', JSON.parse(JSON.stringify(bs)));
  eq([b64(r.iks.pub), b64(r.ikd.pub), b64(r.spks.get(2).pub), b64(r.opks.get(5).pub)], [b64(st.iks.pub), b64(st.ikd.pub), b64(st.spks.get(2).pub), b64(st.opks.get(5).pub)], 'same keys');
  assert(r.iks.priv.extractable === false && r.opks.get(5).priv.extractable === false, 'restored keys non-extractable');
  eq([r.nextOpk, r.nextSpk], [st.nextOpk, st.nextSpk], 'id counters carried over');
  const peer = await newDevice('devP', 'up');
  const env = await peer.e.seal('c9', [{ device: 'dev1', bundle: { ...bundle, one_time_prekey: { id: 5, key: b64(st.opks.get(5).pub) } } }], { body: 'to the restored device' });
  eq((await new Engine(r).open('c9', env)).body, 'to the restored device', 'restored device reads a new session');
});

// The Go implementation's vectors (testdata/e2ee/vectors.json, docs/e2ee.md
// §11), served by the Go test when the file is in the tree.
const SV = await fetch('/test/spec-vectors.json').then((r) => (r.ok ? r.json() : null));
if (SV) test('Go implementation vectors.json: X3DH, ratchet, sender key, safety number, backup', async () => {
  const X = SV.x3dh, R = SV.ratchet;
  const ed = (k) => prim.ed25519Import(unb64(k)), xx = (k) => prim.x25519Import(unb64(k));
  const aIks = await ed(X.a_sign_seed), aIkd = await xx(X.a_dh_priv), bIks = await ed(X.b_sign_seed), bIkd = await xx(X.b_dh_priv);
  eq([b64(aIks.pub), b64(aIkd.pub), b64(bIks.pub), b64(bIkd.pub)], [X.a_sign_pub, X.a_dh_pub, X.b_sign_pub, X.b_dh_pub], 'public keys');
  eq(b64(await x3dh.signIKd(bIks, bIkd.pub)), X.b_dh_sig, 'IKd signature');
  const spk = await xx(X.b_spk_priv), opk = await xx(X.b_opk_priv);
  eq(b64(await x3dh.signSPK(bIks, X.b_spk_id, spk.pub)), X.b_spk_sig, 'SPK signature');
  const bundle = { device_id: R.b_device, identity_sign: X.b_sign_pub, identity_dh: X.b_dh_pub, identity_dh_sig: X.b_dh_sig,
    signed_prekey: { id: X.b_spk_id, key: X.b_spk_pub, sig: X.b_spk_sig }, one_time_prekey: { id: X.b_opk_id, key: X.b_opk_pub } };
  const init = await x3dh.initiate({ iks: aIks, ikd: aIkd }, await x3dh.parseBundle(bundle), async () => xx(X.a_ek_priv));
  eq([b64(init.sk), b64(init.ad)], [X.sk, X.ad], 'SK and AD');
  // Both devices as engines with the fixed ratchet keys: every byte equal.
  const stA = emptyState(R.a_device, 'ua', aIks, aIkd), stB = emptyState(R.b_device, 'ub', bIks, bIkd);
  stB.spks.set(X.b_spk_id, spk); stB.opks.set(X.b_opk_id, opk);
  const keysA = [X.a_ek_priv, R.a_ratchet0_priv, R.a_ratchet1_priv], keysB = [R.b_ratchet0_priv];
  const A = new Engine(stA, { gen: async () => xx(keysA.shift()) }), B = new Engine(stB, { gen: async () => xx(keysB.shift()) });
  const conv = R.conversation_id;
  for (const m of R.messages) {
    const inner = JSON.parse(m.plaintext);
    const [snd, rcv, to] = m.from === 'user-a' ? [A, B, R.b_device] : [B, A, R.a_device];
    const env = await snd.seal(conv, [{ device: to, bundle: to === R.b_device ? bundle : null }], { body: inner.body, reply_to: inner.reply_to, mentions: inner.mentions, attachments: inner.attachments });
    const e = env.recipients[0];
    eq([e.type, e.header, e.ct], [m.type, m.header, m.ct], 'envelope entry of ' + inner.body);
    if (m.x3dh) eq(e.x3dh, m.x3dh, 'x3dh of ' + inner.body);
    const got = await rcv.open(conv, { v: 1, sender_device: inner.sender_device, recipients: [{ device: to, type: m.type, header: m.header, ct: m.ct, ...(m.x3dh ? { x3dh: m.x3dh } : {}) }] });
    eq(got, inner, 'inner plaintext of ' + inner.body);
  }
  const S = SV.sender_key;
  let key = { keyId: unb64(S.key_id), ck: unb64(S.chain_key), i: 0, sig: await ed(S.sign_seed) };
  eq(b64(key.sig.pub), S.sign_pub, 'sender key sign_pub');
  let recv = senderkey.accept(senderkey.distribution(key, S.conversation_id));
  for (const m of S.messages) {
    const out = await senderkey.seal(key, S.conversation_id, utf8(m.plaintext));
    eq([out.group.iteration, out.group.ct, out.group.sig], [m.iteration, m.ct, m.sig], 'group message ' + m.iteration);
    key = out.key;
    const r = await senderkey.open(recv, S.conversation_id, { key_id: S.key_id, iteration: m.iteration, ct: m.ct, sig: m.sig });
    eq(new TextDecoder().decode(r.pt), m.plaintext, 'group plaintext ' + m.iteration);
    recv = r.key;
  }
  const F = SV.safety;
  eq(await safety.fingerprint(F.user_a, F.keys_a.map(unb64)), F.fingerprint_a, 'fingerprint a');
  eq(await safety.safetyNumber({ id: F.user_a, iks: F.keys_a.map(unb64) }, { id: F.user_b, iks: F.keys_b.map(unb64) }), F.safety_number, 'safety number');
  eq(await backup.open(SV.backup.passphrase, SV.backup.blob), SV.backup.state, 'backup state');
});

run({ specVectors: !!SV });
