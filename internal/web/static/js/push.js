// push.js — Web Push on this device (docs/notifications.md).
//
// Contract:
//   - The service worker is /sw.js with scope "/"; under the page's Trusted
//     Types policy its URL goes through the one policy the CSP admits,
//     "parley-sw", which accepts no other URL.
//   - enablePush asks for notification permission, registers the worker,
//     subscribes with the server's VAPID key and stores the subscription on
//     the server (the id is kept in localStorage, per browser).
//   - disablePush deletes the server's copy and unsubscribes the browser.

const SW_URL = '/sw.js';
const STORE_KEY = 'parley.push';

const policy = globalThis.trustedTypes?.createPolicy('parley-sw', {
  createScriptURL: (u) => { if (u !== SW_URL) throw new TypeError('unexpected service worker URL'); return u; },
});

export function pushSupported() {
  return 'serviceWorker' in navigator && 'PushManager' in globalThis && typeof Notification !== 'undefined';
}

export function registerWorker() {
  return navigator.serviceWorker.register(policy ? policy.createScriptURL(SW_URL) : SW_URL, { scope: '/' });
}

// pushEnabled reports whether this browser holds a subscription the server knows.
export async function pushEnabled() {
  if (!pushSupported() || !localStorage.getItem(STORE_KEY)) return false;
  const reg = await navigator.serviceWorker.getRegistration('/');
  return !!(reg && await reg.pushManager.getSubscription());
}

function keyBytes(b64url) {
  const s = atob(b64url.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - b64url.length % 4) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

export async function enablePush(api) {
  if (!pushSupported()) throw new Error('This browser does not support push notifications.');
  if (Notification.permission !== 'granted' && await Notification.requestPermission() !== 'granted') {
    throw new Error('Notifications are blocked in the browser settings.');
  }
  const reg = await registerWorker();
  await navigator.serviceWorker.ready;
  const { public_key: key } = await api.vapidKey();
  const sub = await reg.pushManager.getSubscription() ??
    await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
  const saved = await api.addPushSubscription(sub.toJSON());
  localStorage.setItem(STORE_KEY, saved.id);
  return saved;
}

export async function disablePush(api) {
  const id = localStorage.getItem(STORE_KEY);
  localStorage.removeItem(STORE_KEY);
  if (id) { try { await api.deletePushSubscription(id); } catch { /* gone already */ } }
  const reg = pushSupported() ? await navigator.serviceWorker.getRegistration('/') : null;
  const sub = reg ? await reg.pushManager.getSubscription() : null;
  if (sub) await sub.unsubscribe();
}
