// auth.js — the sign-in and registration screen.
import { h, replace } from '../dom.js';
import { field, errorText } from './ui.js';
import { secondStep } from './twofactor.js';
import { usernameProblem, passwordProblem, DISPLAY_NAME_MAX, PASSWORD_MIN, PASSWORD_MAX } from '../limits.js';

export function renderAuth(root, { mode, api, onAuthed, nav }) {
  const isReg = mode === 'register';
  const err = h('div', { class: 'form-error', role: 'alert' });
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false', maxlength: 64 });
  const display = h('input', { name: 'display_name', autocomplete: 'name', maxlength: DISPLAY_NAME_MAX });
  const email = h('input', { name: 'email', type: 'email', autocomplete: 'email', maxlength: 254 });
  // The organisation to join, by its short name (docs/organisations.md);
  // empty: the invite's, else the server's default one. /register?org=SLUG
  // fills it in.
  const organisation = h('input', { name: 'organisation', autocapitalize: 'none', spellcheck: 'false', maxlength: 32,
    value: new URLSearchParams(location.search).get('org') || '' });
  const password = h('input', { name: 'password', type: 'password', required: true, autocomplete: isReg ? 'new-password' : 'current-password', minlength: isReg ? PASSWORD_MIN : undefined, maxlength: PASSWORD_MAX });
  const remember = h('input', { type: 'checkbox', name: 'remember', checked: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, isReg ? 'Create account' : 'Sign in');
  const form = h('form', { class: 'auth-form', novalidate: true },
    field('Username', username),
    isReg ? field('Display name (optional)', display) : null,
    isReg ? field('Email address', email, 'For password resets. Some servers require it and send a link to confirm it.') : null,
    isReg ? field('Organisation (optional)', organisation, 'Its short name, if your organisation gave you one. Leave empty to join with your invite, or this server’s default organisation.') : null,
    field('Password', password, isReg ? `At least ${PASSWORD_MIN} characters.` : null),
    h('label', { class: 'check' }, remember, ' Keep me signed in on this device'),
    err, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    for (const i of [username, password]) fieldError(i, '');
    if (!username.value.trim() || !password.value) { err.textContent = 'Enter a username and a password.'; return; }
    // Registration checks the server's limits first, so a bad value is
    // named at its field instead of being sent.
    const bad = isReg && ([[username, usernameProblem(username.value.trim())], [password, passwordProblem(password.value)]].find(([, p]) => p));
    if (bad) { fieldError(bad[0], bad[1]); bad[0].focus(); return; }
    submit.disabled = true;
    try {
      const link = { ...linkParams(), ...(isReg && email.value.trim() ? { email: email.value.trim() } : {}),
        ...(isReg && organisation.value.trim() ? { organisation: organisation.value.trim() } : {}) };
      const r = isReg
        ? await api.register(username.value.trim(), password.value, display.value.trim(), link)
        : await api.login(username.value.trim(), password.value);
      if (r && r.verification_required) {
        replace(form, h('p', { class: 'auth-link-note', role: 'status', id: 'verify-note' },
          `Almost there: we sent a link to ${email.value.trim()}. Open it to confirm your address, then sign in.`));
        return;
      }
      if (r.two_factor) { secondStep(root, { api, challenge: r, onDone: (res) => onAuthed(res.token, res.user, remember.checked) }); return; }
      await onAuthed(r.token, r.user, remember.checked);
    } catch (ex) {
      // The server's typed refusal goes next to the field it names.
      const f = { username, password, display_name: display, email, organisation }[ex.field];
      if (f) fieldError(f, errorText(ex)); else err.textContent = errorText(ex);
      if (!isReg && ex.code === 'forbidden' && /confirm your email/.test(ex.message)) {
        err.append(' ', h('button', { type: 'button', class: 'btn btn-small', id: 'resend-verification', onclick: async () => {
          try { await api.resendVerification(username.value.trim()); err.textContent = 'A new link is on its way.'; } catch (e2) { err.textContent = errorText(e2); }
        } }, 'Send the link again'));
      }
      (f || username).focus();
    } finally { submit.disabled = false; }
  });
  const other = isReg
    ? h('p', { class: 'auth-switch' }, 'Already have an account? ', h('a', { href: '/login', onclick: (e) => { e.preventDefault(); nav('/login'); } }, 'Sign in'))
    : h('p', { class: 'auth-switch' }, 'New here? ', h('a', { href: '/register', onclick: (e) => { e.preventDefault(); nav('/register'); } }, 'Create an account'),
      ' · ', h('a', { href: '/reset-password', id: 'forgot-password', onclick: (e) => { e.preventDefault(); nav('/reset-password'); } }, 'Forgot your password?'));
  const q = linkParams();
  const linkNote = isReg && (q.setup || q.invite)
    ? h('p', { class: 'auth-link-note', role: 'note' }, q.setup ? 'This account will be the server’s first admin.' : 'You were invited: pick a username and a password.')
    : null;
  replace(root, h('main', { class: 'auth' },
    h('div', { class: 'auth-card' },
      h('div', { class: 'brand' }, h('img', { src: '/assets/icon.svg', alt: '', width: 48, height: 48 }), h('span', {}, 'Parley')),
      h('h1', {}, isReg ? 'Create your account' : 'Welcome back'),
      h('p', { class: 'muted' }, isReg ? 'Chat with your team on your own server.' : 'Sign in to continue to your conversations.'),
      linkNote, form, other)));
  username.focus();
}

// linkParams returns the invite code and setup token of an invite or
// first-admin link (/register?invite=CODE, /register?setup=TOKEN).
function linkParams() {
  const q = new URLSearchParams(location.search);
  const out = {};
  if (q.get('invite')) out.invite = q.get('invite');
  if (q.get('setup')) out.setup = q.get('setup');
  return out;
}

// fieldError shows msg (or clears it with '') under input, tied to it by
// aria-describedby and aria-invalid; typing in the field clears it.
function fieldError(input, msg) {
  const id = input.id + '-err';
  let el = document.getElementById(id);
  if (!el && msg) {
    el = h('div', { class: 'field-error', id, role: 'alert' });
    input.after(el);
    input.setAttribute('aria-describedby', [input.getAttribute('aria-describedby'), id].filter(Boolean).join(' '));
    input.addEventListener('input', () => fieldError(input, ''));
  }
  if (el) el.textContent = msg;
  if (msg) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
}
