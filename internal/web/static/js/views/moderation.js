// moderation.js — conversation moderation in the members dialog: per-member
// mute, ban (and block, for everyone), the list of bans with "Unban", and
// the rules form (slow mode, read-only, length, links, attachments, deny
// words). docs/moderation.md describes the rules the server applies.
import { h, replace } from '../dom.js';
import { modal, field, toast, errorText } from './ui.js';

const enc = encodeURIComponent;

// canModerate mirrors parley.CanModerate: owners act on admins and members,
// admins on members.
export function canModerate(myRole, theirRole) {
  if (myRole === 'owner') return theirRole !== 'owner';
  if (myRole === 'admin') return theirRole === 'member' || !theirRole;
  return false;
}

// reasonDialog asks for a reason (and, with durations, how long); it
// resolves to {reason, seconds} or null when cancelled.
export function reasonDialog(title, okLabel, durations, placeholder = 'Optional') {
  return new Promise((resolve) => {
    let result = null;
    const reason = h('input', { maxlength: 500, class: 'mod-reason', placeholder });
    const dur = durations ? h('select', { class: 'mod-duration' }, durations.map(([s, t]) => h('option', { value: s }, t))) : null;
    const ok = h('button', { type: 'submit', class: 'btn btn-danger mod-ok' }, okLabel);
    const form = h('form', { class: 'stack' }, dur ? field('For', dur) : null, field('Reason', reason),
      h('div', { class: 'modal-actions' }, h('button', { type: 'button', class: 'btn', onclick: () => m.close() }, 'Cancel'), ok));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      result = { reason: reason.value.trim(), seconds: dur ? Number(dur.value) : 0 };
      m.close();
    });
    const m = modal(title, [form], { onclose: () => resolve(result) });
    reason.focus();
  });
}

const MUTE_FOR = [[600, '10 minutes'], [3600, '1 hour'], [86400, '1 day'], [604800, '1 week']];

// memberActions returns the buttons of one member row: Block/Unblock for
// anyone else, Mute and Ban when the caller may moderate them.
export function memberActions(ctx, c, mm, done) {
  const { store, api } = ctx;
  if (mm.user_id === store.me.id) return [];
  const name = store.displayName(mm.user_id);
  const out = [];
  if (c.kind !== 'direct' && canModerate(c.role, mm.role)) {
    out.push(h('button', { type: 'button', class: 'btn btn-small mute-btn', 'aria-label': 'Mute ' + name, onclick: async () => {
      const r = await reasonDialog('Mute ' + name, 'Mute', MUTE_FOR);
      if (!r) return;
      try {
        await api.req('POST', `/conversations/${enc(c.id)}/moderation/mute`, { user_id: mm.user_id, duration_seconds: r.seconds, reason: r.reason });
        toast(`${name} is muted`);
      } catch (e) { toast(errorText(e), 'error'); }
    } }, 'Mute'));
    out.push(h('button', { type: 'button', class: 'btn btn-small btn-danger-ghost ban-btn', 'aria-label': 'Ban ' + name, onclick: async () => {
      const r = await reasonDialog('Ban ' + name, 'Ban');
      if (!r) return;
      try {
        await api.req('POST', `/conversations/${enc(c.id)}/bans`, { user_id: mm.user_id, reason: r.reason });
        toast(`${name} is banned`);
        done();
      } catch (e) { toast(errorText(e), 'error'); }
    } }, 'Ban'));
  }
  const blocked = store.blocked.has(mm.user_id);
  out.push(h('button', { type: 'button', class: 'btn btn-small ' + (blocked ? 'unblock-btn' : 'block-btn'), 'aria-label': (blocked ? 'Unblock ' : 'Block ') + name,
    onclick: () => ctx.block(mm.user_id, !blocked).then(done) }, blocked ? 'Unblock' : 'Block'));
  return out;
}

// bansSection lists the conversation's bans with an Unban button each
// (owners and admins).
export function bansSection(ctx, c) {
  const { store, api } = ctx;
  const ul = h('ul', { class: 'pick-list ban-list', 'aria-label': 'Banned' });
  async function refresh() {
    try {
      const r = await api.req('GET', `/conversations/${enc(c.id)}/bans`);
      await store.ensureUsers(r.bans.map((b) => b.user_id));
      replace(ul, r.bans.length ? r.bans.map((b) => h('li', { class: 'member-row', dataset: { user: b.user_id } },
        h('span', { class: 'pick-text' }, h('span', { class: 'pick-name' }, store.displayName(b.user_id)),
          h('span', { class: 'muted' }, b.reason || 'no reason given')),
        h('button', { type: 'button', class: 'btn btn-small unban-btn', 'aria-label': 'Unban ' + store.displayName(b.user_id), onclick: async () => {
          try { await api.req('DELETE', `/conversations/${enc(c.id)}/bans/${enc(b.user_id)}`); toast('Ban lifted'); } catch (e) { toast(errorText(e), 'error'); }
          refresh();
        } }, 'Unban'))) : h('li', { class: 'muted pick-empty' }, 'Nobody is banned.'));
    } catch (e) { replace(ul, h('li', { class: 'form-error' }, errorText(e))); }
  }
  refresh();
  return { el: h('section', { class: 'bans' }, h('h3', {}, 'Banned'), ul), refresh };
}

// rulesForm edits the conversation's rules (owners and admins).
export function rulesForm(ctx, c) {
  const { api } = ctx;
  const slow = h('input', { type: 'number', min: 0, max: 86400, value: 0, class: 'rule-slow' });
  const maxChars = h('input', { type: 'number', min: 0, value: 0, class: 'rule-max' });
  const box = (cls) => h('input', { type: 'checkbox', class: cls });
  const readOnly = box('rule-readonly');
  const noLinks = box('rule-nolinks');
  const noFiles = box('rule-nofiles');
  const words = h('textarea', { rows: 2, class: 'rule-words', placeholder: 'one word per line' });
  const action = h('select', { class: 'rule-action' }, h('option', { value: 'refuse' }, 'Refuse the message'), h('option', { value: 'mask' }, 'Mask the words'));
  let patterns = [];
  const check = (label, input) => h('label', { class: 'check' }, input, ' ', label);
  const save = h('button', { type: 'submit', class: 'btn' }, 'Save rules');
  const form = h('form', { class: 'stack rules-form' },
    h('h3', {}, 'Rules'),
    field('Slow mode (seconds between a member\u2019s messages, 0 = off)', slow),
    field('Longest message (characters, 0 = server limit)', maxChars),
    check('Read-only: only owners and admins post', readOnly),
    check('No links', noLinks), check('No attachments', noFiles),
    field('Words not allowed', words), field('When a message has one', action), save);
  api.req('GET', `/conversations/${enc(c.id)}/rules`).then((r) => {
    slow.value = r.slow_mode_seconds; maxChars.value = r.max_message_chars;
    readOnly.checked = r.read_only; noLinks.checked = r.no_links; noFiles.checked = r.no_attachments;
    words.value = (r.deny_words || []).join('\n'); action.value = r.deny_action || 'refuse';
    patterns = r.deny_patterns || [];
  }).catch(() => {});
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    save.disabled = true;
    try {
      await api.req('PUT', `/conversations/${enc(c.id)}/rules`, {
        slow_mode_seconds: Number(slow.value) || 0, max_message_chars: Number(maxChars.value) || 0,
        read_only: readOnly.checked, no_links: noLinks.checked, no_attachments: noFiles.checked,
        deny_words: words.value.split('\n').map((w) => w.trim()).filter(Boolean), deny_patterns: patterns, deny_action: action.value,
      });
      toast('Rules saved');
    } catch (ex) { toast(errorText(ex), 'error'); } finally { save.disabled = false; }
  });
  return form;
}
