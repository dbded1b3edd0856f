// dialogs.js — modal flows: new direct chat, new group/channel, browse
// channels, members, profile & settings.
import { h, icon, replace } from '../dom.js';
import { modal, field, avatar, toast, errorText, confirmDialog } from './ui.js';
import { ago } from '../format.js';
import { setUserAvatar } from '../avatars.js';
import { memberActions, bansSection, rulesForm } from './moderation.js';
import { reportsPanel } from './reports.js';
import { pushSupported, pushEnabled, enablePush, disablePush } from '../push.js';
import { twoFactorSection, appPasswordsSection } from './twofactor.js';
import { dataSection } from './data.js';
import { retentionSection } from './retention.js';
import { botsSection } from './bots.js';
import { encryptedToggle, encryptionSection } from './e2ee.js';

// picturePicker is a button that opens the file chooser for a PNG, JPEG,
// GIF or WebP picture (the file input itself is visually hidden and out of
// the tab order); upload(file) sends it (the server crops and resizes it).
function picturePicker(label, upload) {
  const labelId = 'pl-' + Math.random().toString(36).slice(2);
  const input = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp', class: 'avatar-file sr-only', tabindex: '-1', 'aria-hidden': 'true' });
  const status = h('span', { class: 'muted', role: 'status' });
  const btn = h('button', { type: 'button', class: 'btn picture-btn', 'aria-describedby': labelId, onclick: () => input.click() }, icon('image'), 'Choose a picture…');
  input.addEventListener('change', async () => {
    const f = input.files?.[0];
    if (!f) return;
    btn.disabled = true;
    status.textContent = 'Uploading…';
    try { await upload(f); status.textContent = 'Picture updated.'; toast('Picture updated'); } catch (e) { status.textContent = errorText(e); } finally { btn.disabled = false; input.value = ''; btn.focus(); }
  });
  return h('div', { class: 'field', role: 'group', 'aria-labelledby': labelId },
    h('span', { class: 'field-label', id: labelId }, label),
    h('div', { class: 'picture-row' }, btn, status, input),
    h('div', { class: 'hint' }, 'PNG, JPEG, GIF or WebP; it is cropped to a square.'));
}

// userSearch is a username search box with a live result list.
function userSearch(ctx, { onPick, exclude = () => false, label = 'Search people by username' }) {
  const input = h('input', { type: 'search', placeholder: 'Username…', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' });
  const results = h('ul', { class: 'pick-list', 'aria-label': 'Search results' });
  let seq = 0;
  let timer;
  const run = async () => {
    const q = input.value.trim().replace(/^@/, '').toLowerCase();
    const my = ++seq;
    if (!q) { replace(results); return; }
    try {
      const users = (await ctx.api.searchUsers(q)).filter((u) => u.id !== ctx.store.me.id && !exclude(u));
      if (my !== seq) return;
      users.forEach((u) => ctx.store.addUser(u));
      replace(results, users.length ? users.map((u) => h('li', {},
        h('button', { type: 'button', class: 'pick', onclick: () => onPick(u) },
          avatar(ctx.store, u, { size: 'sm', presence: true }),
          h('span', { class: 'pick-text' }, h('span', { class: 'pick-name' }, u.display_name || u.username), h('span', { class: 'muted' }, '@' + u.username))))) :
        h('li', { class: 'muted pick-empty' }, 'Nobody found with that username.'));
    } catch (e) { replace(results, h('li', { class: 'form-error' }, errorText(e))); }
  };
  input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(run, 150); });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') { e.preventDefault(); results.querySelector('button')?.focus(); }
    if (e.key === 'Enter') { e.preventDefault(); results.querySelector('button')?.click(); }
  });
  results.addEventListener('keydown', (e) => {
    const bs = [...results.querySelectorAll('button')];
    const i = bs.indexOf(document.activeElement);
    if (e.key === 'ArrowDown' && i < bs.length - 1) { e.preventDefault(); bs[i + 1].focus(); }
    if (e.key === 'ArrowUp') { e.preventDefault(); (i > 0 ? bs[i - 1] : input).focus(); }
  });
  return { el: h('div', { class: 'user-search' }, field(label, input), results), input, refresh: run };
}

// openNewDirect starts a direct chat; encrypted pre-ticks "End-to-end
// encrypted" (the "New encrypted chat" menu entry).
export function openNewDirect(ctx, encrypted = false) {
  let m;
  const e2ee = encryptedToggle(ctx, encrypted);
  const s = userSearch(ctx, {
    onPick: async (u) => {
      try {
        const input = { kind: 'direct', member_ids: [u.id] };
        if (e2ee.input.checked) input.encrypted = true;
        const c = await ctx.api.createConversation(input);
        ctx.store.upsertConv(c);
        await ctx.store.loadMembers(c.id).catch(() => {});
        m.close();
        ctx.nav('/c/' + encodeURIComponent(c.id));
      } catch (e) { toast(errorText(e), 'error'); }
    },
  });
  m = modal(encrypted ? 'New encrypted chat' : 'New direct message', [h('p', { class: 'muted' }, 'Find someone by their username to start a private conversation.'), e2ee.el, s.el]);
  s.input.focus();
}

export function openNewGroup(ctx, kind) {
  const picked = new Map();
  const title = h('input', { required: true, maxlength: 100, placeholder: kind === 'channel' ? 'e.g. announcements' : 'e.g. Weekend plans' });
  const topic = h('input', { maxlength: 250, placeholder: 'What is it about? (optional)' });
  const pub = h('input', { type: 'checkbox', checked: true });
  const chips = h('div', { class: 'chips', 'aria-label': 'Selected members' });
  const err = h('div', { class: 'form-error', role: 'alert' });
  const renderChips = () => replace(chips, [...picked.values()].map((u) => h('span', { class: 'chip' }, u.display_name || u.username,
    h('button', { type: 'button', class: 'chip-x', 'aria-label': 'Remove ' + (u.display_name || u.username), onclick: () => { picked.delete(u.id); renderChips(); } }, icon('x')))));
  const s = userSearch(ctx, { label: 'Add members', onPick: (u) => { picked.set(u.id, u); renderChips(); s.input.value = ''; s.refresh(); s.input.focus(); }, exclude: (u) => picked.has(u.id) });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, kind === 'channel' ? 'Create channel' : 'Create group');
  const e2ee = kind === 'group' ? encryptedToggle(ctx, false) : null;
  const form = h('form', { class: 'stack' },
    field(kind === 'channel' ? 'Channel name' : 'Group name', title),
    kind === 'channel' ? field('Topic', topic) : null,
    kind === 'channel' ? h('label', { class: 'check' }, pub, ' Public — anyone on this server can find and join it') : null,
    e2ee?.el, s.el, chips, err,
    h('div', { class: 'modal-actions' }, h('button', { type: 'button', class: 'btn', onclick: () => m.close() }, 'Cancel'), submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!title.value.trim()) { err.textContent = 'Give it a name.'; title.focus(); return; }
    submit.disabled = true;
    try {
      const input = { kind, title: title.value.trim(), member_ids: [...picked.keys()] };
      if (kind === 'channel') { input.public = pub.checked; if (topic.value.trim()) input.topic = topic.value.trim(); }
      if (e2ee?.input.checked) input.encrypted = true;
      const c = await ctx.api.createConversation(input);
      ctx.store.upsertConv(c);
      m.close();
      ctx.nav('/c/' + encodeURIComponent(c.id));
    } catch (ex) { err.textContent = errorText(ex); } finally { submit.disabled = false; }
  });
  const m = modal(kind === 'channel' ? 'New channel' : 'New group', form);
  title.focus();
}

export function openBrowse(ctx) {
  const input = h('input', { type: 'search', placeholder: 'Search channels…' });
  const results = h('ul', { class: 'pick-list' });
  let timer;
  const run = async () => {
    try {
      const chans = await ctx.api.publicChannels(input.value.trim());
      replace(results, chans.length ? chans.map((x) => {
        const c = ctx.store.normConv(x);
        const joined = ctx.store.convs.has(c.id);
        return h('li', { class: 'channel-row' },
          h('span', { class: 'avatar avatar-sm avatar-square hue-3', 'aria-hidden': 'true' }, icon('hash')),
          h('span', { class: 'pick-text' }, h('span', { class: 'pick-name' }, c.title), h('span', { class: 'muted' }, [c.topic, `${c.member_count || 0} members`].filter(Boolean).join(' · '))),
          h('button', {
            type: 'button', class: 'btn ' + (joined ? '' : 'btn-primary'),
            onclick: async () => {
              try {
                if (!joined) { await ctx.join(c.id); }
                m.close();
                ctx.nav('/c/' + encodeURIComponent(c.id));
              } catch (e) { toast(errorText(e), 'error'); }
            },
          }, joined ? 'Open' : 'Join'));
      }) : h('li', { class: 'muted pick-empty' }, 'No public channels found.'));
    } catch (e) { replace(results, h('li', { class: 'form-error' }, errorText(e))); }
  };
  input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(run, 200); });
  const m = modal('Browse channels', [field('Search public channels', input), results], { wide: true });
  input.focus();
  run();
}

export function openMembers(ctx, id) {
  const { store } = ctx;
  const c = store.convs.get(id);
  const listEl = h('ul', { class: 'member-list', 'aria-label': 'Members' });
  const canManage = c.role === 'owner' || c.role === 'admin';
  const bans = canManage && c.kind !== 'direct' ? bansSection(ctx, c) : null;
  const render = () => {
    const cc = store.convs.get(id);
    if (!cc?.members) { replace(listEl, h('li', { class: 'muted' }, 'Loading…')); return; }
    const rows = [...cc.members.values()].sort((a, b) => store.displayName(a.user_id).localeCompare(store.displayName(b.user_id)));
    replace(listEl, rows.map((mm) => {
      const u = store.user(mm.user_id) || { id: mm.user_id };
      const p = store.presence.get(mm.user_id);
      return h('li', { class: 'member-row', dataset: { user: mm.user_id } },
        avatar(store, u, { size: 'sm', presence: true }),
        h('span', { class: 'pick-text' },
          h('span', { class: 'pick-name' }, store.displayName(mm.user_id), mm.user_id === store.me.id ? ' (you)' : ''),
          h('span', { class: 'muted' }, ['@' + (u.username || '?'), p?.online ? 'online' : null].filter(Boolean).join(' · '))),
        mm.role && mm.role !== 'member' ? h('span', { class: 'role-tag' }, mm.role) : null,
        canManage && mm.user_id !== store.me.id && mm.role !== 'owner' ? h('button', {
          type: 'button', class: 'btn btn-small btn-danger-ghost', 'aria-label': 'Remove ' + store.displayName(mm.user_id),
          onclick: async () => {
            if (!await confirmDialog('Remove member', `Remove ${store.displayName(mm.user_id)} from ${store.title(cc)}?`, 'Remove', true)) return;
            try { await ctx.api.removeMember(id, mm.user_id); cc.members.delete(mm.user_id); cc.member_count = cc.members.size; render(); store.emit('conv:' + id); } catch (e) { toast(errorText(e), 'error'); }
          },
        }, 'Remove') : null,
        ...memberActions(ctx, cc, mm, () => { store.loadMembers(id).then(render).catch(() => {}); bans?.refresh(); }));
    }));
  };
  const body = [listEl];
  if (bans) {
    body.push(h('p', {}, h('a', { href: `/c/${encodeURIComponent(c.id)}/stats`, class: 'btn stats-link', onclick: (e) => { e.preventDefault(); m.close(); ctx.nav(`/c/${encodeURIComponent(c.id)}/stats`); } }, 'Analytics')),
      reportsPanel(ctx, c.id).el, bans.el, rulesForm(ctx, c));
  }
  if (canManage || c.kind === 'group') {
    const s = userSearch(ctx, {
      label: 'Invite people',
      exclude: (u) => store.convs.get(id)?.members?.has(u.id),
      onPick: async (u) => {
        try {
          await ctx.api.addMembers(id, [u.id]);
          await store.loadMembers(id);
          toast(`${u.display_name || u.username} was added`);
          s.input.value = '';
          s.refresh();
          render();
        } catch (e) { toast(errorText(e), 'error'); }
      },
    });
    body.unshift(s.el);
  }
  if (canManage && c.kind !== 'direct') {
    const title = h('input', { value: c.title || '', maxlength: 100, required: true });
    const topic = h('input', { value: c.topic || '', maxlength: 250 });
    const save = h('button', { type: 'submit', class: 'btn' }, 'Save');
    const form = h('form', { class: 'stack about' }, field('Name', title), field('Topic', topic), save);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      save.disabled = true;
      try {
        const u = await ctx.api.updateConversation(id, { title: title.value.trim(), topic: topic.value.trim() });
        store.upsertConv(u);
        toast('Conversation updated');
      } catch (ex) { toast(errorText(ex), 'error'); } finally { save.disabled = false; }
    });
    form.append(picturePicker('Picture', async (f) => {
      const cc = await ctx.api.setConversationAvatar(id, f);
      if (cc?.id) store.upsertConv(cc);
    }));
    body.unshift(form);
  }
  body.push(retentionSection(ctx, c));
  const unsub = [store.on('conv:' + id, render), store.on('blocks', render)];
  const m = modal(c.kind === 'direct' ? 'Members' : `${store.title(c)} — settings and members`, body, { onclose: () => unsub.forEach((f) => f()) });
  store.loadMembers(id).then(render).catch(() => {});
  render();
}

export function openSettings(ctx) {
  const { store, api } = ctx;
  const me = store.me;
  const display = h('input', { value: me.display_name || '', maxlength: 100, autocomplete: 'name' });
  const status = h('input', { value: me.status_text || '', maxlength: 140, placeholder: 'What are you up to?' });
  const theme = me.settings?.theme || localStorage.getItem('parley.theme') || 'system';
  const radios = ['system', 'light', 'dark'].map((t) => h('label', { class: 'seg' },
    h('input', { type: 'radio', name: 'theme', value: t, checked: t === theme, onchange: () => ctx.applyTheme(t) }), h('span', {}, t[0].toUpperCase() + t.slice(1))));
  const notifState = h('span', { class: 'muted' });
  const notifBtn = h('button', { type: 'button', class: 'btn' });
  const renderNotif = () => {
    const perm = typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
    notifState.textContent = { granted: 'Enabled for this browser.', denied: 'Blocked in the browser settings.', default: 'Not enabled yet.', unsupported: 'Not supported by this browser.' }[perm];
    notifBtn.textContent = 'Enable notifications';
    notifBtn.hidden = perm !== 'default';
  };
  notifBtn.addEventListener('click', async () => { await Notification.requestPermission(); renderNotif(); });
  renderNotif();
  const notifyBox = notificationSettings(api, renderNotif);
  const sessionsEl = h('ul', { class: 'session-list', 'aria-label': 'Signed-in devices' }, h('li', { class: 'muted' }, 'Loading…'));
  const loadSessions = async () => {
    try {
      const ss = await api.sessions();
      replace(sessionsEl, ss.map((x) => h('li', { class: 'session-row' },
        h('span', { class: 'pick-text' },
          h('span', { class: 'pick-name' }, device(x.user_agent), x.current ? h('span', { class: 'role-tag' }, 'this device') : null),
          h('span', { class: 'muted' }, `${x.address || 'unknown address'} · active ${ago(x.last_seen_at)}`)),
        x.current ? null : h('button', {
          type: 'button', class: 'btn btn-small btn-danger-ghost', 'aria-label': 'Sign out ' + device(x.user_agent),
          onclick: async () => { try { await api.revokeSession(x.id); loadSessions(); } catch (e) { toast(errorText(e), 'error'); } },
        }, 'Sign out'))));
    } catch (e) { replace(sessionsEl, h('li', { class: 'form-error' }, errorText(e))); }
  };
  loadSessions();
  const err = h('div', { class: 'form-error', role: 'alert' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save profile');
  let head = avatar(store, me, { size: 'lg' });
  const picture = picturePicker('Profile picture', async (f) => {
    const r = await api.setMyAvatar(f);
    setUserAvatar(me.id, r?.avatar_url);
    const fresh = avatar(store, store.me, { size: 'lg' });
    head.replaceWith(fresh);
    head = fresh;
    store.setMe(store.me); // re-renders the sidebar's own avatar
  });
  const form = h('form', { class: 'stack' },
    h('div', { class: 'profile-head' }, head, h('div', {}, h('div', { class: 'pick-name' }, me.display_name || me.username), h('div', { class: 'muted' }, '@' + me.username))),
    field('Display name', display), field('Status', status), picture,
    h('fieldset', { class: 'field' }, h('legend', {}, 'Theme'), h('div', { class: 'segmented' }, radios)),
    h('fieldset', { class: 'field' }, h('legend', {}, 'Desktop notifications'), notifState, notifBtn,
      h('div', { class: 'hint' }, 'Shown for new messages while Parley is in the background. Mute a conversation from its header; mentions still notify.'),
      notifyBox),
    h('fieldset', { class: 'field' }, h('legend', {}, 'Signed-in devices'), sessionsEl),
    twoFactorSection(ctx),
    appPasswordsSection(ctx),
    encryptionSection(ctx),
    dataSection(ctx),
    botsSection(ctx, () => m.close()),
    err,
    h('div', { class: 'modal-actions spread' },
      h('button', { type: 'button', class: 'btn btn-danger-ghost', onclick: () => { m.close(); ctx.signOut(); } }, icon('logout'), 'Sign out'),
      save));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    save.disabled = true;
    const t = form.querySelector('input[name=theme]:checked')?.value || 'system';
    try {
      const u = await api.updateMe({ display_name: display.value.trim(), status_text: status.value.trim(), settings: { ...(me.settings || {}), theme: t } });
      store.setMe(u && u.id ? u : { ...me, display_name: display.value.trim(), status_text: status.value.trim(), settings: { theme: t } });
      ctx.applyTheme(t);
      toast('Profile saved');
      m.close();
    } catch (ex) { err.textContent = errorText(ex); } finally { save.disabled = false; }
  });
  const m = modal('Profile & settings', form, { onclose: () => { if (location.pathname === '/settings') ctx.nav('/', true); } });
  display.focus();
}

// notificationSettings is the push toggle of this browser and the account's
// notification rules (docs/notifications.md), each saved on change.
function notificationSettings(api, onPermission) {
  const push = h('input', { type: 'checkbox', id: 'push-toggle', disabled: !pushSupported() });
  const level = h('select', { id: 'notify-level' },
    h('option', { value: 'all' }, 'All messages'),
    h('option', { value: 'mentions' }, 'Mentions and direct messages'),
    h('option', { value: 'none' }, 'Nothing'));
  const previews = h('input', { type: 'checkbox', id: 'notify-previews' });
  const quietFrom = h('input', { type: 'time', id: 'quiet-from', 'aria-label': 'Quiet hours from' });
  const quietTo = h('input', { type: 'time', id: 'quiet-to', 'aria-label': 'Quiet hours until' });
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || '';
  const save = async () => {
    const p = { level: level.value, previews: previews.checked, time_zone: tz };
    if (quietFrom.value && quietTo.value) p.quiet_hours = { start: quietFrom.value, end: quietTo.value };
    try { await api.setNotifyPrefs(p); toast('Notification settings saved'); } catch (e) { toast(errorText(e), 'error'); }
  };
  for (const el of [level, previews, quietFrom, quietTo]) el.addEventListener('change', save);
  push.addEventListener('change', async () => {
    push.disabled = true;
    try {
      if (push.checked) { await enablePush(api); toast('Push notifications on for this browser'); } else { await disablePush(api); }
    } catch (e) { push.checked = false; toast(e.message || errorText(e), 'error'); } finally { push.disabled = !pushSupported(); onPermission(); }
  });
  (async () => {
    try {
      push.checked = await pushEnabled();
      const p = await api.notifyPrefs();
      level.value = p.level || 'all';
      previews.checked = !!p.previews;
      if (p.quiet_hours) { quietFrom.value = p.quiet_hours.start; quietTo.value = p.quiet_hours.end; }
      push.dataset.ready = '1';
    } catch { /* offline: the controls keep their defaults */ }
  })();
  return h('div', { class: 'stack notify-settings' },
    h('label', { class: 'check' }, push, h('span', {}, 'Push notifications on this device, even when Parley is closed')),
    field('Notify me of', level),
    h('label', { class: 'check' }, previews, h('span', {}, 'Show message text in notifications')),
    h('div', { class: 'field' }, h('span', {}, `Quiet hours (${tz || 'UTC'})`), h('div', { class: 'row' }, quietFrom, h('span', {}, 'to'), quietTo)));
}

// device names a session from its User-Agent, roughly.
function device(ua = '') {
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : '';
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows' : /Mac OS X/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : '';
  if (browser || os) return [browser, os].filter(Boolean).join(' on ');
  return ua.slice(0, 60) || 'Unknown device';
}
