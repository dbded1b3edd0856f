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

export class Api {
  constructor(base = '', fetchImpl = globalThis.fetch.bind(globalThis)) {
    this.base = base;
    this.fetch = fetchImpl;
    this.token = '';
    this.onUnauthenticated = null;
  }

  async req(method, path, body, query) {
    let url = this.base + '/api/v1' + path;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
      const s = q.toString();
      if (s) url += '?' + s;
    }
    const headers = { Accept: 'application/json' };
    if (this.token) headers.Authorization = 'Bearer ' + this.token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await this.fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError(0, { code: 'network', message: 'Cannot reach the server' });
    }
    if (res.status === 204) return null;
    let data = null;
    const text = await res.text();
    if (text) { try { data = JSON.parse(text); } catch { data = null; } }
    if (!res.ok) {
      const err = new ApiError(res.status, data?.error || { message: res.statusText });
      if (res.status === 401 && this.token && this.onUnauthenticated) this.onUnauthenticated(err);
      throw err;
    }
    return data;
  }

  // raw sends a non-JSON body (a file) and decodes the JSON answer.
  async raw(method, path, body, contentType) {
    const headers = { Accept: 'application/json', 'Content-Type': contentType || 'application/octet-stream' };
    if (this.token) headers.Authorization = 'Bearer ' + this.token;
    let res;
    try { res = await this.fetch(this.base + '/api/v1' + path, { method, headers, body }); } catch {
      throw new ApiError(0, { code: 'network', message: 'Cannot reach the server' });
    }
    const data = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, data?.error || { message: res.statusText });
    return data;
  }

  // blob downloads an authenticated resource (a file, a thumbnail).
  async blob(path) {
    let res;
    try { res = await this.fetch(this.base + '/api/v1' + path, { headers: { Authorization: 'Bearer ' + this.token } }); } catch {
      throw new ApiError(0, { code: 'network', message: 'Cannot reach the server' });
    }
    if (!res.ok) throw new ApiError(res.status, (await res.json().catch(() => null))?.error || {});
    return res.blob();
  }

  // upload stores a file as an unsent attachment; its id goes in
  // attachment_ids. It uses XMLHttpRequest (fetch reports no upload
  // progress): onprogress(loaded, total) follows the body; aborting signal
  // cancels the request and rejects with an ApiError coded 'aborted'.
  upload(file, { onprogress, signal } = {}) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) { reject(new ApiError(0, { code: 'aborted', message: 'Upload cancelled' })); return; }
      const xhr = new XMLHttpRequest();
      xhr.open('POST', this.base + '/api/v1/attachments?name=' + enc(file.name || 'file'));
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
      if (this.token) xhr.setRequestHeader('Authorization', 'Bearer ' + this.token);
      if (onprogress) xhr.upload.onprogress = (e) => onprogress(e.loaded, e.lengthComputable ? e.total : file.size);
      const onabort = () => xhr.abort();
      signal?.addEventListener('abort', onabort, { once: true });
      const done = () => signal?.removeEventListener('abort', onabort);
      xhr.onload = () => {
        done();
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch { data = null; }
        if (xhr.status >= 200 && xhr.status < 300) { resolve(data?.attachment ?? data); return; }
        const err = new ApiError(xhr.status, data?.error || { message: xhr.statusText });
        if (xhr.status === 401 && this.token && this.onUnauthenticated) this.onUnauthenticated(err);
        reject(err);
      };
      xhr.onerror = () => { done(); reject(new ApiError(0, { code: 'network', message: 'Cannot reach the server' })); };
      xhr.ontimeout = xhr.onerror;
      xhr.onabort = () => { done(); reject(new ApiError(0, { code: 'aborted', message: 'Upload cancelled' })); };
      xhr.send(file);
    });
  }

  // Accounts
  register(username, password, displayName) {
    return this.req('POST', '/auth/register', { username, password, ...(displayName ? { display_name: displayName } : {}) });
  }
  login(username, password) { return this.req('POST', '/auth/login', { username, password }); }
  logout() { return this.req('POST', '/auth/logout'); }
  async me() { const r = await this.req('GET', '/me'); return r?.user ?? r; }
  async updateMe(patch) { const r = await this.req('PATCH', '/me', patch); return r?.user ?? r; }
  async sessions() { return list(await this.req('GET', '/me/sessions'), 'sessions'); }
  revokeSession(id) { return this.req('DELETE', `/me/sessions/${enc(id)}`); }
  async searchUsers(prefix, limit = 10) { return list(await this.req('GET', '/users', undefined, { prefix, limit }), 'users'); }
  async user(id) { const r = await this.req('GET', `/users/${enc(id)}`); return r?.user ?? r; }
  // users looks up to 100 users by id in one call; unknown ids are absent.
  async users(ids) { return list(await this.req('GET', '/users', undefined, { ids: ids.join(',') }), 'users'); }

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
