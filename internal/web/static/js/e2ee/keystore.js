// keystore.js — where the web client keeps E2EE state: one IndexedDB
// database, "parley-e2ee", with one object store "kv". Keys:
//   device:<user id>          the Engine state (engine.js) plus `wrapped`
//   plain:<user id>:<key>     a decrypted message (or its failure), so
//                             history shows after the message keys are gone
//   meta:<user id>:<name>     known device lists, verified safety numbers,
//                             last processed seq per conversation
// Values are structured clones: Maps, Uint8Arrays and CryptoKeys (which stay
// non-extractable in storage) are kept as they are.

const DB = 'parley-e2ee';
let dbp = null;

function db() {
  if (!dbp) {
    dbp = new Promise((resolve, reject) => {
      const r = indexedDB.open(DB, 1);
      r.onupgradeneeded = () => r.result.createObjectStore('kv');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  }
  return dbp;
}

function tx(mode, fn) {
  return db().then((d) => new Promise((resolve, reject) => {
    const t = d.transaction('kv', mode);
    const req = fn(t.objectStore('kv'));
    t.oncomplete = () => resolve(req?.result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  }));
}

export const get = (key) => tx('readonly', (s) => s.get(key));
export const put = (key, value) => tx('readwrite', (s) => s.put(value, key));
export const del = (key) => tx('readwrite', (s) => s.delete(key));
