// analytics.js — a conversation's analytics page (/c/{id}/stats; owners,
// admins and server admins): totals, messages per day, per hour (ranges of
// a week at most), by hour of day, the top posters, and response times
// (median and p90 per day, the top responders' averages). The charts are SVG
// built with DOM calls (no inline script or style: the CSP forbids them).
import { h, replace, iconButton } from '../dom.js';
import { errorText } from './ui.js';

const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...kids) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const k of kids.flat()) if (k != null) el.append(typeof k === 'string' ? document.createTextNode(k) : k);
  return el;
}

// barChart draws values as bars with a label under every step-th bar and
// a title (tooltip) on each.
function barChart(label, values, labels, { step = 1, cls = '', fmt = String } = {}) {
  const W = 720, H = 180, pad = 28, n = Math.max(values.length, 1);
  const max = Math.max(1, ...values);
  const bw = (W - pad) / n;
  const bars = values.map((v, i) => {
    const bh = (H - pad) * v / max;
    return svg('rect', { x: (pad + i * bw + 1).toFixed(1), y: (H - pad - bh).toFixed(1), width: Math.max(1, bw - 2).toFixed(1), height: bh.toFixed(1), class: 'bar' },
      svg('title', {}, `${labels[i]}: ${fmt(v)}`));
  });
  const ticks = labels.map((l, i) => (i % step === 0 ? svg('text', { x: (pad + i * bw + bw / 2).toFixed(1), y: H - 8, class: 'tick', 'text-anchor': 'middle' }, l) : null));
  return h('figure', { class: 'chart ' + cls },
    h('figcaption', {}, label),
    svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${label}; highest ${fmt(max)}` },
      svg('line', { x1: pad, y1: H - pad, x2: W, y2: H - pad, class: 'axis' }),
      svg('text', { x: 2, y: 12, class: 'tick' }, fmt(max)),
      bars, ticks));
}

// duration formats a response time in milliseconds for people ("–" for
// none: the server sends 0 when there was no response).
export function duration(ms) {
  if (!ms) return '–';
  const s = ms / 1000;
  if (s < 1) return `${Math.round(ms)} ms`;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export function renderStats(ctx, id) {
  const { store, api } = ctx;
  const body = h('div', { class: 'stats-body', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading…'));
  const range = h('select', { class: 'stats-range', 'aria-label': 'Period' },
    [[1, 'Last 24 hours'], [7, 'Last 7 days'], [30, 'Last 30 days'], [90, 'Last 90 days']].map(([d, t]) => h('option', { value: d, selected: d === 30 }, t)));
  let alive = true;
  async function load() {
    try {
      const st = await api.req('GET', `/conversations/${encodeURIComponent(id)}/stats`, undefined, { days: range.value });
      await store.ensureUsers([...st.top_posters, ...st.top_responders].map((p) => p.user_id));
      if (!alive) return;
      const day = (p) => new Date(p.at).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
      const hour = (p) => new Date(p.at).toLocaleTimeString(undefined, { hour: '2-digit' });
      const top = Math.max(1, ...st.top_posters.map((p) => p.messages));
      replace(body,
        h('dl', { class: 'admin-facts stats-totals' },
          h('dt', {}, 'Messages'), h('dd', { dataset: { fact: 'messages' } }, String(st.messages)),
          h('dt', {}, 'Reactions'), h('dd', { dataset: { fact: 'reactions' } }, String(st.reactions)),
          h('dt', {}, 'Active members'), h('dd', { dataset: { fact: 'active' } }, String(st.active_members)),
          h('dt', {}, 'Responses'), h('dd', { dataset: { fact: 'responses' } }, String(st.response_time.responses)),
          h('dt', {}, 'Median response time'), h('dd', { dataset: { fact: 'median' } }, duration(st.response_time.median_ms)),
          h('dt', {}, '90th percentile'), h('dd', { dataset: { fact: 'p90' } }, duration(st.response_time.p90_ms))),
        st.hourly.length ? barChart('Messages per hour', st.hourly.map((p) => p.messages), st.hourly.map(hour), { step: 6, cls: 'chart-hourly' }) : null,
        barChart('Messages per day', st.daily.map((p) => p.messages), st.daily.map(day), { step: Math.ceil(st.daily.length / 10), cls: 'chart-daily' }),
        barChart('Active members per day', st.daily.map((p) => p.active_members), st.daily.map(day), { step: Math.ceil(st.daily.length / 10), cls: 'chart-active' }),
        barChart('Median response time per day', st.daily.map((p) => p.response_median_ms), st.daily.map(day), { step: Math.ceil(st.daily.length / 10), cls: 'chart-response', fmt: duration }),
        barChart('90th percentile response time per day', st.daily.map((p) => p.response_p90_ms), st.daily.map(day), { step: Math.ceil(st.daily.length / 10), cls: 'chart-response-p90', fmt: duration }),
        barChart('Messages by hour of day (UTC)', st.hour_of_day, st.hour_of_day.map((_, i) => String(i)), { step: 3, cls: 'chart-hod' }),
        h('section', { class: 'top-posters' }, h('h2', {}, 'Top posters'),
          st.top_posters.length ? h('ol', {}, st.top_posters.map((p) => h('li', { dataset: { user: p.user_id } },
            h('span', { class: 'pick-name' }, store.displayName(p.user_id)), ' ',
            svg('svg', { viewBox: '0 0 100 8', class: 'poster-bar', 'aria-hidden': 'true' }, svg('rect', { x: 0, y: 0, height: 8, width: (100 * p.messages / top).toFixed(1), class: 'bar' })),
            ' ', h('span', { class: 'muted' }, `${p.messages} messages`)))) : h('p', { class: 'muted' }, 'Nobody posted in this period.')),
        responders(st.top_responders));
    } catch (e) { if (alive) replace(body, h('p', { class: 'form-error', role: 'alert' }, errorText(e))); }
  }
  // responders lists the members with the most responses and their average
  // response time, the bar's length the average against the slowest.
  function responders(list) {
    const slowest = Math.max(1, ...list.map((p) => p.average_ms));
    return h('section', { class: 'top-responders' }, h('h2', {}, 'Top responders'),
      h('p', { class: 'muted' }, 'A response is a message answering another member’s within 24 hours.'),
      list.length ? h('ol', {}, list.map((p) => h('li', { dataset: { user: p.user_id } },
        h('span', { class: 'pick-name' }, store.displayName(p.user_id)), ' ',
        svg('svg', { viewBox: '0 0 100 8', class: 'poster-bar', 'aria-hidden': 'true' }, svg('rect', { x: 0, y: 0, height: 8, width: (100 * p.average_ms / slowest).toFixed(1), class: 'bar' })),
        ' ', h('span', { class: 'muted' }, `${p.responses} responses, ${duration(p.average_ms)} on average`)))) : h('p', { class: 'muted' }, 'Nobody responded in this period.'));
  }
  range.addEventListener('change', load);
  const c = store.convs.get(id);
  const el = h('div', { class: 'admin-page stats-page' },
    h('header', { class: 'chat-head' },
      iconButton('back', 'Back to the conversation', () => ctx.nav('/c/' + encodeURIComponent(id))),
      h('h1', { class: 'chat-title' }, 'Analytics' + (c ? ' — ' + store.title(c) : '')), range),
    h('div', { class: 'admin-body' }, body));
  load();
  return { el, destroy() { alive = false; } };
}
