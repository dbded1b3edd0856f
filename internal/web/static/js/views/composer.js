// composer.js — the message box: Enter sends, Shift+Enter adds a line, Up
// edits the last own message, Escape cancels a reply or edit, @ opens member
// autocompletion, and typing notifications are throttled.
import { h, icon, iconButton, replace } from '../dom.js';
import { picker } from '../emoji.js';
import { avatar, toast, errorText } from './ui.js';

const TYPING_EVERY = 3000;

export function composer(ctx, id, { onSent }) {
  const { store } = ctx;
  const maxLen = () => ctx.limits?.max_message_chars || ctx.limits?.max_message || 4000;
  const mode = { kind: 'new', msg: null };
  // In an end-to-end encrypted conversation (docs/e2ee.md) the text and
  // files are encrypted here; the server only sees ciphertext.
  const encrypted = () => !!store.convs.get(id)?.encrypted;
  let lastTyping = 0;
  let mention = null; // {start, query, items, index}

  const ta = h('textarea', { class: 'input', rows: '1', placeholder: 'Write a message…', 'aria-label': 'Message', enterkeyhint: 'send', autocomplete: 'off' });
  const bar = h('div', { class: 'compose-bar', hidden: true });
  const counter = h('span', { class: 'counter', 'aria-live': 'polite' });
  const list = h('ul', { class: 'mention-list', role: 'listbox', id: 'mention-list-' + id, 'aria-label': 'Mention suggestions', hidden: true });
  ta.setAttribute('aria-controls', list.id);
  ta.setAttribute('aria-autocomplete', 'list');
  const sendBtn = h('button', { type: 'submit', class: 'send-btn', 'aria-label': 'Send', title: 'Send (Enter)' }, icon('send'));
  const emojiBtn = iconButton('smile', 'Insert emoji', () => toggleEmoji(), 'emoji-btn');
  const fileInput = h('input', { type: 'file', multiple: true, hidden: true, tabindex: '-1', 'aria-label': 'Files to attach' });
  const attachBtn = iconButton('paperclip', 'Attach files', () => fileInput.click(), 'attach-btn');
  const filesEl = h('ul', { class: 'compose-files', 'aria-label': 'Attachments', hidden: true });
  const files = []; // {file, att, error, uploading}
  let pickerEl = null;
  const form = h('form', { class: 'composer', 'aria-label': 'Send a message' }, bar, filesEl, list,
    h('div', { class: 'compose-row' }, emojiBtn, attachBtn, fileInput, ta, sendBtn), counter);

  // Attachments upload as soon as they are picked, pasted or dropped (in
  // parallel, each with its own progress bar and cancel button); the message
  // then references them by id. Cancelling aborts the upload and drops the
  // chip, so nothing is sent for it.
  function addFiles(list) {
    for (const file of list) {
      const item = { file, uploading: true, loaded: 0, total: file.size || 0, ctl: new AbortController() };
      files.push(item);
      item.el = chip(item);
      filesEl.append(item.el);
      filesEl.hidden = false;
      const opts = { signal: item.ctl.signal, onprogress: (loaded, total) => { item.loaded = loaded; item.total = total; updateChip(item); } };
      (encrypted() ? ctx.e2ee.encryptFile(file, opts) : ctx.api.upload(file, opts))
        .then((att) => { item.att = att; item.loaded = item.total; })
        .catch((e) => {
          if (e?.code === 'aborted' || !files.includes(item)) return;
          item.error = errorText(e);
          toast(`${file.name}: ${item.error}`, 'error');
        })
        .finally(() => { item.uploading = false; updateChip(item); });
    }
  }
  function removeFile(f) {
    const i = files.indexOf(f);
    if (i >= 0) files.splice(i, 1);
    f.ctl.abort();
    f.el?.remove();
    filesEl.hidden = !files.length;
  }
  function chip(f) {
    const name = f.file.name || 'file';
    f.iconEl = h('span', { class: 'file-chip-icon' });
    f.bar = h('progress', { class: 'file-progress', max: '100', value: '0', 'aria-label': 'Upload of ' + name });
    f.status = h('span', { class: 'file-status muted', 'aria-live': 'polite' });
    f.btn = iconButton('x', 'Cancel upload of ' + name, () => removeFile(f), 'file-cancel');
    const el = h('li', { class: 'file-chip' }, f.iconEl, h('span', { class: 'file-chip-main' }, h('span', { class: 'att-name' }, name), f.bar, f.status), f.btn);
    updateChip(f, el);
    return el;
  }
  // updateChip shows an item's state: uploading (percent), uploaded, or the
  // failure message; the chip's data-state is uploading|done|error.
  function updateChip(f, el = f.el) {
    if (!el) return;
    const name = f.file.name || 'file';
    const state = f.uploading ? 'uploading' : f.error ? 'error' : 'done';
    const pct = f.total > 0 ? Math.min(100, Math.round(f.loaded * 100 / f.total)) : 0;
    el.dataset.state = state;
    el.classList.toggle('error', state === 'error');
    f.bar.value = state === 'done' ? 100 : pct;
    f.bar.hidden = state === 'error';
    f.status.textContent = state === 'uploading' ? `Uploading… ${pct}%` : state === 'error' ? 'Upload failed: ' + f.error : 'Uploaded';
    f.status.title = state === 'error' ? f.error : '';
    const ic = icon(state === 'error' ? 'alert' : 'file');
    replace(f.iconEl, ic);
    const label = (state === 'uploading' ? 'Cancel upload of ' : 'Remove ') + name;
    f.btn.setAttribute('aria-label', label);
    f.btn.title = label;
  }
  function renderFiles() {
    filesEl.hidden = !files.length;
    replace(filesEl, files.map((f) => f.el));
  }
  fileInput.addEventListener('change', () => { addFiles([...fileInput.files]); fileInput.value = ''; });
  ta.addEventListener('paste', (e) => {
    const fs = [...(e.clipboardData?.files || [])];
    if (fs.length) { e.preventDefault(); addFiles(fs); }
  });
  form.addEventListener('dragover', (e) => { if (e.dataTransfer?.types?.includes('Files')) e.preventDefault(); });
  form.addEventListener('drop', (e) => {
    if (!e.dataTransfer?.files?.length) return;
    e.preventDefault();
    addFiles([...e.dataTransfer.files]);
  });

  function toggleEmoji() {
    if (pickerEl) { closeEmoji(); return; }
    pickerEl = picker((e) => { insert(e); closeEmoji(); ta.focus(); }, () => { closeEmoji(); ta.focus(); }, 'Insert emoji');
    pickerEl.classList.add('composer-picker');
    form.append(pickerEl);
    pickerEl.focusFirst();
  }
  function closeEmoji() { pickerEl?.remove(); pickerEl = null; }
  document.addEventListener('mousedown', (e) => { if (pickerEl && !pickerEl.contains(e.target) && !emojiBtn.contains(e.target)) closeEmoji(); });

  function insert(text) {
    const s = ta.selectionStart ?? ta.value.length;
    const e = ta.selectionEnd ?? ta.value.length;
    ta.setRangeText(text, s, e, 'end');
    onInput();
  }

  function setMode(kind, msg) {
    mode.kind = kind;
    mode.msg = msg;
    if (kind === 'new') { bar.hidden = true; replace(bar); return; }
    bar.hidden = false;
    const label = kind === 'edit' ? 'Editing message' : 'Replying to ' + store.displayName(msg.sender_id);
    replace(bar, icon(kind === 'edit' ? 'edit' : 'reply'),
      h('div', { class: 'compose-bar-text' }, h('strong', {}, label), h('span', { class: 'muted' }, (msg.body || '').slice(0, 140))),
      iconButton('x', kind === 'edit' ? 'Cancel edit' : 'Cancel reply', () => cancel()));
  }
  function cancel() {
    if (mode.kind === 'edit') ta.value = '';
    setMode('new');
    autosize();
    ta.focus();
  }

  function autosize() {
    ta.style.height = 'auto';
    ta.style.height = Math.min(ta.scrollHeight, 200) + 'px';
    const n = [...ta.value].length;
    const max = maxLen();
    counter.textContent = n > max * 0.8 ? `${n} / ${max}` : '';
    counter.classList.toggle('over', n > max);
  }

  function onInput() {
    autosize();
    const now = Date.now();
    if (ta.value.trim() && mode.kind !== 'edit' && now - lastTyping > TYPING_EVERY) {
      lastTyping = now;
      ctx.rt.typing(id);
    }
    updateMention();
  }

  // Mentions ----------------------------------------------------------------
  function candidates(q) {
    const c = store.convs.get(id);
    const ids = c?.members ? [...c.members.keys()] : [];
    const ql = q.toLowerCase();
    return ids.map((u) => store.user(u)).filter((u) => u && u.id !== store.me.id &&
      (u.username.toLowerCase().startsWith(ql) || (u.display_name || '').toLowerCase().split(/\s+/).some((p) => p.startsWith(ql)))).slice(0, 8);
  }
  function updateMention() {
    const pos = ta.selectionStart;
    const before = ta.value.slice(0, pos);
    const m = /(^|\s)@([\w.-]{0,64})$/.exec(before);
    if (!m) { closeMention(); return; }
    const items = candidates(m[2]);
    if (!items.length) { closeMention(); return; }
    mention = { start: pos - m[2].length - 1, items, index: 0 };
    renderMention();
  }
  function renderMention() {
    list.hidden = false;
    ta.setAttribute('aria-expanded', 'true');
    replace(list, mention.items.map((u, i) => h('li', {
      role: 'option', id: `mo-${id}-${i}`, class: 'mention-opt' + (i === mention.index ? ' active' : ''), 'aria-selected': String(i === mention.index),
      onmousedown: (e) => { e.preventDefault(); mention.index = i; pickMention(); },
    }, avatar(store, u, { size: 'xs' }), h('span', { class: 'mo-name' }, u.display_name || u.username), h('span', { class: 'muted' }, '@' + u.username))));
    ta.setAttribute('aria-activedescendant', `mo-${id}-${mention.index}`);
  }
  function closeMention() {
    mention = null;
    list.hidden = true;
    ta.setAttribute('aria-expanded', 'false');
    ta.removeAttribute('aria-activedescendant');
  }
  function pickMention() {
    const u = mention.items[mention.index];
    const pos = ta.selectionStart;
    ta.setRangeText('@' + u.username + ' ', mention.start, pos, 'end');
    closeMention();
    autosize();
  }

  // Sending -------------------------------------------------------------------
  async function submit() {
    const body = ta.value.replace(/\s+$/, '').replace(/^\n+/, '');
    const ready = mode.kind === 'edit' ? [] : files.filter((f) => f.att).map((f) => f.att);
    if (mode.kind !== 'edit' && files.some((f) => f.uploading)) { toast('Wait for the uploads to finish.', 'error'); return; }
    if (!body.trim() && !ready.length) return;
    if ([...body].length > maxLen()) { toast(`Messages are limited to ${maxLen()} characters.`, 'error'); return; }
    if (mode.kind === 'edit') {
      const m = mode.msg;
      if (body === m.body) { cancel(); return; }
      try {
        const updated = encrypted() ? await ctx.e2ee.edit(store.convs.get(id), m, body) : await ctx.api.edit(id, m.seq, body);
        if (updated?.seq) store.addMessages([updated]);
        ta.value = '';
        setMode('new');
        autosize();
      } catch (e) { toast(errorText(e), 'error'); }
      return;
    }
    // "/name text": a slash command for the bot @name (docs/bots.md); "//…" sends a message starting with "/".
    const cmd = !ready.length && !encrypted() && /^\/([A-Za-z0-9][A-Za-z0-9_.-]{1,30}[A-Za-z0-9])(?:\s+([\s\S]*))?$/.exec(body);
    if (cmd) {
      ta.value = '';
      autosize();
      try {
        const r = await ctx.api.command(id, cmd[1], cmd[2] || '');
        if (r?.message) store.addMessages([r.message]);
      } catch (e) { ta.value = body; autosize(); toast(errorText(e), 'error'); }
      return;
    }
    const replyTo = mode.kind === 'reply' ? mode.msg.seq : undefined;
    const text = body.startsWith('//') ? body.slice(1) : body;
    if (encrypted()) {
      const keep = [...files];
      ctx.e2ee.send(ctx.rt, store.convs.get(id), text, replyTo, ready).catch((e) => {
        if (!ta.value) { ta.value = body; autosize(); }
        if (!files.length) { files.push(...keep); renderFiles(); }
        toast('Not sent: could not encrypt: ' + (e.message || errorText(e)), 'error');
      });
    } else ctx.rt.send(id, text, replyTo, ready);
    files.length = 0;
    renderFiles();
    ta.value = '';
    lastTyping = 0;
    setMode('new');
    autosize();
    onSent?.();
  }

  form.addEventListener('submit', (e) => { e.preventDefault(); submit(); ta.focus(); });
  ta.addEventListener('input', onInput);
  ta.addEventListener('click', updateMention);
  ta.addEventListener('blur', () => closeMention());
  ta.addEventListener('keydown', (e) => {
    if (mention) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = mention.items.length;
        mention.index = (mention.index + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
        renderMention();
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') { e.preventDefault(); pickMention(); return; }
      if (e.key === 'Escape') { e.preventDefault(); closeMention(); return; }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !e.altKey) {
      e.preventDefault();
      submit();
      return;
    }
    if (e.key === 'Escape' && mode.kind !== 'new') { e.preventDefault(); cancel(); return; }
    if (e.key === 'ArrowUp' && !ta.value && mode.kind === 'new') {
      const w = store.win(id);
      for (let i = w.seqs.length - 1; i >= 0; i--) {
        const m = w.bySeq.get(w.seqs[i]);
        if (m.sender_id === store.me.id && m.kind !== 'system' && !m.deleted) { e.preventDefault(); startEdit(m); return; }
      }
    }
  });

  function startEdit(m) {
    setMode('edit', m);
    ta.value = m.body;
    autosize();
    ta.focus();
    ta.setSelectionRange(ta.value.length, ta.value.length);
  }
  function startReply(m) {
    if (mode.kind === 'edit') ta.value = '';
    setMode('reply', m);
    ta.focus();
  }

  // Drafts survive switching conversations.
  ta.value = ctx.drafts.get(id) || '';
  queueMicrotask(autosize);

  return {
    el: form,
    focus: () => ta.focus(),
    addFiles,
    startEdit,
    startReply,
    destroy() { if (ta.value && mode.kind !== 'edit') ctx.drafts.set(id, ta.value); else ctx.drafts.delete(id); closeEmoji(); },
  };
}
