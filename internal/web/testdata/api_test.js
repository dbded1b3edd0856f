// Tests of the REST client (static/js/api.js) around the end of a session,
// run in headless Chromium by apiclient_test.go against a real HTTP server:
// /api/v1/slow answers only when the request is cancelled (or after 10 s),
// /api/v1/arrived counts the slow requests the server has, /api/v1/auth
// echoes the Authorization header. Results land in
// window.__results.
import { Api } from '/assets/js/api.js';
import { errorText } from '/assets/js/views/ui.js';
import { test, assert, eq, run } from '/test/harness.js';

// settle gives what a promise ended with: ['ok', value] or ['err', error].
const settle = (p) => p.then((v) => ['ok', v], (e) => ['err', e]);

test('endSession cancels requests in flight, quietly', async () => {
  const api = new Api();
  api.token = 'tok';
  let unauth = 0;
  api.onUnauthenticated = () => { unauth++; };
  const started = Date.now();
  // Distinct URLs: the browser's cache lets one GET of a URL out at a time.
  const pending = [settle(api.req('GET', '/slow?by=req')), settle(api.raw('POST', '/slow?by=raw', new Blob(['x']))),
    settle(api.blob('/slow?by=blob')), settle(api.xhr('POST', '/slow?by=xhr', new Blob(['y'])))];
  while ((await new Api().req('GET', '/arrived', undefined, { t: Date.now() })).n < pending.length) await new Promise((r) => setTimeout(r, 10));
  eq(api.endSession(), 'tok', 'endSession returns the token');
  for (const [how, e] of await Promise.all(pending)) {
    eq(how, 'err', 'a cancelled request rejects');
    eq([e.status, e.code, e.quiet], [0, 'aborted', true], 'error of a cancelled request');
    eq(errorText(e), '', 'errorText of a cancelled request');
  }
  assert(Date.now() - started < 5000, 'requests were cancelled, not answered after 10 s');
  eq(unauth, 0, 'onUnauthenticated calls');
  eq(api.token, '', 'token after endSession');
});

test('after endSession: no token by default, logout sends the one given', async () => {
  const api = new Api();
  api.token = 'tok';
  const token = api.endSession();
  eq((await api.req('GET', '/auth')).authorization, '', 'header of a later request');
  const calls = [];
  api.fetch = async (url, init) => { calls.push([init.method, url, init.headers.Authorization]); return new Response(null, { status: 204 }); };
  await api.logout(token);
  eq(calls, [['POST', '/api/v1/auth/logout', 'Bearer tok']], 'logout request');
  api.token = 'new';
  await api.logout();
  eq(calls[1][2], 'Bearer new', 'logout without an argument uses the current token');
});

test('a new session is not cancelled by the old one ending', async () => {
  const api = new Api();
  api.token = 'one';
  api.endSession();
  api.token = 'two';
  eq((await api.req('GET', '/auth')).authorization, 'Bearer two', 'header in the new session');
});

test('a 401 for an old token does not end the current session', async () => {
  const api = new Api();
  let unauth = 0;
  api.onUnauthenticated = () => { unauth++; };
  let answer;
  api.fetch = () => new Promise((r) => { answer = r; });
  api.token = 'old';
  const p = settle(api.req('GET', '/me'));
  api.token = 'fresh'; // signed in again while the request was out
  answer(new Response(JSON.stringify({ error: { code: 'unauthenticated', message: 'no' } }), { status: 401 }));
  const [how, e] = await p;
  eq([how, e.status, e.code], ['err', 401, 'unauthenticated'], 'the request fails');
  eq(unauth, 0, 'onUnauthenticated calls for an old token');
  api.fetch = async () => new Response(JSON.stringify({ error: { code: 'unauthenticated', message: 'no' } }), { status: 401 });
  await settle(api.req('GET', '/me'));
  eq(unauth, 1, 'onUnauthenticated calls for the current token');
});

test('a network failure is not quiet', async () => {
  const api = new Api();
  api.fetch = async () => { throw new TypeError('Failed to fetch'); };
  const [, e] = await settle(api.req('GET', '/me'));
  eq([e.code, !!e.quiet], ['network', false], 'network error');
  assert(errorText(e) !== '', 'a network error is shown');
});

run();
