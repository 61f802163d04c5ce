// The gateway's built-in Control UI: one page, no build step, no
// dependencies. It is a client of the public protocol (docs/PROTOCOL.md)
// like any other: a device identity kept in this browser (Ed25519, signed
// over the server's challenge), the gateway token from the URL fragment
// (#token=…, then remembered and removed from the address bar), requests,
// and the events the gateway broadcasts.

const $ = (sel) => document.querySelector(sel);
const basePath = document.documentElement.getAttribute('data-openclaw-control-ui-base-path') || '';
const SCOPES = ['operator.admin', 'operator.read', 'operator.write', 'operator.approvals', 'operator.pairing'];
const CLIENT = { id: 'openclaw-control-ui', mode: 'webchat', version: 'builtin', platform: navigator.platform || 'web' };
const RETRY_MS = [500, 1000, 2000, 5000, 10000]; // reconnect backoff
const LOG_POLL_MS = 2000; // how often the log tail is read while shown
const LOG_KEEP = 500; // log records kept on the page

// ---- the token and the device, remembered in this browser ----

const saved = {
  get token() { return localStorage.getItem('openclaw.token') || ''; },
  set token(v) { v ? localStorage.setItem('openclaw.token', v) : localStorage.removeItem('openclaw.token'); },
};

function tokenFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  if (token) {
    saved.token = token;
    history.replaceState(null, '', location.pathname + location.search);
  }
}

const b64url = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

// device is this browser's Ed25519 identity: generated once, kept in
// localStorage. WebCrypto needs a secure context (https, or localhost).
async function device() {
  if (!globalThis.crypto?.subtle) throw new Error('this page needs a secure context: open it over https, or on localhost');
  let keys;
  const stored = localStorage.getItem('openclaw.device');
  if (stored) {
    const { pub, priv } = JSON.parse(stored);
    keys = {
      publicKey: await crypto.subtle.importKey('jwk', pub, { name: 'Ed25519' }, true, ['verify']),
      privateKey: await crypto.subtle.importKey('jwk', priv, { name: 'Ed25519' }, true, ['sign']),
    };
  } else {
    keys = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
    localStorage.setItem('openclaw.device', JSON.stringify({
      pub: await crypto.subtle.exportKey('jwk', keys.publicKey),
      priv: await crypto.subtle.exportKey('jwk', keys.privateKey),
    }));
  }
  const raw = await crypto.subtle.exportKey('raw', keys.publicKey);
  return { id: hex(await crypto.subtle.digest('SHA-256', raw)), publicKey: b64url(raw), privateKey: keys.privateKey };
}

// ---- the connection ----

class Gateway {
  constructor({ token, onEvent, onState }) {
    Object.assign(this, { token, onEvent, onState, pending: new Map(), next: 1, attempt: 0, hello: null });
  }

  url() {
    return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${basePath}`;
  }

  open() {
    this.ws = new WebSocket(this.url());
    this.ws.onmessage = (m) => this.frame(JSON.parse(m.data));
    this.ws.onclose = (e) => {
      for (const p of this.pending.values()) p.reject(new Error('connection closed'));
      this.pending.clear();
      this.hello = null;
      if (this.stopped) return;
      const wait = RETRY_MS[Math.min(this.attempt++, RETRY_MS.length - 1)];
      this.onState('offline', e.reason || `closed (${e.code})`, wait);
      setTimeout(() => this.open(), wait);
    };
  }

  stop() { this.stopped = true; this.ws?.close(); }

  async frame(f) {
    if (f.type === 'event' && f.event === 'connect.challenge') {
      try {
        this.send({ type: 'req', id: 'connect', method: 'connect', params: await this.connectParams(f.payload.nonce) });
      } catch (err) {
        this.stopped = true;
        this.onState('failed', err.message);
      }
      return;
    }
    if (f.type === 'res' && f.id === 'connect') {
      if (f.ok) {
        this.attempt = 0;
        this.hello = f.payload;
        this.onState('connected', '', 0, f.payload);
      } else {
        const d = f.error?.details || {};
        const fatal = /AUTH_TOKEN|AUTH_PASSWORD/.test(d.code || '');
        if (fatal) this.stopped = true;
        this.onState(fatal ? 'unauthorized' : 'refused', f.error?.message || 'refused', 0, null, d);
      }
      return;
    }
    if (f.type === 'res') {
      const p = this.pending.get(f.id);
      if (!p) return;
      this.pending.delete(f.id);
      if (f.ok) p.resolve(f.payload);
      else p.reject(Object.assign(new Error(f.error?.message || 'request failed'), { code: f.error?.code, details: f.error?.details }));
      return;
    }
    if (f.type === 'event') this.onEvent(f.event, f.payload);
  }

  async connectParams(nonce) {
    const d = await device();
    const signedAt = Date.now();
    const payload = ['v3', d.id, CLIENT.id, CLIENT.mode, 'operator', SCOPES.join(','), signedAt, this.token, nonce,
      CLIENT.platform.trim().toLowerCase(), ''].join('|');
    const sig = await crypto.subtle.sign({ name: 'Ed25519' }, d.privateKey, new TextEncoder().encode(payload));
    return {
      minProtocol: 4, maxProtocol: 4, role: 'operator', scopes: SCOPES,
      client: { ...CLIENT, instanceId: instanceId() },
      // The secret goes as both token and password: the page does not know
      // which auth mode the gateway runs.
      auth: this.token ? { token: this.token, password: this.token } : {},
      device: { id: d.id, publicKey: d.publicKey, signature: b64url(sig), signedAt, nonce },
      locale: navigator.language, userAgent: navigator.userAgent,
    };
  }

  send(f) { this.ws.send(JSON.stringify(f)); }

  request(method, params = {}) {
    if (!this.hello) return Promise.reject(new Error('not connected'));
    const id = String(this.next++);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ type: 'req', id, method, params });
    });
  }

  serves(method) { return !!this.hello?.features?.methods?.includes(method); }
}

function instanceId() {
  let id = sessionStorage.getItem('openclaw.instance');
  if (!id) sessionStorage.setItem('openclaw.instance', id = crypto.randomUUID());
  return id;
}

// ---- small DOM helpers ----

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  e.append(...children.flat().filter((c) => c !== null && c !== undefined));
  return e;
}

const ago = (ms) => {
  if (!ms) return '';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
};

// text is a message's content as text: a string, or a list of parts.
const text = (content) => typeof content === 'string' ? content
  : Array.isArray(content) ? content.map((p) => p?.text ?? '').join('') : '';

// ---- state and rendering ----

const state = { gw: null, presence: [], health: null, tab: 'chat', runs: new Map(), active: null, logCursor: undefined, logTimer: 0 };

function setStatus(msg, kind = '') {
  const s = $('#status');
  s.textContent = msg;
  s.dataset.kind = kind;
}

function showTab(name) {
  state.tab = name;
  for (const b of document.querySelectorAll('nav button')) {
    if (b.dataset.tab === name) b.setAttribute('aria-current', 'page'); else b.removeAttribute('aria-current');
  }
  for (const p of document.querySelectorAll('[data-panel]')) p.hidden = p.id !== name;
  refresh(name);
}

function refresh(name) {
  if (!state.gw?.hello) return;
  if (name === 'sessions') loadSessions();
  if (name === 'nodes') loadNodes();
  if (name === 'channels') loadChannels();
  if (name === 'logs') tailLogs(true);
  if (name === 'presence') renderPresence();
}

function renderPresence() {
  const list = $('#presence-list');
  list.replaceChildren(...state.presence.map((p) => el('li', { class: p.mode === 'gateway' ? 'self' : '' },
    el('strong', {}, p.host || p.ip || p.instanceId || 'unknown'),
    el('span', {}, [p.clientId, p.mode, p.platform, p.version].filter(Boolean).join(' · ')),
    el('small', {}, `${p.reason || ''} ${ago(p.ts)}`.trim()))));
  $('#presence-count').textContent = String(state.presence.length);
  const h = state.health;
  if (!h) return;
  const rows = [
    ['Status', h.ok ? 'ok' : 'not ok'],
    ['Sessions', h.sessions?.count ?? 0],
    ['Nodes', h.nodes ? `${h.nodes.connected} connected, ${h.nodes.paired} paired, ${h.nodes.pending} waiting` : ''],
    ['Channels', Object.keys(h.channels || {}).join(', ') || 'none'],
    ['Config reload', h.configReload?.hotReloadStatus || ''],
  ];
  $('#health').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));
}

async function loadSessions() {
  let rows;
  if (state.gw.serves('sessions.list')) {
    const res = await state.gw.request('sessions.list', { limit: 200 });
    rows = (res.sessions || []).map((s) => ({ key: s.key, count: s.messageCount ?? s.totalMessages ?? '', updatedAt: s.updatedAt }));
  } else {
    rows = (state.health?.sessions?.recent || []).map((s) => ({ key: s.key, count: '', updatedAt: s.updatedAt }));
  }
  $('#session-rows').replaceChildren(...rows.map((s) => el('tr', {},
    el('td', {}, el('code', {}, s.key)), el('td', {}, String(s.count)), el('td', {}, ago(s.updatedAt)),
    el('td', {}, el('button', { type: 'button', onclick: () => openSession(s.key) }, 'Open')))));
  if (!rows.length) $('#session-rows').append(el('tr', {}, el('td', { colspan: 4 }, 'No sessions yet: send a message in Chat.')));
}

async function loadNodes() {
  const [list, pairs] = await Promise.all([state.gw.request('node.list'), state.gw.request('node.pair.list')]);
  const pending = pairs.pending || [];
  $('#pending-count').hidden = !pending.length;
  $('#pending-count').textContent = String(pending.length);
  $('#node-pending').replaceChildren(...pending.map((r) => el('li', { 'data-request': r.requestId },
    el('strong', {}, r.displayName || r.nodeId.slice(0, 12)),
    el('span', {}, `${r.platform || ''} · ${(r.commands || []).length} commands: ${(r.commands || []).join(', ')}`),
    el('div', { class: 'buttons' },
      el('button', { type: 'button', onclick: (e) => decide(e.target, 'node.pair.approve', r.requestId) }, 'Approve'),
      el('button', { type: 'button', class: 'secondary', onclick: (e) => decide(e.target, 'node.pair.reject', r.requestId) }, 'Reject')))));
  if (!pending.length) $('#node-pending').append(el('li', { class: 'empty' }, 'Nothing waiting.'));
  $('#node-rows').replaceChildren(...(list.nodes || []).map((n) => el('tr', { 'data-node': n.nodeId },
    el('td', {}, n.displayName || n.nodeId.slice(0, 12)), el('td', {}, n.platform || ''),
    el('td', {}, `${n.connected ? 'connected' : 'offline'}, ${n.approvalState === 'approved' ? 'approved' : 'waiting for approval'}`),
    el('td', {}, (n.commands || []).join(', ')))));
}

async function decide(button, method, requestId) {
  button.disabled = true;
  try {
    await state.gw.request(method, { requestId });
  } catch (err) {
    setStatus(`${method}: ${err.message}`, 'error');
  }
  loadNodes();
}

async function loadChannels() {
  let rows = [];
  if (state.gw.serves('channels.status')) {
    const res = await state.gw.request('channels.status', {});
    for (const [ch, accounts] of Object.entries(res.channelAccounts || {})) {
      for (const a of accounts) rows.push({ ch, account: a.accountId, linked: a.connected ?? a.linked, running: a.running, error: a.lastError });
    }
  } else {
    for (const [ch, c] of Object.entries(state.health?.channels || {})) {
      rows.push({ ch, account: (c.accountOrder || []).join(', '), linked: c.linked, running: c.running, error: c.lastError });
    }
  }
  const yes = (v) => v === undefined ? '' : v ? 'yes' : 'no';
  $('#channel-rows').replaceChildren(...rows.map((r) => el('tr', {},
    el('td', {}, r.ch), el('td', {}, r.account || 'default'), el('td', {}, yes(r.linked)), el('td', {}, yes(r.running)),
    el('td', {}, r.error || ''))));
  if (!rows.length) $('#channel-rows').append(el('tr', {}, el('td', { colspan: 5 }, 'No channel configured (channels.* in openclaw.json).')));
}

async function tailLogs(reset) {
  clearTimeout(state.logTimer);
  if (state.tab !== 'logs' || !state.gw?.hello) return;
  if (reset) state.logCursor = undefined;
  try {
    const params = { limit: 200 };
    if (state.logCursor !== undefined) params.cursor = state.logCursor;
    const res = await state.gw.request('logs.tail', params);
    state.logCursor = res.cursor;
    const list = $('#log-lines');
    if (res.reset || reset) list.replaceChildren();
    list.append(...(res.lines || []).map(logLine));
    while (list.childElementCount > LOG_KEEP) list.firstElementChild.remove();
    if ($('#logs-follow').checked) list.lastElementChild?.scrollIntoView({ block: 'end' });
  } catch (err) {
    setStatus(`logs.tail: ${err.message}`, 'error');
  }
  state.logTimer = setTimeout(() => tailLogs(false), LOG_POLL_MS);
}

function logLine(line) {
  let rec;
  try { rec = JSON.parse(line); } catch { return el('li', {}, line); }
  const level = String(rec.level || rec._meta?.logLevelName || '').toLowerCase();
  const time = rec.time ? new Date(rec.time).toLocaleTimeString() : '';
  return el('li', { class: `level-${level}` }, el('time', {}, time), el('span', { class: 'level' }, level),
    el('span', { class: 'msg' }, rec.message ?? rec.msg ?? line));
}

// ---- chat ----

const sessionKey = () => $('#session-key').value.trim() || 'agent:main:main';

function openSession(key) {
  $('#session-key').value = key;
  showTab('chat');
  loadHistory();
}

function bubble(role, content, attrs = {}) {
  return el('li', { class: `msg ${role}`, ...attrs }, el('span', { class: 'who' }, role === 'user' ? 'You' : 'Agent'),
    el('div', { class: 'body' }, content));
}

async function loadHistory() {
  const key = sessionKey();
  try {
    const res = await state.gw.request('chat.history', { sessionKey: key, limit: 100 });
    if (key !== sessionKey()) return;
    $('#messages').replaceChildren(...(res.messages || []).filter((m) => m.role === 'user' || m.role === 'assistant')
      .map((m) => bubble(m.role, text(m.content), { 'data-run': m.runId })));
    $('#messages').lastElementChild?.scrollIntoView({ block: 'end' });
  } catch (err) {
    setStatus(`chat.history: ${err.message}`, 'error');
  }
}

async function send(e) {
  e.preventDefault();
  const box = $('#message');
  const message = box.value.trim();
  if (!message || !state.gw?.hello) return;
  const idempotencyKey = crypto.randomUUID();
  box.value = '';
  $('#messages').append(bubble('user', message));
  const reply = bubble('assistant', '', { 'data-run': idempotencyKey, 'aria-busy': 'true' });
  $('#messages').append(reply);
  reply.scrollIntoView({ block: 'end' });
  state.runs.set(idempotencyKey, reply);
  setActive(idempotencyKey);
  try {
    await state.gw.request('chat.send', { sessionKey: sessionKey(), message, idempotencyKey });
  } catch (err) {
    reply.querySelector('.body').textContent = `Not sent: ${err.message}`;
    reply.classList.add('error');
    reply.removeAttribute('aria-busy');
    setActive(null);
  }
}

function setActive(runId) {
  state.active = runId;
  $('#stop').disabled = !runId;
}

async function stop() {
  if (!state.active) return;
  try {
    await state.gw.request('chat.abort', { sessionKey: sessionKey(), runId: state.active });
  } catch (err) {
    setStatus(`chat.abort: ${err.message}`, 'error');
  }
}

function onChat(p) {
  if (p.sessionKey !== sessionKey()) return;
  let reply = state.runs.get(p.runId);
  if (!reply) { // a turn someone else started: show it too
    reply = bubble('assistant', '', { 'data-run': p.runId, 'aria-busy': 'true' });
    $('#messages').append(reply);
    state.runs.set(p.runId, reply);
  }
  const body = reply.querySelector('.body');
  if (p.state === 'delta') body.textContent += p.deltaText || '';
  if (p.state === 'final') body.textContent = text(p.message?.content) || body.textContent;
  if (p.state === 'aborted') reply.append(el('small', { class: 'note' }, 'Stopped.'));
  if (p.state === 'error') {
    reply.classList.add('error');
    reply.append(el('small', { class: 'note' }, `Failed: ${p.errorMessage || 'error'}`));
  }
  if (p.state !== 'delta') {
    reply.removeAttribute('aria-busy');
    state.runs.delete(p.runId);
    if (state.active === p.runId) setActive(null);
  }
  reply.scrollIntoView({ block: 'end' });
}

// ---- wiring ----

function onEvent(event, p) {
  switch (event) {
    case 'presence':
      state.presence = p.presence || [];
      renderPresence();
      break;
    case 'health':
      state.health = p;
      if (state.tab === 'presence') renderPresence();
      break;
    case 'chat':
      onChat(p);
      break;
    case 'node.pair.requested':
    case 'node.pair.resolved':
      loadNodes().catch(() => {});
      break;
  }
}

function onState(kind, detail, retryMs, hello, details) {
  if (kind === 'connected') {
    $('#connect').hidden = true;
    state.presence = hello.snapshot?.presence || [];
    state.health = hello.snapshot?.health || null;
    setStatus(`Connected to ${location.host} · gateway ${hello.server?.version || ''}`, 'ok');
    renderPresence();
    loadHistory();
    refresh(state.tab);
    if (state.tab !== 'nodes') loadNodes().catch(() => {});
    return;
  }
  if (kind === 'unauthorized' || kind === 'failed') {
    setStatus(`Not connected: ${detail}`, 'error');
    askToken(detail);
    return;
  }
  if (kind === 'refused' && details?.requestId) {
    setStatus(`Waiting for approval of this browser: run "openclaw devices approve ${details.requestId}"`, 'warn');
    return;
  }
  setStatus(`Disconnected (${detail}); reconnecting in ${Math.round((retryMs || 0) / 1000)}s…`, 'warn');
}

function askToken(error = '') {
  $('#connect').hidden = false;
  $('#connect-error').textContent = error;
  $('#token').focus();
}

function connect() {
  state.gw?.stop();
  state.gw = new Gateway({ token: saved.token, onEvent, onState });
  setStatus('Connecting…');
  state.gw.open();
}

function main() {
  tokenFromFragment();
  for (const b of document.querySelectorAll('nav button')) b.addEventListener('click', () => showTab(b.dataset.tab));
  $('#composer').addEventListener('submit', send);
  $('#message').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $('#composer').requestSubmit();
    }
  });
  $('#stop').addEventListener('click', stop);
  $('#session-key').addEventListener('change', loadHistory);
  $('#logs-follow').addEventListener('change', () => tailLogs(false));
  $('#connect-form').addEventListener('submit', (e) => {
    e.preventDefault();
    saved.token = $('#token').value.trim();
    $('#token').value = '';
    connect();
  });
  if (!saved.token) {
    setStatus('Not connected: a token is needed');
    askToken();
    return;
  }
  connect();
}

main();
