// avatars.js — profile and conversation pictures. An <img> cannot send the
// bearer token, so each picture is fetched with it (Api.blob) into an object
// URL, cached per versioned URL path for the page's life. Which users have a
// picture is asked in batches (GET /avatars?user_ids=…, at most 200 ids per
// call) and cached too; until a picture has loaded, or when there is none or
// it fails, the avatar keeps its initials.
import { h } from './dom.js';

const userURL = new Map(); // user id → avatar URL path, '' for none
const waiting = new Map(); // user id → elements to paint once known
const pending = new Set(); // user ids to look up in the next batch
const blobs = new Map(); // URL path → Promise<object URL>
let timer = 0;

// setUserAvatar records a user's picture URL path (after setting one).
export function setUserAvatar(id, url) { userURL.set(id, url || ''); }

function load(api, path) {
  let p = blobs.get(path);
  if (!p) {
    p = api.blob(path.replace(/^\/api\/v1/, '')).then((b) => URL.createObjectURL(b));
    p.catch(() => blobs.delete(path));
    blobs.set(path, p);
  }
  return p;
}

// paint puts the picture at path over the initials of avatar element el.
export function paint(api, el, path) {
  if (!api || !path) return;
  el.dataset.avatarSrc = path;
  load(api, path).then((src) => {
    if (el.dataset.avatarSrc !== path) return;
    el.querySelector('img.avatar-img')?.remove();
    el.prepend(h('img', { class: 'avatar-img', src, alt: '', draggable: 'false' }));
    el.classList.add('has-img');
  }, () => {});
}

// userPicture paints user id's picture into el if they have one.
export function userPicture(api, el, id) {
  if (!api || !id) return;
  const u = userURL.get(id);
  if (u !== undefined) { if (u) paint(api, el, u); return; }
  let s = waiting.get(id);
  if (!s) waiting.set(id, (s = new Set()));
  s.add(el);
  pending.add(id);
  if (!timer) timer = setTimeout(() => flush(api), 10);
}

async function flush(api) {
  timer = 0;
  const ids = [...pending];
  pending.clear();
  for (let i = 0; i < ids.length; i += 200) {
    const part = ids.slice(i, i + 200);
    let found;
    try { found = (await api.avatars(part))?.avatars || {}; } catch {
      for (const id of part) waiting.delete(id); // asked again by the next render
      continue;
    }
    for (const id of part) {
      userURL.set(id, found[id] || '');
      const els = waiting.get(id);
      waiting.delete(id);
      if (found[id]) for (const el of els || []) paint(api, el, found[id]);
    }
  }
}
