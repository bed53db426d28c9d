// evibridge dashboard: plain JavaScript over evb-api's JSON API (docs/api.md).
// Pages: #/ (calls) and #/calls/<id> (one call). The token lives in
// sessionStorage; every node is built with textContent, never innerHTML.
'use strict';

(function () {
  const TOKEN_KEY = 'evb-api-token';
  const POLL_MS = 2000;
  const ACTIVE = ['initiated', 'ringing', 'in-progress'];
  const STATUSES = ['initiated', 'ringing', 'in-progress', 'completed', 'busy', 'no-answer',
    'canceled', 'failed'];
  const SERIES = ['#2b59c3', '#d9480f', '#2f9e44', '#9c36b5', '#e8590c'];

  const $ = (id) => document.getElementById(id);
  let pollTimer = null;
  let pageSeq = 0; // bumped on every navigation: late answers of an old page are dropped
  let onResize = null; // the page's redraw when the window changes size

  // ---- DOM helpers ----

  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    append(el, kids);
    return el;
  }

  function s(tag, attrs, ...kids) {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    setAttrs(el, attrs);
    append(el, kids);
    return el;
  }

  function setAttrs(el, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.setAttribute('class', v);
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }

  function append(el, kids) {
    for (const k of kids.flat()) {
      if (k === null || k === undefined || k === false) continue;
      el.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
  }

  // ---- formatting ----

  function fmtTime(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  }

  function fmtDuration(ms) {
    if (ms === null || ms === undefined) return '—';
    const t = Math.round(ms / 1000);
    const m = Math.floor(t / 60);
    return m + ':' + String(t % 60).padStart(2, '0');
  }

  function callDuration(c) {
    if (c.duration_ms !== null && c.duration_ms !== undefined) return c.duration_ms;
    if (c.answered_at && ACTIVE.includes(c.status)) return Date.now() - Date.parse(c.answered_at);
    if (c.answered_at && c.ended_at) return Date.parse(c.ended_at) - Date.parse(c.answered_at);
    return null;
  }

  function statusBadge(st) {
    return h('span', { class: 'badge st-' + st, text: st });
  }

  function sentimentBadge(st) {
    return st ? h('span', { class: 'badge se-' + st, text: st }) : '—';
  }

  // ---- the API ----

  async function api(method, path, body) {
    const headers = { Authorization: 'Bearer ' + (sessionStorage.getItem(TOKEN_KEY) || '') };
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw apiError(0, 'unreachable', 'evb-api cannot be reached: ' + e.message);
    }
    let json = null;
    try {
      json = await res.json();
    } catch (e) {
      json = null;
    }
    if (res.status === 401) {
      signOut('The token was refused: sign in again.');
      throw apiError(401, 'unauthorized', 'unauthorized');
    }
    if (!res.ok || !json || json.success === false) {
      const err = (json && json.error) || {};
      throw apiError(res.status, err.code || 'http_' + res.status,
        err.message || 'HTTP ' + res.status, err.field);
    }
    return json;
  }

  function apiError(status, code, message, field) {
    const e = new Error(message);
    e.status = status;
    e.code = code;
    e.field = field;
    return e;
  }

  function errorText(e) {
    let t = e.message;
    if (e.field) t += ' (field: ' + e.field + ')';
    if (e.status) t += ' [' + e.status + ' ' + e.code + ']';
    return t;
  }

  // ---- sign in ----

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    stopPolling();
    showLogin(message);
  }

  function showLogin(message) {
    $('view').hidden = true;
    $('logout').hidden = true;
    $('live').hidden = true;
    $('login').hidden = false;
    const err = $('login-error');
    err.hidden = !message;
    err.textContent = message || '';
    $('token').focus();
  }

  async function onLogin(ev) {
    ev.preventDefault();
    const token = $('token').value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    try {
      await api('GET', '/v1/calls?limit=1');
    } catch (e) {
      if (e.status !== 401) showLogin(errorText(e));
      return;
    }
    $('token').value = '';
    route();
  }

  // ---- routing ----

  function stopPolling() {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
  }

  function schedule(fn) {
    stopPolling();
    pollTimer = setTimeout(async function tick() {
      if (document.visibilityState === 'visible') {
        try {
          await fn();
        } catch (e) {
          /* shown by fn; keep polling */
        }
      }
      if (pollTimer) pollTimer = setTimeout(tick, POLL_MS);
    }, POLL_MS);
  }

  function route() {
    pageSeq++;
    stopPolling();
    onResize = null;
    if (!sessionStorage.getItem(TOKEN_KEY)) {
      showLogin();
      return;
    }
    $('login').hidden = true;
    $('logout').hidden = false;
    const view = $('view');
    view.hidden = false;
    view.replaceChildren();
    const m = location.hash.match(/^#\/calls\/([A-Za-z0-9_-]{1,64})$/);
    if (m) callPage(view, m[1], pageSeq);
    else listPage(view, pageSeq);
  }

  // ---- the calls list ----

  const filters = { provider: '', status: '', since: '' };

  function listQuery(limit, cursor) {
    const q = new URLSearchParams();
    if (filters.provider) q.set('provider', filters.provider);
    if (filters.status) q.set('status', filters.status);
    if (filters.since) q.set('since', filters.since + 'T00:00:00Z'); // the day, in UTC
    q.set('limit', String(limit));
    if (cursor) q.set('cursor', cursor);
    return '/v1/calls?' + q.toString();
  }

  function select(id, label, options, value, onchange) {
    return h('div', { class: 'field' },
      h('label', { for: id, text: label }),
      h('select', { id, onchange },
        options.map(([v, t]) => h('option', { value: v, selected: v === value, text: t }))));
  }

  function listPage(view, seq) {
    let shown = 0;
    let cursor = null;
    const counts = h('p', { class: 'counts', id: 'counts' });
    const tbody = h('tbody', { id: 'calls-body' });
    const more = h('button', { type: 'button', class: 'secondary', id: 'more', hidden: true,
      text: 'Load more' });
    const err = h('p', { class: 'error', role: 'alert', id: 'list-error', hidden: true });

    const provSel = select('f-provider', 'Provider',
      [['', 'all'], ['twilio', 'Twilio'], ['vonage', 'Vonage']], filters.provider,
      (e) => { filters.provider = e.target.value; reload(); });
    const statSel = select('f-status', 'Status',
      [['', 'all']].concat(STATUSES.map((x) => [x, x])), filters.status,
      (e) => { filters.status = e.target.value; reload(); });
    const since = h('div', { class: 'field' },
      h('label', { for: 'f-since', text: 'Since' }),
      h('input', { id: 'f-since', type: 'date', value: filters.since,
        onchange: (e) => { filters.since = e.target.value; reload(); } }));

    view.append(
      h('div', { class: 'toolbar' },
        h('h1', { text: 'Calls' }),
        h('button', { type: 'button', id: 'open-test-call', text: 'Place a test call',
          onclick: () => { form.hidden = !form.hidden; } })),
      testCallForm(() => reload()),
      h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() }, provSel, statSel, since),
      counts, err,
      h('div', { class: 'table-wrap' },
        h('table', { class: 'calls', id: 'calls' },
          h('thead', null, h('tr', null,
            ['Started', 'Provider', 'From → To', 'Agent', 'Status', 'Duration',
              'Caller emotion', 'Sentiment'].map((t) => h('th', { scope: 'col', text: t })))),
          tbody)),
      more);
    const form = $('test-call');
    more.addEventListener('click', () => load(false));

    function row(c) {
      const dom = (c.dominant_emotions || [])[0];
      const link = h('a', { href: '#/calls/' + c.call_id, text: fmtTime(c.started_at || c.created_at) });
      return h('tr', { 'data-call-id': c.call_id, class: ACTIVE.includes(c.status) ? 'active' : null },
        h('td', { 'data-label': 'Started' }, link),
        h('td', { 'data-label': 'Provider', class: 'provider', text: c.provider }),
        h('td', { 'data-label': 'From → To', class: 'numbers',
          text: (c.from || '?') + ' → ' + (c.to || '?') }),
        h('td', { 'data-label': 'Agent', text: c.agent || '—' }),
        h('td', { 'data-label': 'Status', class: 'status' }, statusBadge(c.status)),
        h('td', { 'data-label': 'Duration', class: 'num', text: fmtDuration(callDuration(c)) }),
        h('td', { 'data-label': 'Caller emotion', class: 'emotion', text: dom || '—' }),
        h('td', { 'data-label': 'Sentiment', class: 'sentiment' }, sentimentBadge(c.sentiment)));
    }

    function render(r, replace) {
      const rows = r.calls.map(row);
      if (replace) tbody.replaceChildren(...rows);
      else tbody.append(...rows);
      if (!tbody.children.length)
        tbody.append(h('tr', null, h('td', { colspan: 8, class: 'empty', text: 'No calls match.' })));
      const c = r.counts || {};
      counts.textContent = (c.total || 0) + ' calls: Twilio ' + (c.twilio || 0) +
        ', Vonage ' + (c.vonage || 0);
      cursor = r.next_cursor;
      more.hidden = !cursor;
      const active = [...tbody.querySelectorAll('tr.active')].length;
      const live = $('live');
      live.hidden = false;
      live.textContent = active ? active + ' active' : 'live';
      live.className = 'live' + (active ? ' on' : '');
    }

    async function load(first) {
      err.hidden = true;
      try {
        const r = await api('GET', listQuery(50, first ? null : cursor));
        if (seq !== pageSeq) return;
        shown = first ? r.calls.length : shown + r.calls.length;
        render(r, first);
      } catch (e) {
        if (seq !== pageSeq) return;
        err.textContent = errorText(e);
        err.hidden = false;
      }
    }

    // Live updates: the rows shown (at least one page) again every 2 s.
    async function refresh() {
      if (seq !== pageSeq) return;
      const r = await api('GET', listQuery(Math.min(200, Math.max(50, shown)), null));
      if (seq !== pageSeq) return;
      shown = r.calls.length;
      render(r, true);
    }

    function reload() {
      load(true);
      schedule(refresh);
    }
    reload();
  }

  // ---- place a test call ----

  function testCallForm(done) {
    const out = h('p', { id: 'test-call-result', role: 'status', hidden: true });
    const agent = h('select', { id: 'tc-agent', name: 'agent' }, h('option', { value: '', text: '(none)' }));
    const form = h('form', { id: 'test-call', class: 'card test-call', hidden: true },
      h('h2', { text: 'Place a test call' }),
      h('div', { class: 'field' },
        h('label', { for: 'tc-to', text: 'Number to call (E.164)' }),
        h('input', { id: 'tc-to', name: 'to', type: 'tel', required: true,
          placeholder: '+14155550100', pattern: '\\+[1-9][0-9]{6,14}' })),
      h('div', { class: 'field' }, h('label', { for: 'tc-agent', text: 'Agent' }), agent),
      h('div', { class: 'field' },
        h('label', { for: 'tc-provider', text: 'Provider' }),
        h('select', { id: 'tc-provider', name: 'provider' },
          h('option', { value: '', text: 'default (VOICE_PROVIDER)' }),
          h('option', { value: 'twilio', text: 'Twilio' }),
          h('option', { value: 'vonage', text: 'Vonage' }))),
      h('button', { type: 'submit', id: 'tc-submit', text: 'Call' }),
      out);
    api('GET', '/v1/agents').then((r) => {
      for (const a of r.agents)
        agent.append(h('option', { value: a.slug, text: a.name + ' (' + a.slug + ')' }));
    }).catch(() => {});
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = { to: $('tc-to').value.trim() };
      if (agent.value) body.agent = agent.value;
      if ($('tc-provider').value) body.provider = $('tc-provider').value;
      const btn = $('tc-submit');
      btn.disabled = true;
      out.hidden = false;
      out.className = '';
      out.textContent = 'Calling…';
      try {
        const r = await api('POST', '/v1/calls', body);
        out.className = 'ok';
        out.replaceChildren('Placed through ' + r.provider + ': ',
          h('a', { href: '#/calls/' + r.call_id, text: r.call_id }));
        done();
      } catch (e) {
        out.className = 'error';
        out.setAttribute('role', 'alert');
        out.textContent = 'The call was not placed: ' + errorText(e);
      } finally {
        btn.disabled = false;
      }
    });
    return form;
  }

  // ---- one call ----

  function callPage(view, id, seq) {
    const err = h('p', { class: 'error', role: 'alert', id: 'call-error', hidden: true });
    const head = h('section', { class: 'card call-head', id: 'call-head' });
    const chart = h('section', { class: 'card', id: 'timeline' },
      h('h2', { text: 'Emotion timeline (caller)' }));
    const transcript = h('section', { class: 'card', id: 'transcript' }, h('h2', { text: 'Transcript' }));
    const events = h('section', { class: 'card', id: 'events' }, h('h2', { text: 'Events' }));
    view.append(h('p', null, h('a', { href: '#/', class: 'back', text: '← All calls' })),
      err, head, chart, transcript, events);

    let lastKey = '';
    async function load() {
      const [c, ev] = await Promise.all([
        api('GET', '/v1/calls/' + encodeURIComponent(id)),
        allEvents(id),
      ]);
      if (seq !== pageSeq) return null;
      // Redraw only what changed (polling an active call).
      const key = JSON.stringify([c.call.status, c.transcript.length, ev.length, c.call.duration_ms]);
      if (key !== lastKey) {
        lastKey = key;
        renderHead(head, c, () => load());
        renderChart(chart, c, ev);
        onResize = () => renderChart(chart, c, ev);
        renderTranscript(transcript, c);
        renderEvents(events, ev);
      }
      return c;
    }
    load().then((c) => {
      if (c && ACTIVE.includes(c.call.status))
        schedule(async () => {
          const again = await load();
          if (again && !ACTIVE.includes(again.call.status)) stopPolling();
        });
    }).catch((e) => {
      if (seq !== pageSeq) return;
      err.textContent = errorText(e);
      err.hidden = false;
    });
  }

  // Every event of the call, page after page (at most 5000).
  async function allEvents(id) {
    let out = [];
    let cursor = null;
    for (let i = 0; i < 10; i++) {
      const r = await api('GET', '/v1/calls/' + encodeURIComponent(id) + '/events?limit=500' +
        (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
      out = out.concat(r.events);
      cursor = r.next_cursor;
      if (!cursor) break;
    }
    return out;
  }

  function renderHead(sec, r, reload) {
    const c = r.call;
    const sum = r.emotion_summary || {};
    const dl = h('dl', { class: 'facts' });
    const fact = (k, v) => dl.append(h('dt', { text: k }), h('dd', null, v));
    fact('Provider', c.provider + (c.provider_call_id ? ' · ' + c.provider_call_id : ''));
    fact('Direction', c.direction || '—');
    fact('From → To', (c.from || '?') + ' → ' + (c.to || '?'));
    fact('Agent', c.agent || '—');
    fact('Status', statusBadge(c.status));
    fact('Started', fmtTime(c.started_at || c.created_at));
    fact('Duration', fmtDuration(callDuration(c)));
    fact('Caller emotions', (sum.dominant_emotions || []).join(', ') || '—');
    fact('Caller sentiment', sentimentBadge(sum.sentiment));
    if (c.customer && (c.customer.name || c.customer.email))
      fact('Customer', [c.customer.name, c.customer.email].filter(Boolean).join(' · '));
    if (c.end_reason) fact('End reason', c.end_reason);
    const kids = [h('h1', { text: 'Call ' + c.call_id }), dl];
    if (ACTIVE.includes(c.status)) {
      const msg = h('p', { role: 'alert', hidden: true, class: 'error' });
      kids.push(h('button', { type: 'button', class: 'danger', text: 'Hang up',
        onclick: async () => {
          try {
            await api('POST', '/v1/calls/' + c.call_id + '/hangup');
            reload();
          } catch (e) {
            msg.textContent = errorText(e);
            msg.hidden = false;
          }
        } }), msg);
    }
    sec.replaceChildren(...kids);
  }

  function renderTranscript(sec, r) {
    const t0 = Date.parse(r.call.answered_at || r.call.started_at || r.call.created_at);
    const list = h('ol', { class: 'conversation' });
    for (const u of r.transcript) {
      const at = Date.parse(u.at);
      const bars = h('ul', { class: 'emotions' });
      for (const e of (u.top_emotions || []).slice(0, 3)) {
        const fill = h('span', { class: 'fill' });
        fill.style.width = Math.max(0, Math.min(100, e.score * 100)).toFixed(1) + '%';
        bars.append(h('li', { class: 'emotion-bar', title: e.name + ' ' + e.score.toFixed(2) },
          h('span', { class: 'name', text: e.name }),
          h('span', { class: 'bar' }, fill),
          h('span', { class: 'score', text: e.score.toFixed(2) })));
      }
      list.append(h('li', { class: 'utterance ' + u.role + (u.interrupted ? ' interrupted' : '') },
        h('div', { class: 'meta' },
          h('span', { class: 'role', text: u.role === 'user' ? 'Caller' : 'Agent' }),
          h('span', { class: 'when', text: isNaN(at) || isNaN(t0) ? '' : fmtDuration(at - t0) }),
          u.interrupted ? h('span', { class: 'badge interrupted', text: 'interrupted' }) : null,
          u.sentiment ? sentimentBadge(u.sentiment) : null),
        h('p', { class: 'text', text: u.text }),
        bars.children.length ? bars : null));
    }
    if (!r.transcript.length) list.append(h('li', { class: 'empty', text: 'Nothing said yet.' }));
    sec.replaceChildren(h('h2', { text: 'Transcript' }), list);
  }

  // The caller's strongest emotions over the call: one line per emotion
  // (the call's dominant ones), a point per caller utterance with the score
  // EVI gave it (all 48 scores are in the utterance events), and a marker
  // per interruption.
  function renderChart(sec, r, events) {
    // Drawn at the width it is shown (text stays legible on a phone).
    const W = Math.round(Math.max(300, Math.min(1000, (sec.clientWidth || 640) - 34)));
    const H = W < 500 ? 200 : 240, L = 36, R = 12, T = 12, B = 30;
    const utts = events.filter((e) => e.type === 'utterance' && e.payload &&
      e.payload.role === 'user' && !e.payload.interim && e.payload.emotion_scores && e.ts);
    // The interruption events say when the caller barged in; without them
    // (events not kept), the start of each interrupted agent turn.
    let interrupts = events.filter((e) => e.type === 'interruption' && e.ts).map((e) => e.ts);
    if (!interrupts.length)
      interrupts = r.transcript.filter((u) => u.role === 'assistant' && u.interrupted && u.at)
        .map((u) => u.at);
    let names = ((r.emotion_summary || {}).dominant_emotions || []).slice(0, 3);
    if (!names.length && utts.length) {
      const sc = utts[0].payload.emotion_scores;
      names = Object.keys(sc).sort((a, b) => sc[b] - sc[a]).slice(0, 3);
    }
    const times = utts.map((e) => Date.parse(e.ts)).concat(interrupts.map((x) => Date.parse(x)));
    const start = Date.parse(r.call.answered_at || r.call.started_at || '') ||
      (times.length ? Math.min(...times) : 0);
    const end = Math.max(start + 1000, ...times, Date.parse(r.call.ended_at || '') || 0);
    const x = (t) => L + (W - L - R) * (t - start) / (end - start);
    const y = (v) => T + (H - T - B) * (1 - Math.max(0, Math.min(1, v)));

    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', id: 'timeline-chart',
      'aria-label': 'Caller emotions over the call' });
    svg.append(s('title', { text: 'Caller emotions over the call' }));
    for (const v of [0, 0.25, 0.5, 0.75, 1]) {
      svg.append(s('line', { class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v) }),
        s('text', { class: 'axis', x: L - 6, y: y(v) + 4, 'text-anchor': 'end', text: v.toFixed(2) }));
    }
    const span = end - start;
    const ticks = W < 500 ? 4 : 8;
    const step = [5, 10, 15, 30, 60, 120, 300, 600, 1800].find((st) => span / 1000 / st <= ticks) || 3600;
    for (let t = 0; t <= span / 1000; t += step)
      svg.append(s('text', { class: 'axis', x: x(start + t * 1000), y: H - 10, 'text-anchor': 'middle',
        text: fmtDuration(t * 1000) }));
    for (const ts of interrupts) {
      const xi = x(Date.parse(ts));
      svg.append(s('g', { class: 'interruption' },
        s('title', { text: 'Interruption at ' + fmtDuration(Date.parse(ts) - start) }),
        s('line', { x1: xi, x2: xi, y1: T, y2: H - B }),
        s('path', { d: `M${xi - 5} ${T} L${xi + 5} ${T} L${xi} ${T + 8} Z` })));
    }
    names.forEach((name, i) => {
      const pts = utts.map((e) => [Date.parse(e.ts), Number(e.payload.emotion_scores[name]) || 0]);
      const color = SERIES[i % SERIES.length];
      const g = s('g', { class: 'series', 'data-emotion': name });
      if (pts.length > 1)
        g.append(s('polyline', { fill: 'none', stroke: color, 'stroke-width': 2,
          points: pts.map(([t, v]) => x(t).toFixed(1) + ',' + y(v).toFixed(1)).join(' ') }));
      for (const [t, v] of pts)
        g.append(s('circle', { cx: x(t), cy: y(v), r: 4, fill: color },
          s('title', { text: name + ' ' + v.toFixed(2) + ' at ' + fmtDuration(t - start) })));
      svg.append(g);
    });
    const legend = h('ul', { class: 'legend' },
      names.map((n, i) => {
        const sw = h('span', { class: 'swatch' });
        sw.style.background = SERIES[i % SERIES.length];
        return h('li', null, sw, n);
      }),
      interrupts.length ? h('li', null, h('span', { class: 'swatch interrupt' }), 'interruption') : null);
    const kids = [h('h2', { text: 'Emotion timeline (caller)' })];
    if (!utts.length) kids.push(h('p', { class: 'empty', text: 'No scored caller utterances yet.' }));
    kids.push(svg, legend);
    sec.replaceChildren(...kids);
  }

  function renderEvents(sec, events) {
    const tbody = h('tbody');
    for (const e of events) {
      const p = e.payload || {};
      let brief = '';
      if (e.type === 'utterance') brief = (p.role || '') + ': ' + (p.text || '');
      else if (e.type === 'call.status') brief = p.status || '';
      else if (e.type === 'call.ended') brief = [p.status, p.reason].filter(Boolean).join(' · ');
      else if (e.reason) brief = e.reason;
      tbody.append(h('tr', { class: 'event ev-' + e.status },
        h('td', { 'data-label': 'Time', class: 'num', text: fmtTime(e.ts) }),
        h('td', { 'data-label': 'Type', text: e.type || '?' }),
        h('td', { 'data-label': 'Status', text: e.status }),
        h('td', { 'data-label': 'Detail' },
          h('details', null, h('summary', { text: brief || 'payload' }),
            h('pre', { text: JSON.stringify(e.payload || e.raw, null, 2) })))));
    }
    if (!events.length) tbody.append(h('tr', null, h('td', { colspan: 4, class: 'empty', text: 'No events.' })));
    sec.replaceChildren(h('h2', { text: 'Events (' + events.length + ')' }),
      h('div', { class: 'table-wrap' }, h('table', { class: 'events' },
        h('thead', null, h('tr', null, ['Time', 'Type', 'Status', 'Detail'].map((t) =>
          h('th', { scope: 'col', text: t })))), tbody)));
  }

  // ---- start ----

  document.addEventListener('DOMContentLoaded', () => {
    $('login-form').addEventListener('submit', onLogin);
    $('logout').addEventListener('click', () => signOut());
    window.addEventListener('hashchange', route);
    let resizeTimer = null;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => { if (onResize) onResize(); }, 100);
    });
    route();
  });
})();
