// argon2worker.js — runs argon2.js off the main thread (a module worker
// started by backup.js), so a backup or restore does not freeze the tab.
import { argon2id } from './argon2.js';

self.onmessage = (e) => {
  const { password, salt, opts } = e.data;
  try {
    const tag = argon2id(password, salt, opts);
    self.postMessage({ tag });
  } catch (err) {
    self.postMessage({ error: String(err && err.message) });
  }
};
