// sw.js — Parley's service worker: shows Web Push notifications
// (docs/notifications.md). Served at /sw.js (scope "/"), never cached.
//
// A push carries JSON: {conversation_id, seq, title, sender, body?, reason,
// count, unread}; body is present only when the user allows previews. One
// notification per conversation (tag), replaced by the newest; the app
// badge shows the unread count where the platform has one.

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));

function describe(p) {
  const n = p.count > 1 ? `${p.count} new messages` : 'New message';
  if (p.body) return p.sender && p.sender !== p.title ? `${p.sender}: ${p.body}` : p.body;
  if (p.reason === 'mention') return `${p.sender || 'Someone'} mentioned you`;
  if (p.reason === 'direct') return n;
  return p.sender ? `${n} from ${p.sender}` : n;
}

self.addEventListener('push', (e) => {
  let p = {};
  try { p = e.data ? e.data.json() : {}; } catch { /* not JSON: show a generic notification */ }
  const id = typeof p.conversation_id === 'string' ? p.conversation_id : '';
  e.waitUntil((async () => {
    if (self.navigator.setAppBadge && p.unread > 0) {
      try { await self.navigator.setAppBadge(p.unread); } catch { /* not supported here */ }
    }
    await self.registration.showNotification(p.title || 'Parley', {
      body: describe(p),
      tag: id || 'parley',
      renotify: true,
      icon: '/assets/icon.svg',
      data: { url: id ? '/c/' + encodeURIComponent(id) : '/', unread: p.unread || 0 },
    });
  })());
});

self.addEventListener('notificationclick', (e) => {
  e.notification.close();
  const url = e.notification.data?.url || '/';
  e.waitUntil((async () => {
    const wins = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const w of wins) {
      try { await w.navigate(url); } catch { /* not controlled yet */ }
      return w.focus();
    }
    return self.clients.openWindow(url);
  })());
});
