// dom.js — safe DOM building. User content only ever becomes text nodes or
// attribute values set through setAttribute; nothing here parses HTML.

const SVG = 'http://www.w3.org/2000/svg';

// h(tag, props, ...children) creates an element. props: class, text, dataset,
// on<event> listeners, and plain attributes. Children: nodes or strings (text).
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

export function setProps(el, props) {
  if (!props) return el;
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden') el[k] = !!v;
    else if (k === 'style') throw new Error('inline styles are not allowed (CSP)');
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

// reconcile makes parent's children the elements for items ({key, sig,
// build}), reusing the element cached for a key whose sig is unchanged, so
// unchanged rows keep their focus, hover and scroll state. cache maps key →
// {el, sig} and is returned updated.
export function reconcile(parent, items, cache) {
  const next = new Map();
  const order = [];
  for (const it of items) {
    let row = cache.get(it.key);
    if (!row || row.sig !== it.sig) {
      const el = it.build();
      el.dataset.key = it.key;
      if (row && row.el.parentNode === parent) {
        const hadFocus = row.el.contains(document.activeElement);
        row.el.replaceWith(el);
        if (hadFocus) (el.matches('[tabindex], a, button') ? el : el.querySelector('a, button, [tabindex]'))?.focus({ preventScroll: true });
      }
      row = { el, sig: it.sig };
    }
    next.set(it.key, row);
    order.push(row.el);
  }
  for (const [k, row] of cache) if (next.get(k)?.el !== row.el) row.el.remove();
  let cursor = parent.firstElementChild;
  for (const el of order) {
    if (el === cursor) { cursor = cursor.nextElementSibling; continue; }
    parent.insertBefore(el, cursor);
  }
  while (cursor) { const n = cursor.nextElementSibling; cursor.remove(); cursor = n; }
  return next;
}

// Icons: stroke paths in a 24×24 box (Feather/Lucide style).
const ICONS = {
  send: [['path', { d: 'M22 2 11 13' }], ['path', { d: 'M22 2 15 22 11 13 2 9z' }]],
  smile: [['circle', { cx: 12, cy: 12, r: 10 }], ['path', { d: 'M8 14s1.5 2 4 2 4-2 4-2' }], ['path', { d: 'M9 9h.01M15 9h.01' }]],
  reply: [['path', { d: 'M9 14 4 9l5-5' }], ['path', { d: 'M20 20v-7a4 4 0 0 0-4-4H4' }]],
  edit: [['path', { d: 'M17 3a2.83 2.83 0 1 1 4 4L7.5 20.5 2 22l1.5-5.5z' }]],
  trash: [['path', { d: 'M3 6h18' }], ['path', { d: 'M19 6v14a2 2 0 0 1-2 2H7a2 2 0 0 1-2-2V6m3 0V4a2 2 0 0 1 2-2h4a2 2 0 0 1 2 2v2' }]],
  plus: [['path', { d: 'M12 5v14M5 12h14' }]],
  search: [['circle', { cx: 11, cy: 11, r: 8 }], ['path', { d: 'm21 21-4.35-4.35' }]],
  settings: [['path', { d: 'M4 21v-7M4 10V3M12 21v-9M12 8V3M20 21v-5M20 12V3M1 14h6M9 8h6M17 16h6' }]],
  bell: [['path', { d: 'M18 8A6 6 0 0 0 6 8c0 7-3 9-3 9h18s-3-2-3-9' }], ['path', { d: 'M13.73 21a2 2 0 0 1-3.46 0' }]],
  bellOff: [['path', { d: 'M13.73 21a2 2 0 0 1-3.46 0M18.63 13A17.9 17.9 0 0 1 18 8M6.26 6.26A5.9 5.9 0 0 0 6 8c0 7-3 9-3 9h14M18 8a6 6 0 0 0-9.33-5M1 1l22 22' }]],
  users: [['path', { d: 'M17 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2' }], ['circle', { cx: 9, cy: 7, r: 4 }], ['path', { d: 'M23 21v-2a4 4 0 0 0-3-3.87M16 3.13a4 4 0 0 1 0 7.75' }]],
  userPlus: [['path', { d: 'M16 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2' }], ['circle', { cx: 8.5, cy: 7, r: 4 }], ['path', { d: 'M20 8v6M23 11h-6' }]],
  logout: [['path', { d: 'M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4' }], ['path', { d: 'm16 17 5-5-5-5M21 12H9' }]],
  back: [['path', { d: 'M19 12H5M12 19l-7-7 7-7' }]],
  check: [['path', { d: 'M20 6 9 17l-5-5' }]],
  checks: [['path', { d: 'M18 6 7 17l-5-5' }], ['path', { d: 'm22 10-7.5 7.5L13 16' }]],
  x: [['path', { d: 'M18 6 6 18M6 6l12 12' }]],
  hash: [['path', { d: 'M4 9h16M4 15h16M10 3 8 21M16 3l-2 18' }]],
  down: [['path', { d: 'M12 5v14M19 12l-7 7-7-7' }]],
  chat: [['path', { d: 'M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z' }]],
  clock: [['circle', { cx: 12, cy: 12, r: 10 }], ['path', { d: 'M12 6v6l4 2' }]],
  alert: [['circle', { cx: 12, cy: 12, r: 10 }], ['path', { d: 'M12 8v4M12 16h.01' }]],
  // exit: a door frame with an arrow leaving it (leave a conversation).
  exit: [['path', { d: 'M12 3H5a1 1 0 0 0-1 1v16a1 1 0 0 0 1 1h7' }], ['path', { d: 'M8 3.5v17' }], ['path', { d: 'M11 12h10M17.5 8.5 21 12l-3.5 3.5' }]],
  image: [['rect', { x: 3, y: 3, width: 18, height: 18, rx: 2 }], ['circle', { cx: 9, cy: 9, r: 2 }], ['path', { d: 'm21 15-5-5L5 21' }]],
  lock: [['rect', { x: 3, y: 11, width: 18, height: 11, rx: 2 }], ['path', { d: 'M7 11V7a5 5 0 0 1 10 0v4' }]],
  paperclip: [['path', { d: 'm21.44 11.05-9.19 9.19a6 6 0 0 1-8.49-8.49l8.57-8.57A4 4 0 1 1 18 8.84l-8.59 8.57a2 2 0 0 1-2.83-2.83l8.49-8.48' }]],
  file: [['path', { d: 'M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z' }], ['path', { d: 'M14 2v6h6' }]],
  phone: [['path', { d: 'M22 16.92v3a2 2 0 0 1-2.18 2 19.79 19.79 0 0 1-8.63-3.07 19.5 19.5 0 0 1-6-6A19.79 19.79 0 0 1 2.12 4.18 2 2 0 0 1 4.11 2h3a2 2 0 0 1 2 1.72c.13.96.36 1.9.7 2.81a2 2 0 0 1-.45 2.11L8.09 9.91a16 16 0 0 0 6 6l1.27-1.27a2 2 0 0 1 2.11-.45c.91.34 1.85.57 2.81.7A2 2 0 0 1 22 16.92z' }]],
  phoneOff: [['path', { d: 'M10.68 13.31a16 16 0 0 0 3.41 2.6l1.27-1.27a2 2 0 0 1 2.11-.45c.91.34 1.85.57 2.81.7A2 2 0 0 1 22 16.92v3a2 2 0 0 1-2.18 2 19.79 19.79 0 0 1-8.63-3.07 19.42 19.42 0 0 1-3.33-2.67m-2.67-3.34a19.79 19.79 0 0 1-3.07-8.63A2 2 0 0 1 4.11 2h3a2 2 0 0 1 2 1.72c.13.96.36 1.9.7 2.81a2 2 0 0 1-.45 2.11L8.09 9.91' }], ['path', { d: 'M23 1 1 23' }]],
  video: [['path', { d: 'm23 7-7 5 7 5z' }], ['rect', { x: 1, y: 5, width: 15, height: 14, rx: 2 }]],
  videoOff: [['path', { d: 'M16 16v1a2 2 0 0 1-2 2H3a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2h2m5.66 0H14a2 2 0 0 1 2 2v3.34l1 1L23 7v10' }], ['path', { d: 'M1 1l22 22' }]],
  mic: [['path', { d: 'M12 1a3 3 0 0 0-3 3v8a3 3 0 0 0 6 0V4a3 3 0 0 0-3-3z' }], ['path', { d: 'M19 10v2a7 7 0 0 1-14 0v-2M12 19v4M8 23h8' }]],
  micOff: [['path', { d: 'M1 1l22 22M9 9v3a3 3 0 0 0 5.12 2.12M15 9.34V4a3 3 0 0 0-5.94-.6' }], ['path', { d: 'M17 16.95A7 7 0 0 1 5 12v-2m14 0v2a7 7 0 0 1-.11 1.23M12 19v4M8 23h8' }]],
  screen: [['rect', { x: 2, y: 3, width: 20, height: 14, rx: 2 }], ['path', { d: 'M8 21h8M12 17v4' }]],
  compass: [['circle', { cx: 12, cy: 12, r: 10 }], ['path', { d: 'm16.24 7.76-2.12 6.36-6.36 2.12 2.12-6.36z' }]],
};

export function icon(name, cls = '') {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', 'icon ' + cls);
  for (const [tag, attrs] of ICONS[name] || []) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    svg.append(e);
  }
  return svg;
}

// iconButton is a button with an icon and an accessible name.
export function iconButton(name, label, onclick, cls = '') {
  return h('button', { type: 'button', class: 'icon-btn ' + cls, 'aria-label': label, title: label, onclick }, icon(name));
}
