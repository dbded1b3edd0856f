// data.js — "Your data" in the settings: download an export of everything
// the server holds about you (GET /api/v1/me/export, a zip; docs/data.md).
import { h } from '../dom.js';
import { errorText } from './ui.js';
import { ApiError } from '../api.js';

export function dataSection(ctx) {
  const { api } = ctx;
  const status = h('span', { class: 'muted export-status', role: 'status' });
  const btn = h('button', { type: 'button', class: 'btn export-btn' }, 'Download my data');
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    status.textContent = 'Preparing…';
    try {
      const r = await fetch(api.base + '/api/v1/me/export', { headers: { Authorization: 'Bearer ' + api.token } });
      if (!r.ok) {
        let body = null;
        try { body = await r.json(); } catch { body = null; }
        throw new ApiError(r.status, body?.error || { message: r.statusText });
      }
      const blob = await r.blob();
      const name = /filename="([^"]+)"/.exec(r.headers.get('Content-Disposition') || '')?.[1] || 'parley-export.zip';
      const a = h('a', { href: URL.createObjectURL(blob), download: name, class: 'sr-only' });
      document.body.append(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 60000);
      status.textContent = `Downloaded ${name} (${Math.ceil(blob.size / 1024)} KB).`;
      status.dataset.bytes = String(blob.size);
    } catch (e) { status.textContent = errorText(e); } finally { btn.disabled = false; }
  });
  return h('fieldset', { class: 'field data-section' }, h('legend', {}, 'Your data'),
    h('div', { class: 'hint' }, 'A zip with your account, conversations, the messages you wrote and the files you uploaded.'),
    h('div', { class: 'modal-actions' }, btn), status);
}
