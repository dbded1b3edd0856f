// retention.js — the Retention section of a conversation's settings
// (docs/data.md): how long the server keeps its messages, which owners and
// admins of the conversation set (0 = forever, up to 3650 days), and its
// legal hold, which server admins place and lift. Everyone who sees the
// conversation sees the policy.
import { h, replace } from '../dom.js';
import { toast, errorText, confirmDialog } from './ui.js';

const MAX_DAYS = 3650;

export function retentionSection(ctx, c) {
  const { api, store } = ctx;
  const path = `/conversations/${encodeURIComponent(c.id)}/retention`;
  const canSet = c.role === 'owner' || c.role === 'admin';
  const serverAdmin = store.me?.role === 'admin';
  const state = h('p', { class: 'retention-state', role: 'status' }, 'Loading…');
  const hold = h('p', { class: 'legal-hold-state' });
  const err = h('div', { class: 'form-error', role: 'alert' });
  const days = h('input', { type: 'number', name: 'retention-days', min: 0, max: MAX_DAYS, step: 1, 'aria-label': 'Keep messages for days (0: forever)' });
  const save = h('button', { type: 'submit', class: 'btn', 'data-action': 'save-retention' }, 'Save');
  const holdBtn = h('button', { type: 'button', class: 'btn', 'data-action': 'legal-hold' });
  let policy = null;

  const render = (p) => {
    policy = p;
    state.textContent = p.days ? `Messages older than ${p.days} day${p.days === 1 ? '' : 's'} are deleted for good, with their files.` : 'Messages are kept forever.';
    state.dataset.days = String(p.days);
    hold.textContent = p.legal_hold ? 'On legal hold: nothing is deleted until a server admin lifts it.' : 'No legal hold.';
    hold.dataset.hold = String(!!p.legal_hold);
    if (document.activeElement !== days) days.value = String(p.days);
    holdBtn.textContent = p.legal_hold ? 'Lift legal hold' : 'Place on legal hold';
  };
  const load = async () => {
    try { render(await api.req('GET', path)); } catch (e) { state.textContent = errorText(e); }
  };

  const form = h('form', { class: 'retention-form admin-invite-form', novalidate: true },
    h('label', {}, 'Keep messages for ', days, ' days (0: forever)'), save);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    const n = Number(days.value);
    if (days.value.trim() === '' || !Number.isInteger(n) || n < 0 || n > MAX_DAYS) {
      err.textContent = `Enter a whole number of days from 0 (forever) to ${MAX_DAYS}.`;
      days.setAttribute('aria-invalid', 'true');
      days.focus();
      return;
    }
    days.removeAttribute('aria-invalid');
    if (n > 0 && (!policy?.days || n < policy.days) &&
      !await confirmDialog('Delete old messages?', `Messages older than ${n} days will be deleted for good, for everyone, within the hour (unless the conversation is on legal hold).`, 'Save', true)) return;
    save.disabled = true;
    try { render(await api.req('PUT', path, { days: n })); toast('Retention saved'); } catch (ex) { err.textContent = errorText(ex); } finally { save.disabled = false; }
  });
  holdBtn.addEventListener('click', async () => {
    err.textContent = '';
    holdBtn.disabled = true;
    try {
      render(await api.req('PUT', `/admin/conversations/${encodeURIComponent(c.id)}/legal-hold`, { hold: !policy?.legal_hold }));
      toast(policy.legal_hold ? 'Legal hold placed' : 'Legal hold lifted');
    } catch (ex) { err.textContent = errorText(ex); } finally { holdBtn.disabled = false; }
  });

  const el = h('fieldset', { class: 'field retention-section' }, h('legend', {}, 'Retention'),
    state, hold,
    canSet ? form : h('div', { class: 'hint' }, 'Owners and admins of the conversation set how long messages are kept.'),
    serverAdmin ? h('div', { class: 'modal-actions' }, holdBtn) : null,
    err);
  replace(holdBtn, 'Legal hold…');
  load();
  return el;
}
