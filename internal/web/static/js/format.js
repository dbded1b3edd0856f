// format.js — turning message text into DOM (links, mentions) and times into words.
import { h } from './dom.js';

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const MENTION_RE = /(^|[^\w@])@([a-z0-9_.-]{1,64})/gi;

// safeURL returns a normalized http(s) URL or null. Only http and https are
// ever made clickable, so javascript:, data: and friends stay plain text.
export function safeURL(raw) {
  let s = raw.replace(/[.,;:!?)\]}'"]+$/, '');
  try {
    const u = new URL(s);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    return { href: u.href, text: s };
  } catch { return null; }
}

// richText renders body as text nodes, with http(s) links as anchors and
// @mentions of known users highlighted. users: username → user.
export function richText(body, { users, me } = {}) {
  const out = [];
  let last = 0;
  const push = (text) => { if (text) out.push(...mentions(text, users, me)); };
  for (const m of body.matchAll(URL_RE)) {
    const u = safeURL(m[0]);
    if (!u) continue;
    push(body.slice(last, m.index));
    out.push(h('a', { href: u.href, target: '_blank', rel: 'noopener noreferrer nofollow ugc', class: 'link' }, u.text));
    last = m.index + u.text.length;
  }
  push(body.slice(last));
  return out;
}

function mentions(text, users, me) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(MENTION_RE)) {
    const name = m[2].replace(/[.-]+$/, '');
    const user = users?.get(name.toLowerCase());
    if (!user) continue;
    const start = m.index + m[1].length;
    if (start > last) out.push(text.slice(last, start));
    const cls = 'mention' + (me && user.id === me.id ? ' mention-me' : '');
    out.push(h('span', { class: cls, title: user.display_name || user.username }, '@' + name));
    last = start + 1 + name.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

// mentionsUser reports whether body mentions username.
export function mentionsUser(msg, me) {
  if (!me) return false;
  if (msg.mentions?.includes(me.id)) return true;
  const re = new RegExp('(^|[^\\w@])@' + me.username.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '(?![\\w])', 'i');
  return re.test(msg.body || '');
}

export function time(d) {
  return new Date(d).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function dayKey(d) {
  const x = new Date(d);
  return `${x.getFullYear()}-${x.getMonth()}-${x.getDate()}`;
}

export function dayLabel(d) {
  const x = new Date(d);
  const today = new Date();
  const yest = new Date(); yest.setDate(today.getDate() - 1);
  if (dayKey(x) === dayKey(today)) return 'Today';
  if (dayKey(x) === dayKey(yest)) return 'Yesterday';
  const opts = { weekday: 'long', month: 'long', day: 'numeric' };
  if (x.getFullYear() !== today.getFullYear()) opts.year = 'numeric';
  return x.toLocaleDateString([], opts);
}

// shortTime is the conversation list's timestamp: time today, weekday this week, else date.
export function shortTime(d) {
  if (!d) return '';
  const x = new Date(d);
  const now = new Date();
  if (dayKey(x) === dayKey(now)) return time(x);
  if (now - x < 6 * 864e5) return x.toLocaleDateString([], { weekday: 'short' });
  return x.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

export function ago(d) {
  if (!d) return '';
  const s = (Date.now() - new Date(d)) / 1000;
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(d).toLocaleDateString([], { month: 'short', day: 'numeric' });
}

// initials of a display name, for avatars.
export function initials(name) {
  const clean = String(name || '').replace(/[^\p{L}\p{N}\s]/gu, ' ');
  const parts = clean.trim().split(/\s+/).filter(Boolean);
  const s = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] || '?').slice(0, 2);
  return [...s].slice(0, 2).join('').toUpperCase();
}

// hue picks a stable avatar colour class (0–7) for an id.
export function hue(id) {
  let x = 0;
  for (const c of String(id)) x = (x * 31 + c.codePointAt(0)) >>> 0;
  return x % 8;
}
