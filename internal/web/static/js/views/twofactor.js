// twofactor.js — two-factor sign-in: the second step of signing in (a code,
// or enrolment when the server requires it) and the settings section that
// turns it on and off. The server does all checking; see docs/twofactor.md.
import { h, replace } from '../dom.js';
import { field, errorText, toast } from './ui.js';
import { ago } from '../format.js';

function codeInput(label = 'Code') {
  return h('input', { name: 'code', class: 'tfa-code', autocomplete: 'one-time-code', inputmode: 'text', required: true,
    autocapitalize: 'none', spellcheck: 'false', maxlength: 64, 'aria-label': label });
}

// enrolment shows a new secret: its QR code (a PNG data: URL from the
// server) and the secret to type in by hand.
function enrolment(en) {
  return h('div', { class: 'tfa-enrol' },
    en.qr ? h('img', { class: 'tfa-qr', src: en.qr, alt: 'QR code for your authenticator app', width: 192, height: 192 }) : null,
    h('p', { class: 'hint' }, 'Scan it with an authenticator app, or type this key:'),
    h('code', { class: 'tfa-secret' }, en.secret.replace(/(.{4})/g, '$1 ').trim()));
}

// recoveryList shows the recovery codes once, with a way to copy them.
function recoveryList(codes) {
  const list = h('ol', { class: 'tfa-recovery' }, codes.map((c) => h('li', {}, h('code', {}, c))));
  const copy = h('button', { type: 'button', class: 'btn btn-small', onclick: async () => {
    try { await navigator.clipboard.writeText(codes.join('\n')); toast('Recovery codes copied'); } catch { toast('Copy them by hand', 'error'); }
  } }, 'Copy');
  return h('div', { class: 'tfa-recovery-box' },
    h('p', {}, 'Recovery codes: each signs you in once if you lose your phone. Keep them somewhere safe — they are not shown again.'),
    list, copy);
}

// secondStep replaces the sign-in card with the second step for a
// challenge {two_factor: verify|setup, challenge}; onDone gets {user, token}.
export function secondStep(root, { api, challenge, onDone }) {
  const setup = challenge.two_factor === 'setup';
  const err = h('div', { class: 'form-error', role: 'alert' });
  const code = codeInput();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, setup ? 'Turn on and sign in' : 'Verify');
  const enrolBox = h('div', {}, setup ? h('p', { class: 'muted' }, 'Loading…') : null);
  const form = h('form', { class: 'auth-form tfa-form', novalidate: true },
    enrolBox,
    field(setup ? 'Code from your app' : 'Code from your authenticator app', code,
      setup ? 'Enter the 6-digit code the app shows.' : 'Or one of your recovery codes.'),
    err, submit);
  const card = h('div', { class: 'auth-card' },
    h('h1', {}, setup ? 'Set up two-factor sign-in' : 'Two-factor sign-in'),
    h('p', { class: 'muted' }, setup
      ? 'This server requires a second step at sign-in: a code from an authenticator app on your phone.'
      : 'Enter the code from your authenticator app.'),
    form);
  replace(root, h('main', { class: 'auth' }, card));
  if (setup) {
    api.setupSignIn(challenge.challenge)
      .then((en) => replace(enrolBox, enrolment(en)))
      .catch((e) => replace(enrolBox, h('div', { class: 'form-error', role: 'alert' }, errorText(e))));
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    if (!code.value.trim()) { err.textContent = 'Enter the code.'; code.focus(); return; }
    submit.disabled = true;
    try {
      const res = await api.finishSignIn(challenge.challenge, code.value.trim());
      if (res.recovery_codes?.length) {
        const go = h('button', { type: 'button', class: 'btn btn-primary btn-block', onclick: () => onDone(res) }, 'I have saved them — continue');
        replace(card, h('h1', {}, 'Two-factor sign-in is on'), recoveryList(res.recovery_codes), go);
        go.focus();
        return;
      }
      await onDone(res);
    } catch (ex) {
      err.textContent = ex.field === 'challenge' ? errorText(ex) + ' (reload to sign in again)' : errorText(ex);
      code.select();
      code.focus();
    } finally { submit.disabled = false; }
  });
  code.focus();
}

// twoFactorSection is the settings block: state, turn on (password → QR →
// code → recovery codes), new recovery codes and turn off (password + code).
export function twoFactorSection(ctx) {
  const { api } = ctx;
  const body = h('div', { class: 'tfa-settings' }, h('p', { class: 'muted' }, 'Loading…'));
  const box = h('fieldset', { class: 'field tfa-section' }, h('legend', {}, 'Two-factor sign-in'), body);
  const password = () => h('input', { type: 'password', name: 'tfa-password', class: 'tfa-password', autocomplete: 'current-password', maxlength: 256 });
  // step renders inputs and one action button; Enter in an input runs it
  // (this block sits inside the profile form, so it has no form of its own).
  const step = (inputs, label, run) => {
    const err = h('div', { class: 'form-error', role: 'alert' });
    const btn = h('button', { type: 'button', class: 'btn btn-primary tfa-action' }, label);
    const go = async () => {
      err.textContent = '';
      btn.disabled = true;
      try { await run(); } catch (e) { err.textContent = errorText(e); } finally { btn.disabled = false; }
    };
    btn.addEventListener('click', go);
    for (const [, i] of inputs) i.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); go(); } });
    return [inputs.map(([l, i, hint]) => field(l, i, hint)), err, h('div', { class: 'modal-actions' }, btn)];
  };
  const render = async () => {
    let st;
    try { st = await api.twoFactorStatus(); } catch (e) { replace(body, h('div', { class: 'form-error' }, errorText(e))); return; }
    if (!st.enabled) {
      const pw = password();
      replace(body,
        h('p', { class: 'tfa-state' }, 'Off. ', st.required ? 'This server requires it.' : 'Protect your account with a code from an authenticator app at sign-in.'),
        step([['Your password', pw]], 'Turn on…', async () => {
          const en = await api.beginTwoFactor(pw.value);
          const code = codeInput();
          replace(body, enrolment(en), step([['Code from your app', code, 'Enter the 6-digit code the app shows to finish.']], 'Confirm', async () => {
            const r = await api.confirmTwoFactor(code.value.trim());
            replace(body, h('p', { class: 'tfa-state' }, 'On.'), recoveryList(r.recovery_codes),
              h('button', { type: 'button', class: 'btn', onclick: render }, 'Done'));
            toast('Two-factor sign-in is on');
          }));
          code.focus();
        }));
      return;
    }
    const pw = password();
    const code = codeInput('Code or recovery code');
    const actions = step([['Your password', pw], ['Code from your app, or a recovery code', code]], 'New recovery codes', async () => {
      const r = await api.regenerateRecoveryCodes(pw.value, code.value.trim());
      replace(body, recoveryList(r.recovery_codes), h('button', { type: 'button', class: 'btn', onclick: render }, 'Done'));
    });
    const off = h('button', { type: 'button', class: 'btn btn-danger-ghost tfa-off', hidden: st.required }, 'Turn off');
    off.addEventListener('click', async () => {
      try { await api.disableTwoFactor(pw.value, code.value.trim()); toast('Two-factor sign-in is off'); render(); } catch (e) { actions[1].textContent = errorText(e); }
    });
    actions[2].prepend(off);
    replace(body, h('p', { class: 'tfa-state' }, `On. ${st.recovery_codes_left} recovery code${st.recovery_codes_left === 1 ? '' : 's'} left.`), actions);
  };
  render();
  return box;
}

// appPasswordsSection lists app passwords (for XMPP and MQTT apps, which
// cannot ask for a code), makes new ones (shown once) and revokes them.
export function appPasswordsSection(ctx) {
  const { api } = ctx;
  const listEl = h('ul', { class: 'session-list app-password-list', 'aria-label': 'App passwords' });
  const shown = h('div', { class: 'app-password-new', role: 'status' });
  const name = h('input', { name: 'app-password-name', maxlength: 64, placeholder: 'e.g. Conversations on my phone', autocomplete: 'off' });
  const pw = h('input', { type: 'password', name: 'app-password-password', autocomplete: 'current-password', maxlength: 256 });
  const err = h('div', { class: 'form-error', role: 'alert' });
  const btn = h('button', { type: 'button', class: 'btn app-password-create' }, 'Make app password');
  const load = async () => {
    try {
      const ps = await api.appPasswords();
      replace(listEl, ps.length ? ps.map((p) => h('li', { class: 'session-row', dataset: { appPassword: p.id } },
        h('span', { class: 'pick-text' }, h('span', { class: 'pick-name' }, p.name),
          h('span', { class: 'muted' }, p.last_used_at ? `last used ${ago(p.last_used_at)}` : 'never used')),
        h('button', { type: 'button', class: 'btn btn-small btn-danger-ghost', 'aria-label': 'Revoke ' + p.name,
          onclick: async () => { try { await api.revokeAppPassword(p.id); load(); } catch (e) { toast(errorText(e), 'error'); } } }, 'Revoke')))
        : h('li', { class: 'muted' }, 'None.'));
    } catch (e) { replace(listEl, h('li', { class: 'form-error' }, errorText(e))); }
  };
  const create = async () => {
    err.textContent = '';
    btn.disabled = true;
    try {
      const r = await api.createAppPassword(name.value.trim(), pw.value);
      replace(shown, h('p', {}, `App password for “${r.app_password.name}” — enter it in the app instead of your password. It is not shown again:`),
        h('code', { class: 'app-password-secret' }, r.password));
      name.value = '';
      pw.value = '';
      load();
    } catch (e) { err.textContent = errorText(e); } finally { btn.disabled = false; }
  };
  btn.addEventListener('click', create);
  for (const i of [name, pw]) i.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); create(); } });
  load();
  return h('fieldset', { class: 'field app-passwords' }, h('legend', {}, 'App passwords'),
    h('div', { class: 'hint' }, 'For XMPP and MQTT apps, which cannot ask for a two-factor code. A password change revokes them all.'),
    listEl, shown, field('Name', name), field('Your password', pw), err, h('div', { class: 'modal-actions' }, btn));
}
