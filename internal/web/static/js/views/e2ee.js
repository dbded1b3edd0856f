// e2ee.js — the end-to-end encryption UI (docs/web.md, docs/e2ee.md): the
// "End-to-end encrypted" choice when creating a chat, the settings section
// (this device, key backup), the safety number dialog, the key-change
// banner and the restore prompt for a browser without keys.
import { h, icon, replace } from '../dom.js';
import { modal, field, toast, errorText } from './ui.js';
import { groups } from '../e2ee/safety.js';

const STATUS = {
  starting: 'Setting up encryption keys for this browser…',
  ready: 'This browser has its encryption keys.',
  restore: 'Your key backup has not been restored in this browser yet.',
  unavailable: 'This server does not offer end-to-end encryption.',
  error: 'Encryption keys could not be set up',
};

// encryptedToggle is the "End-to-end encrypted" checkbox of the new chat
// dialogs; it is disabled until this browser has keys.
export function encryptedToggle(ctx, checked) {
  const ready = ctx.e2ee?.status === 'ready';
  const input = h('input', { type: 'checkbox', class: 'e2ee-toggle', checked: checked && ready, disabled: !ready });
  const el = h('div', { class: 'field' },
    h('label', { class: 'check' }, input, h('span', {}, icon('lock', 'title-icon'), ' End-to-end encrypted')),
    h('div', { class: 'hint' }, ready ? 'Only the members’ devices can read it. The server cannot search it; reactions, receipts and typing stay visible to it.' : STATUS[ctx.e2ee?.status || 'unavailable']));
  return { el, input };
}

// encryptionSection is the settings part: this device, key backup.
export function encryptionSection(ctx) {
  const e = ctx.e2ee;
  const info = h('p', { class: 'muted e2ee-status' });
  const pass1 = h('input', { type: 'password', autocomplete: 'new-password', minlength: 10, class: 'backup-pass' });
  const pass2 = h('input', { type: 'password', autocomplete: 'new-password', class: 'backup-pass2' });
  const msg = h('div', { role: 'status', class: 'muted backup-msg' });
  const btn = h('button', { type: 'button', class: 'btn backup-save' }, 'Save key backup');
  const del = h('button', { type: 'button', class: 'btn backup-delete' }, 'Delete backup');
  const restoreBtn = h('button', { type: 'button', class: 'btn restore-open', hidden: true, onclick: () => restorePrompt(ctx) }, 'Restore keys…');
  const render = () => {
    const s = e?.status || 'unavailable';
    restoreBtn.hidden = s !== 'restore';
    info.textContent = STATUS[s] + (s === 'error' && e.statusDetail ? ': ' + e.statusDetail : '') + (s === 'ready' && e.deviceId ? ` Device ${e.deviceId}.` : '');
    btn.disabled = s !== 'ready';
    del.disabled = s !== 'ready';
  };
  btn.addEventListener('click', async () => {
    if (pass1.value.length < 10) { msg.textContent = 'Use a passphrase of at least 10 characters.'; pass1.focus(); return; }
    if (pass1.value !== pass2.value) { msg.textContent = 'The two passphrases differ.'; pass2.focus(); return; }
    btn.disabled = true;
    msg.textContent = 'Encrypting the backup (this takes a few seconds)…';
    try {
      await e.setBackup(pass1.value);
      pass1.value = ''; pass2.value = '';
      msg.textContent = 'Key backup saved on the server.';
      toast('Key backup saved');
    } catch (ex) { msg.textContent = errorText(ex); } finally { btn.disabled = false; }
  });
  del.addEventListener('click', async () => {
    try { await e.deleteBackup(); msg.textContent = 'Key backup deleted.'; } catch (ex) { msg.textContent = errorText(ex); }
  });
  // This account's devices (at most 16 on the server): remove the ones gone.
  const devList = h('ul', { class: 'e2ee-devices', 'aria-label': 'Devices with encryption keys' });
  const loadDevices = async () => {
    if (e?.status !== 'ready') { replace(devList); return; }
    try {
      const ds = await e.devices(ctx.store.me.id, true);
      replace(devList, ds.map((d) => h('li', { class: 'e2ee-device-row' },
        h('span', { class: 'pick-text' },
          h('span', { class: 'pick-name' }, d.name || 'Device', d.device_id === e.deviceId ? h('span', { class: 'role-tag' }, 'this browser') : null),
          h('span', { class: 'muted' }, d.raw?.created_at ? 'added ' + new Date(d.raw.created_at).toLocaleDateString() : d.device_id)),
        d.device_id === e.deviceId ? null : h('button', { type: 'button', class: 'btn btn-small remove-device', 'aria-label': 'Remove ' + (d.name || 'device'), onclick: async () => {
          try { await e.removeDevice(d.device_id); loadDevices(); } catch (ex) { toast(errorText(ex), 'error'); }
        } }, 'Remove'))));
    } catch (ex) { replace(devList, h('li', { class: 'form-error' }, errorText(ex))); }
  };
  render();
  loadDevices();
  e?.addEventListener('state', () => { render(); loadDevices(); });
  return h('fieldset', { class: 'field e2ee-settings' }, h('legend', {}, 'End-to-end encryption'), info, restoreBtn,
    h('div', { class: 'hint' }, 'A key backup lets you read new encrypted messages again in another browser: the keys of this device are encrypted with your passphrase before they leave the browser. Messages from before a restore cannot be read there. Without the passphrase nobody, not even the server, can open it.'),
    devList,
    field('Backup passphrase', pass1), field('Repeat the passphrase', pass2),
    h('div', { class: 'row' }, btn, del), msg);
}

// openSafetyNumber shows the safety number of the signed-in user and the
// other member of direct chat c, with "Mark verified".
export async function openSafetyNumber(ctx, c) {
  const peer = ctx.store.peerOf(c);
  if (!peer) return;
  const name = ctx.store.displayName(peer.id);
  const body = h('div', { class: 'safety-body' }, h('p', { class: 'muted' }, 'Computing…'));
  const m = modal('Safety number', body, { cls: 'safety-dialog' });
  try {
    const number = await ctx.e2ee.safetyNumber(peer.id);
    const verified = await ctx.e2ee.checkVerified(peer.id, number);
    const state = h('p', { class: 'safety-state' }, verified ? `You marked ${name} as verified.` : `${name} is not verified.`);
    const mark = h('button', { type: 'button', class: 'btn btn-primary mark-verified', hidden: verified, onclick: async () => {
      await ctx.e2ee.markVerified(peer.id, number);
      state.textContent = `You marked ${name} as verified.`;
      mark.hidden = true;
      toast(name + ' verified');
    } }, 'Mark verified');
    replace(body,
      h('p', {}, `Compare this number with ${name}, in person or over a call you trust. If it is the same on both devices, nobody is listening in.`),
      h('div', { class: 'safety-number', 'aria-label': 'Safety number ' + number.replace(/(\d{5})/g, '$1 ') }, groups(number).map((g) => h('span', {}, g))),
      state, h('div', { class: 'modal-actions' }, h('button', { type: 'button', class: 'btn', onclick: () => m.close() }, 'Close'), mark));
  } catch (e) { replace(body, h('p', { class: 'form-error' }, errorText(e))); }
}

// keyBanner is the warning shown in an encrypted conversation when a member's
// keys (device list) changed since this browser last saw them.
export function keyBanner(ctx, c) {
  const e = ctx.e2ee;
  if (!c?.encrypted || !e) return null;
  const ids = [...(c.members?.keys() || [])].filter((id) => id !== ctx.store.me.id && e.keysChanged(id));
  if (!ids.length) return null;
  const names = ids.map((id) => ctx.store.displayName(id)).join(', ');
  return h('div', { class: 'e2ee-banner', role: 'alert' }, icon('alert'),
    h('span', {}, `${names}’s keys changed: the safety number changed. Verify it before sharing anything sensitive.`),
    c.kind === 'direct' ? h('button', { type: 'button', class: 'link-btn', onclick: () => openSafetyNumber(ctx, c) }, 'View safety number') : null,
    h('button', { type: 'button', class: 'link-btn dismiss-keys', onclick: () => { for (const id of ids) e.dismissKeyChange(id); } }, 'Dismiss'));
}

// restorePrompt asks for the backup passphrase in a browser without keys
// when the account has a key backup; "Use new keys" registers a new device.
export function restorePrompt(ctx) {
  const e = ctx.e2ee;
  const pass = h('input', { type: 'password', autocomplete: 'current-password', class: 'restore-pass' });
  const err = h('div', { class: 'form-error', role: 'alert' });
  const ok = h('button', { type: 'submit', class: 'btn btn-primary restore-ok' }, 'Restore keys');
  const fresh = h('button', { type: 'button', class: 'btn restore-new' }, 'Use new keys');
  const form = h('form', { class: 'stack' },
    h('p', {}, 'Your account has an encrypted key backup. Enter its passphrase to read new encrypted messages in this browser with your keys.'),
    field('Backup passphrase', pass), err, h('div', { class: 'modal-actions' }, fresh, ok));
  const m = modal('Restore encryption keys', form, { cls: 'restore-dialog' });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    ok.disabled = true;
    err.textContent = 'Opening the backup…';
    try { await e.restore(pass.value); m.close(); toast('Encryption keys restored'); } catch (ex) { err.textContent = ex.message || errorText(ex); } finally { ok.disabled = false; }
  });
  fresh.addEventListener('click', async () => {
    try { await e.newDevice(); m.close(); toast('New encryption keys made for this browser'); } catch (ex) { err.textContent = errorText(ex); }
  });
  pass.focus();
}
