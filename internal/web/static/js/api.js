// api.js — the REST client for /api/v1 (see /api/v1/openapi.json).
// Every failure is an ApiError carrying the server's stable error code.

export class ApiError extends Error {
  constructor(status, err = {}) {
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || (status === 0 ? 'network' : 'internal');
    this.field = err.field;
    this.retryAfter = err.retry_after;
  }
}

// list pulls the array out of a list response, whatever its envelope key.
export function list(r, ...keys) {
  if (Array.isArray(r)) return r;
  for (const k of [...keys, 'items', 'data']) if (Array.isArray(r?.[k])) return r[k];
  return [];
}

const enc = encodeURIComponent;

// retriable: worth trying again after a pause (no answer, the server busy
// or failing, or a part at an offset the server did not expect).
function retriable(e) { return e.status === 0 || e.status === 409 || e.status === 429 || e.status >= 500; }

// cancelled is the error of a request that the session's end aborted.
// It is quiet: errorText gives '' for it, so nobody shows it.
function cancelled() { return Object.assign(new ApiError(0, { code: 'aborted', message: 'Cancelled: signed out' }), { quiet: true }); }

// unreached is the error of a request that got no answer: cancelled if the
// session's signal aborted it, otherwise the network's.
function unreached(signal) {
  return signal.aborted ? cancelled() : new ApiError(0, { code: 'network', message: 'Cannot reach the server' });
}

// sleep waits ms, rejecting with an 'aborted' ApiError if signal aborts.
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { signal?.removeEventListener('abort', stop); resolve(); }, ms);
    const stop = () => { clearTimeout(t); reject(new ApiError(0, { code: 'aborted', message: 'Upload cancelled' })); };
    signal?.addEventListener('abort', stop, { once: true });
  });
}

export class Api {
  constructor(base = '', fetchImpl = globalThis.fetch.bind(globalThis)) {
    this.base = base;
    this.fetch = fetchImpl;
    this.token = '';
    this.onUnauthenticated = null;
    // Every request of the signed-in session carries this signal: endSession
    // aborts those still in flight, whose answers would otherwise be 401s once
    // the token is revoked.
    this.session = new AbortController();
    // Resumable uploads (tests lower these).
    this.resumableThreshold = 8 << 20; // bytes; larger files upload in parts
    this.partSize = 8 << 20; // bytes per part (the server takes up to 16 MiB)
    this.partRetries = 8; // failed parts in a row before giving up
    this.retryBase = 500; // ms, doubled per failure in a row
  }

  // endSession ends the signed-in session on this side: requests in flight
  // reject with an ApiError coded 'aborted' (which errorText leaves unshown),
  // later ones go without the token. Returns the token, for logout.
  endSession() {
    const token = this.token;
    this.token = '';
    this.session.abort();
    this.session = new AbortController();
    return token;
  }

  // req sends a JSON request with the session's token (or token, when given).
  async req(method, path, body, query, token = this.token) {
    let url = this.base + '/api/v1' + path;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
      const s = q.toString();
      if (s) url += '?' + s;
    }
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const { signal } = this.session;
    let res;
    try {
      res = await this.fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
    } catch {
      throw unreached(signal);
    }
    if (res.status === 204) return null;
    let data = null;
    let text;
    try { text = await res.text(); } catch { throw unreached(signal); }
    if (text) { try { data = JSON.parse(text); } catch { data = null; } }
    if (!res.ok) {
      const err = new ApiError(res.status, data?.error || { message: res.statusText });
      if (res.status === 401 && token && token === this.token && this.onUnauthenticated) this.onUnauthenticated(err);
      throw err;
    }
    return data;
  }

  // raw sends a non-JSON body (a file) and decodes the JSON answer.
  async raw(method, path, body, contentType) {
    const headers = { Accept: 'application/json', 'Content-Type': contentType || 'application/octet-stream' };
    if (this.token) headers.Authorization = 'Bearer ' + this.token;
    const { signal } = this.session;
    let res;
    try { res = await this.fetch(this.base + '/api/v1' + path, { method, headers, body, signal }); } catch {
      throw unreached(signal);
    }
    const data = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, data?.error || { message: res.statusText });
    return data;
  }

  // blob downloads an authenticated resource (a file, a thumbnail).
  async blob(path) {
    const { signal } = this.session;
    let res;
    try { res = await this.fetch(this.base + '/api/v1' + path, { headers: { Authorization: 'Bearer ' + this.token }, signal }); } catch {
      throw unreached(signal);
    }
    if (!res.ok) throw new ApiError(res.status, (await res.json().catch(() => null))?.error || {});
    return res.blob();
  }

  // upload stores a file as an unsent attachment; its id goes in
  // attachment_ids. Files over resumableThreshold go through the resumable
  // API (uploadResumable), smaller ones in one request. Both use
  // XMLHttpRequest (fetch reports no upload progress): onprogress(loaded,
  // total) follows the bytes; aborting signal cancels and rejects with an
  // ApiError coded 'aborted'.
  upload(file, { onprogress, signal } = {}) {
    if (file.size > this.resumableThreshold) return this.uploadResumable(file, { onprogress, signal });
    return this.xhr('POST', '/attachments?name=' + enc(file.name || 'file'), file, { onprogress, signal, contentType: file.type })
      .then((data) => data?.attachment ?? data);
  }

  // uploadResumable: POST /uploads, then PUT parts of partSize bytes at
  // ?offset=<received>, then POST /uploads/{id}/complete. When a part fails
  // (network, 5xx, 409, 429) it waits (exponential backoff with jitter,
  // at most partRetries times in a row), asks GET /uploads/{id} where the
  // server stands and continues from its offset. Cancelling, or giving up,
  // deletes the upload (DELETE /uploads/{id}).
  async uploadResumable(file, { onprogress, signal } = {}) {
    const aborted = () => new ApiError(0, { code: 'aborted', message: 'Upload cancelled' });
    if (signal?.aborted) throw aborted();
    const up = await this.req('POST', '/uploads', { name: file.name || 'file', size: file.size });
    const path = `/uploads/${enc(up.id)}`;
    let offset = up.received || 0;
    try {
      let failures = 0;
      while (offset < file.size) {
        if (signal?.aborted) throw aborted();
        const at = offset;
        const part = file.slice(at, Math.min(file.size, at + this.partSize));
        try {
          const r = await this.xhr('PUT', `${path}?offset=${at}`, part, { signal, onprogress: onprogress && ((l) => onprogress(at + l, file.size)) });
          offset = r.received;
          failures = 0;
          onprogress?.(offset, file.size);
        } catch (e) {
          if (e.code === 'aborted' || !retriable(e) || ++failures > this.partRetries) throw e;
          await sleep(Math.min(15000, this.retryBase * 2 ** (failures - 1)) * (0.5 + Math.random() / 2), signal);
          try { offset = (await this.req('GET', path)).received; } catch (e2) { if (!retriable(e2)) throw e2; }
        }
      }
      if (signal?.aborted) throw aborted();
      const att = await this.req('POST', `${path}/complete`);
      return att?.attachment ?? att;
    } catch (e) {
      this.req('DELETE', path).catch(() => {});
      throw e;
    }
  }

  // xhr sends body with XMLHttpRequest and decodes the JSON answer.
  xhr(method, path, body, { onprogress, signal, contentType } = {}) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) { reject(new ApiError(0, { code: 'aborted', message: 'Upload cancelled' })); return; }
      const xhr = new XMLHttpRequest();
      xhr.open(method, this.base + '/api/v1' + path);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.setRequestHeader('Content-Type', contentType || 'application/octet-stream');
      if (this.token) xhr.setRequestHeader('Authorization', 'Bearer ' + this.token);
      if (onprogress) xhr.upload.onprogress = (e) => onprogress(e.loaded, e.lengthComputable ? e.total : body.size);
      const onabort = () => xhr.abort();
      const session = this.session.signal;
      signal?.addEventListener('abort', onabort, { once: true });
      session.addEventListener('abort', onabort, { once: true });
      const done = () => { signal?.removeEventListener('abort', onabort); session.removeEventListener('abort', onabort); };
      xhr.onload = () => {
        done();
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch { data = null; }
        if (xhr.status >= 200 && xhr.status < 300) { resolve(data); return; }
        const err = new ApiError(xhr.status, data?.error || { message: xhr.statusText });
        if (xhr.status === 401 && this.token && this.onUnauthenticated) this.onUnauthenticated(err);
        reject(err);
      };
      xhr.onerror = () => { done(); reject(unreached(session)); };
      xhr.ontimeout = xhr.onerror;
      xhr.onabort = () => { done(); reject(session.aborted ? cancelled() : new ApiError(0, { code: 'aborted', message: 'Upload cancelled' })); };
      xhr.send(body);
    });
  }

  // Accounts
  register(username, password, displayName, link) {
    return this.req('POST', '/auth/register', { username, password, ...(displayName ? { display_name: displayName } : {}), ...(link || {}) });
  }
  login(username, password) { return this.req('POST', '/auth/login', { username, password }); }
  // logout revokes token (by default the session's own) on the server.
  logout(token = this.token) { return this.req('POST', '/auth/logout', undefined, undefined, token); }
  // Two-factor sign-in (docs/twofactor.md): login/register may answer
  // {two_factor, challenge} instead of {user, token}.
  finishSignIn(challenge, code) { return this.req('POST', '/auth/login/2fa', { challenge, code }); }
  setupSignIn(challenge) { return this.req('POST', '/auth/login/2fa/setup', { challenge }); }
  twoFactorStatus() { return this.req('GET', '/me/2fa'); }
  beginTwoFactor(password) { return this.req('POST', '/me/2fa/setup', { password }); }
  confirmTwoFactor(code) { return this.req('POST', '/me/2fa/confirm', { code }); }
  disableTwoFactor(password, code) { return this.req('POST', '/me/2fa/disable', { password, code }); }
  regenerateRecoveryCodes(password, code) { return this.req('POST', '/me/2fa/recovery-codes', { password, code }); }
  async appPasswords() { return list(await this.req('GET', '/me/app-passwords'), 'app_passwords'); }
  createAppPassword(name, password) { return this.req('POST', '/me/app-passwords', { name, password }); }
  revokeAppPassword(id) { return this.req('DELETE', `/me/app-passwords/${enc(id)}`); }
  // command runs a slash command "/name text" (docs/bots.md); the bot's answer arrives as a message.
  command(id, command, text) { return this.req('POST', `/conversations/${enc(id)}/commands`, { command, text }); }
  async me() { const r = await this.req('GET', '/me'); return r?.user ?? r; }
  async updateMe(patch) { const r = await this.req('PATCH', '/me', patch); return r?.user ?? r; }
  async sessions() { return list(await this.req('GET', '/me/sessions'), 'sessions'); }
  revokeSession(id) { return this.req('DELETE', `/me/sessions/${enc(id)}`); }
  async searchUsers(prefix, limit = 10) { return list(await this.req('GET', '/users', undefined, { prefix, limit }), 'users'); }
  async user(id) { const r = await this.req('GET', `/users/${enc(id)}`); return r?.user ?? r; }
  // users looks up to 100 users by id in one call; unknown ids are absent.
  async users(ids) { return list(await this.req('GET', '/users', undefined, { ids: ids.join(',') }), 'users'); }

  // Email links (docs/notifications.md, "Email").
  verifyEmail(token) { return this.req('POST', '/auth/verify-email', { token }); }
  resendVerification(login) { return this.req('POST', '/auth/verify-email/resend', { login }); }
  requestReset(login) { return this.req('POST', '/auth/password-reset', { login }); }
  confirmReset(token, password) { return this.req('POST', '/auth/password-reset/confirm', { token, password }); }
  emailStatus() { return this.req('GET', '/me/email'); }

  // Notifications (docs/notifications.md) and Web Push (push.js).
  notifyPrefs() { return this.req('GET', '/me/notifications'); }
  setNotifyPrefs(p) { return this.req('PUT', '/me/notifications', p); }
  vapidKey() { return this.req('GET', '/push/vapid-key'); }
  addPushSubscription(sub) { return this.req('POST', '/push/subscriptions', sub); }
  deletePushSubscription(id) { return this.req('DELETE', `/push/subscriptions/${enc(id)}`); }

  // Pictures (see avatars.js): which users have one, and setting one.
  avatars(ids) { return this.req('GET', '/avatars', undefined, { user_ids: ids.join(',') }); }
  setMyAvatar(file) { return this.raw('PUT', '/me/avatar', file, file.type); }
  async setConversationAvatar(id, file) { const r = await this.raw('PUT', `/conversations/${enc(id)}/avatar`, file, file.type); return r?.conversation ?? r; }

  // Conversations
  conversations(cursor) { return this.req('GET', '/conversations', undefined, { cursor, limit: 100 }); }
  async conversation(id) { const r = await this.req('GET', `/conversations/${enc(id)}`); return r?.conversation ? { ...r, ...r.conversation } : r; }
  async createConversation(input) { const r = await this.req('POST', '/conversations', input); return r?.conversation ? { ...r, ...r.conversation } : r; }
  async updateConversation(id, patch) { const r = await this.req('PATCH', `/conversations/${enc(id)}`, patch); return r?.conversation ?? r; }
  async members(id) { return list(await this.req('GET', `/conversations/${enc(id)}/members`, undefined, { limit: 200 }), 'members'); }
  addMembers(id, userIds) { return this.req('POST', `/conversations/${enc(id)}/members`, { user_ids: userIds }); }
  removeMember(id, userId) { return this.req('DELETE', `/conversations/${enc(id)}/members/${enc(userId)}`); }
  async publicChannels(q) { return list(await this.req('GET', '/channels', undefined, { q, limit: 50 }), 'channels', 'conversations'); }
  // join adds the caller to a public channel (POST members with their own id).
  join(id, myId) { return this.addMembers(id, [myId]); }
  // setMemberSettings changes the caller's own membership flags (muted, pinned, archived).
  setMemberSettings(id, patch) { return this.req('PATCH', `/conversations/${enc(id)}/members/me`, patch); }

  // Messages
  // messages pages history: before=<seq> gives the page below it, newest
  // first; after=<seq> the page above it, oldest first; neither: the newest
  // page, newest first (the server's default).
  async messages(id, { before, after, limit = 50 } = {}) {
    return list(await this.req('GET', `/conversations/${enc(id)}/messages`, undefined, { before, after, limit }), 'messages');
  }
  // messagesAround is the context of seq: up to limit messages around it, oldest first.
  async messagesAround(id, seq, limit = 100) {
    return list(await this.req('GET', `/conversations/${enc(id)}/messages/${seq}/context`, undefined, { limit }), 'messages');
  }
  async message(id, seq) { const r = await this.req('GET', `/conversations/${enc(id)}/messages/${seq}`); return r?.message ?? r; }
  async send(id, clientMsgId, body, replyTo, attachmentIds) {
    const r = await this.req('POST', `/conversations/${enc(id)}/messages`, {
      client_msg_id: clientMsgId, body, ...(replyTo ? { reply_to: replyTo } : {}),
      ...(attachmentIds?.length ? { attachment_ids: attachmentIds } : {}),
    });
    return r?.message ?? r;
  }
  async edit(id, seq, body) { const r = await this.req('PATCH', `/conversations/${enc(id)}/messages/${seq}`, { body }); return r?.message ?? r; }
  async remove(id, seq) { const r = await this.req('DELETE', `/conversations/${enc(id)}/messages/${seq}`); return r?.message ?? r; }
  react(id, seq, emoji) { return this.req('PUT', `/conversations/${enc(id)}/messages/${seq}/reactions/${enc(emoji)}`); }
  unreact(id, seq, emoji) { return this.req('DELETE', `/conversations/${enc(id)}/messages/${seq}/reactions/${enc(emoji)}`); }
  markRead(id, seq) { return this.req('POST', `/conversations/${enc(id)}/read`, { seq }); }
}
