// auth.js — the sign-in and registration screen.
import { h, replace } from '../dom.js';
import { field, errorText } from './ui.js';

export function renderAuth(root, { mode, api, onAuthed, nav }) {
  const isReg = mode === 'register';
  const err = h('div', { class: 'form-error', role: 'alert' });
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false', maxlength: 64 });
  const display = h('input', { name: 'display_name', autocomplete: 'name', maxlength: 100 });
  const password = h('input', { name: 'password', type: 'password', required: true, autocomplete: isReg ? 'new-password' : 'current-password', minlength: isReg ? 8 : undefined, maxlength: 1024 });
  const remember = h('input', { type: 'checkbox', name: 'remember', checked: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, isReg ? 'Create account' : 'Sign in');
  const form = h('form', { class: 'auth-form', novalidate: true },
    field('Username', username),
    isReg ? field('Display name (optional)', display) : null,
    field('Password', password, isReg ? 'At least 8 characters.' : null),
    h('label', { class: 'check' }, remember, ' Keep me signed in on this device'),
    err, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    if (!username.value.trim() || !password.value) { err.textContent = 'Enter a username and a password.'; return; }
    submit.disabled = true;
    try {
      const r = isReg
        ? await api.register(username.value.trim(), password.value, display.value.trim(), linkParams())
        : await api.login(username.value.trim(), password.value);
      await onAuthed(r.token, r.user, remember.checked);
    } catch (ex) {
      err.textContent = errorText(ex);
      if (ex.field === 'password') password.focus(); else username.focus();
    } finally { submit.disabled = false; }
  });
  const other = isReg
    ? h('p', { class: 'auth-switch' }, 'Already have an account? ', h('a', { href: '/login', onclick: (e) => { e.preventDefault(); nav('/login'); } }, 'Sign in'))
    : h('p', { class: 'auth-switch' }, 'New here? ', h('a', { href: '/register', onclick: (e) => { e.preventDefault(); nav('/register'); } }, 'Create an account'));
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
