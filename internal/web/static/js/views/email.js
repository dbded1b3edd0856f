// email.js — the pages that emailed links open (docs/notifications.md):
//   /verify-email?token=…    confirms the address;
//   /reset-password?token=…  sets a new password;
//   /reset-password          (no token) asks for a reset link.
// Every answer that could tell whether an account exists is the same.
import { h, replace } from '../dom.js';
import { field, errorText } from './ui.js';
import { passwordProblem, PASSWORD_MIN, PASSWORD_MAX } from '../limits.js';

function card(root, title, ...body) {
  replace(root, h('main', { class: 'auth' },
    h('div', { class: 'auth-card' },
      h('div', { class: 'brand' }, h('img', { src: '/assets/icon.svg', alt: '', width: 48, height: 48 }), h('span', {}, 'Parley')),
      h('h1', {}, title), ...body)));
}

function signInLink(nav) {
  return h('p', { class: 'auth-switch' }, h('a', { href: '/login', onclick: (e) => { e.preventDefault(); nav('/login'); } }, 'Go to sign in'));
}

// requestForm asks for a username or address and calls send(login).
function requestForm(label, button, send, done) {
  const login = h('input', { name: 'login', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', maxlength: 254, required: true });
  const err = h('div', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, button);
  const form = h('form', { class: 'auth-form', novalidate: true }, field(label, login), err, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    if (!login.value.trim()) { err.textContent = 'Enter your username or email address.'; return; }
    submit.disabled = true;
    try { await send(login.value.trim()); done(); } catch (ex) { err.textContent = errorText(ex); } finally { submit.disabled = false; }
  });
  return form;
}

export function renderEmailPage(root, { api, nav }) {
  const token = new URLSearchParams(location.search).get('token') || '';
  if (location.pathname === '/verify-email') {
    card(root, 'Confirming your address…', h('p', { class: 'muted', id: 'email-page-status' }, 'One moment.'));
    api.verifyEmail(token).then(
      () => card(root, 'Address confirmed', h('p', { class: 'muted', id: 'email-page-status' }, 'Thank you. You can sign in now.'), signInLink(nav)),
      (ex) => {
        const note = h('p', { class: 'muted', id: 'email-page-status' }, errorText(ex));
        const form = requestForm('Username or email address', 'Send a new link', (l) => api.resendVerification(l),
          () => replace(form, h('p', { class: 'muted' }, 'If that account has an unconfirmed address, a new link is on its way.')));
        card(root, 'This link did not work', note, form, signInLink(nav));
      });
    return;
  }
  if (!token) {
    const form = requestForm('Username or email address', 'Email me a link', (l) => api.requestReset(l),
      () => replace(form, h('p', { class: 'muted', id: 'email-page-status' }, 'If an account matches, a link to choose a new password is on its way. It works for 30 minutes.')));
    card(root, 'Forgot your password?', h('p', { class: 'muted' }, 'We will email you a link to choose a new one.'), form, signInLink(nav));
    return;
  }
  const pw = h('input', { name: 'password', type: 'password', autocomplete: 'new-password', minlength: PASSWORD_MIN, maxlength: PASSWORD_MAX, required: true });
  const again = h('input', { name: 'password2', type: 'password', autocomplete: 'new-password', maxlength: PASSWORD_MAX, required: true });
  const err = h('div', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Set password');
  const form = h('form', { class: 'auth-form', novalidate: true },
    field('New password', pw, `At least ${PASSWORD_MIN} characters.`), field('New password again', again), err, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = passwordProblem(pw.value) || (pw.value !== again.value ? 'The two passwords differ.' : '');
    if (err.textContent) return;
    submit.disabled = true;
    try {
      await api.confirmReset(token, pw.value);
      card(root, 'Password changed', h('p', { class: 'muted', id: 'email-page-status' }, 'You were signed out everywhere. Sign in with the new password.'), signInLink(nav));
    } catch (ex) { err.textContent = errorText(ex); } finally { submit.disabled = false; }
  });
  card(root, 'Choose a new password', form, signInLink(nav));
  pw.focus();
}
