// backup.js — the key backup blob of §8 of docs/e2ee.md: the device's long
// term private keys, sealed with AES-256-GCM under Argon2id(passphrase).

import { b64, unb64n, unb64, utf8, fromUtf8, random } from './bytes.js';
import { aesGcmEncrypt, aesGcmDecrypt } from './prim.js';
import { argon2id } from './argon2.js';

export const DEFAULTS = { t: 3, m: 65536, p: 1 };
const AAD = utf8('ParleyBackup1');
const MAX = { t: 10, m: 1 << 20, p: 16 }; // refuse blobs that would exhaust the tab

// The worker's URL (unhashed: served revalidated) and the one Trusted Types
// policy allowed to name it (CSP "trusted-types parley-sw parley-worker").
const WORKER_URL = new URL('./argon2worker.js', import.meta.url).href;
let policy;
// stats counts where Argon2id ran (the tests check the worker is used).
export const stats = { worker: 0, inline: 0 };

// deriveKey runs Argon2id in a module worker when the page can start one,
// else on this thread.
async function deriveKey(passphrase, salt, params) {
  const opts = { t: params.t, m: params.m, p: params.p, len: 32 };
  const password = utf8(passphrase);
  let w = null;
  try {
    if (globalThis.trustedTypes && !policy) {
      policy = globalThis.trustedTypes.createPolicy('parley-worker', {
        createScriptURL: (u) => { if (u !== WORKER_URL) throw new TypeError('unexpected worker URL'); return u; },
      });
    }
    w = new Worker(policy ? policy.createScriptURL(WORKER_URL) : WORKER_URL, { type: 'module', name: 'argon2id' });
  } catch { w = null; }
  if (!w) { stats.inline++; return argon2id(password, salt, opts); }
  try {
    return await new Promise((resolve, reject) => {
      w.onmessage = (e) => { if (e.data.error) reject(new RangeError(e.data.error)); else { stats.worker++; resolve(e.data.tag); } };
      w.onerror = (e) => { e.preventDefault?.(); reject(new Error('argon2id worker failed')); };
      w.postMessage({ password, salt, opts });
    });
  } catch (e) {
    if (e instanceof RangeError) throw e;
    stats.inline++;
    return argon2id(password, salt, opts); // the worker could not load: compute here
  } finally { w.terminate(); }
}

// seal returns the blob for state (the §8 state JSON object).
export async function seal(passphrase, state, params = DEFAULTS, salt = random(16), nonce = random(12)) {
  const key = await deriveKey(passphrase, salt, params);
  const ct = await aesGcmEncrypt(key, nonce, utf8(JSON.stringify(state)), AAD);
  return { v: 1, kdf: 'argon2id', t: params.t, m: params.m, p: params.p, salt: b64(salt), nonce: b64(nonce), ct: b64(ct) };
}

export class BackupError extends Error {}

// open returns the state of a blob, or throws BackupError ("wrong
// passphrase or damaged backup" when the tag does not verify).
export async function open(passphrase, blob) {
  if (!blob || blob.v !== 1 || blob.kdf !== 'argon2id') throw new BackupError('unsupported backup format');
  for (const k of ['t', 'm', 'p']) if (!Number.isInteger(blob[k]) || blob[k] < 1 || blob[k] > MAX[k]) throw new BackupError('unsupported backup parameters');
  let salt, nonce, ct;
  try { salt = unb64n(blob.salt, 16); nonce = unb64n(blob.nonce, 12); ct = unb64(blob.ct); } catch { throw new BackupError('damaged backup'); }
  const key = await deriveKey(passphrase, salt, blob);
  let pt;
  try { pt = await aesGcmDecrypt(key, nonce, ct, AAD); } catch { throw new BackupError('wrong passphrase or damaged backup'); }
  return JSON.parse(fromUtf8(pt));
}
