// The gateway connection: wire protocol v1 (docs/protocol.md) for the browser, one WebSocket,
// binary msgpack frames.
//
//   const gw = new Gateway({ name: 'checkout', kind: 'checkout' });
//   gw.subscribe(['sale', 'devices']);           // kept across reconnects
//   gw.on('sale.updated', (data, ev) => ...);    // a topic, its group ('sale') or '*'
//   gw.onConnect = async ({ restarted }) => {...} // after every (re)connect, before calls flow
//   gw.onState(s => ...);                         // connecting|online|offline|unpaired
//   gw.start();
//   const sale = await gw.call('sale.current');   // rejects with GatewayError {code, message, details}
//   gw.can('sale.refund')                          // served by this daemon (system.methods)
//   gw.atLeast(role, 'supervisor')                 // role ranks as the daemon has them
//
// Reconnect: backoff 0.25 s doubling to 2 s; the hello carries `since` = the last event seq
// seen and every subscription is renewed with `since`, so buffered events are replayed. A
// daemon that restarted (welcome.seq below our last seq) starts a new sequence: `onConnect`
// gets `restarted: true` and the page reloads its state from the daemon.
// The token comes from localStorage, or from `#token=...` in the address (stored, then
// removed from the address bar). A page without a token connects with an empty token and is
// `unpaired`: it shows a pairing code (see lib/components/pairing.js).
import { encode, decode } from '@msgpack/msgpack';

export const SUBPROTOCOL = 'gatewayd.v1';
export const TOKEN_KEY = 'gatewayd.token';

export class GatewayError extends Error {
  constructor(code, message, details) {
    super(`${code}: ${message}`);
    this.code = code;
    this.text = message;
    this.details = details || {};
  }
}

export function takeToken() {
  const m = location.hash.match(/(?:^#|&)token=([^&]+)/);
  if (m) {
    localStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    const rest = location.hash.replace(/(?:^#|&)token=[^&]+/, '').replace(/^&/, '');
    history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''));
  }
  return localStorage.getItem(TOKEN_KEY) || '';
}

function groupOf(topic) {
  const i = topic.indexOf('.');
  return i < 0 ? topic : topic.slice(0, i);
}

export class Gateway {
  constructor({ name, kind, url } = {}) {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    this.url = url || `${scheme}://${location.host}/ws`;
    this.name = name || 'web';
    this.kind = kind || 'web';
    this.token = takeToken();
    this.state = 'connecting';
    this.welcome = null;
    this.role = null;
    this.lastSeq = null;
    this.topics = new Set();
    this.pending = new Map();
    this.nextId = 1;
    this.listeners = new Map();
    this.stateListeners = new Set();
    this.waiting = []; // calls made while not online: {resolve, reject, timer}
    this.onConnect = null;
    this.ws = null;
    this.delay = 250;
    this.stopped = false;
    this.connects = 0;
    this.methods = new Map(); // name -> {role, needs_operator}: what this daemon serves
    this.roles = [];          // lowest first, as the daemon ranks them
  }

  // -- public API ---------------------------------------------------------------------------
  start() {
    this._open();
    return this;
  }

  on(topic, fn) {
    if (!this.listeners.has(topic)) this.listeners.set(topic, new Set());
    this.listeners.get(topic).add(fn);
    return () => this.listeners.get(topic).delete(fn);
  }

  onState(fn) {
    this.stateListeners.add(fn);
    fn(this.state);
    return () => this.stateListeners.delete(fn);
  }

  /** Call a method. While the daemon is unreachable the call waits up to `waitMs` for the
   *  link to come back (the offline banner is showing), then rejects with code `offline`.
   *  `raw` sends at once (used during connect, before the page is `online`). */
  async call(method, params = {}, { raw = false, waitMs = 15000 } = {}) {
    if (!raw && this.state !== 'online') await this._waitOnline(waitMs);
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      throw new GatewayError('offline', 'the till daemon is not reachable');
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      ws.send(encode({ type: 'call', id, method, params: params || {} }));
    });
  }

  /** Whether the daemon serves `method` (from system.methods, read at every connect). */
  can(method) {
    return this.methods.has(method);
  }

  /** Whether `role` ranks at least `required`, by the daemon's own order of roles. */
  atLeast(role, required) {
    const have = this.roles.indexOf(role);
    return have >= 0 && have >= this.roles.indexOf(required);
  }

  /** Subscribe (and keep the topics across reconnects). */
  async subscribe(topics) {
    topics.forEach(t => this.topics.add(t));
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.welcome) {
      return this.call('subscribe', { topics }, { raw: true });
    }
    return null;
  }

  setToken(token) {
    this.token = token || '';
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
    this.reconnectNow();
  }

  reconnectNow() {
    this.delay = 250;
    if (this.ws) this.ws.close();
    else this._open();
  }

  stop() {
    this.stopped = true;
    if (this.ws) this.ws.close();
  }

  // -- internals ---------------------------------------------------------------------------
  _setState(state) {
    if (state === this.state) return;
    this.state = state;
    for (const fn of this.stateListeners) fn(state);
    if (state === 'online') {
      const waiting = this.waiting;
      this.waiting = [];
      for (const w of waiting) { clearTimeout(w.timer); w.resolve(); }
    }
  }

  _waitOnline(ms) {
    return new Promise((resolve, reject) => {
      const w = { resolve, reject };
      w.timer = setTimeout(() => {
        this.waiting = this.waiting.filter(x => x !== w);
        reject(new GatewayError('offline', 'the till daemon is not reachable'));
      }, ms);
      this.waiting.push(w);
    });
  }

  _open() {
    if (this.stopped) return;
    let ws;
    try {
      ws = new WebSocket(this.url, SUBPROTOCOL);
    } catch (e) {
      this._scheduleReconnect();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.welcome = null;
    ws.onopen = () => {
      const hello = { type: 'hello', token: this.token, client: { name: this.name, kind: this.kind } };
      if (this.lastSeq !== null) hello.since = this.lastSeq;
      ws.send(encode(hello));
    };
    ws.onmessage = (ev) => {
      let frame;
      try {
        frame = decode(new Uint8Array(ev.data));
      } catch (e) {
        console.error('undecodable frame', e);
        return;
      }
      this._frame(ws, frame);
    };
    ws.onclose = () => this._closed(ws);
    ws.onerror = () => {}; // onclose follows
  }

  async _frame(ws, f) {
    if (f.type === 'event') {
      if (this.lastSeq === null || f.seq > this.lastSeq) this.lastSeq = f.seq;
      this._dispatch(f.topic, f.data, f);
      return;
    }
    if (f.type === 'result' || (f.type === 'error' && f.id != null)) {
      const p = this.pending.get(f.id);
      if (!p) return;
      this.pending.delete(f.id);
      if (f.type === 'result') p.resolve(f.result);
      else p.reject(new GatewayError(f.code, f.message, f.details));
      return;
    }
    if (f.type === 'error') {
      if (!this.welcome && f.code === 'unauthenticated' && this.token) {
        // Our token was refused (revoked, or from another daemon): pair again.
        console.warn('token refused:', f.message);
        this.token = '';
        localStorage.removeItem(TOKEN_KEY);
      }
      this._dispatch('error', f, f);
      return;
    }
    if (f.type === 'welcome') {
      const restarted = this.lastSeq !== null && f.seq < this.lastSeq;
      if (this.lastSeq === null || restarted) this.lastSeq = f.seq;
      this.welcome = f;
      this.role = f.role;
      this.delay = 250;
      this.connects += 1;
      if (f.role === 'unpaired') {
        this._setState('unpaired');
        return;
      }
      try {
        const served = await this.call('system.methods', {}, { raw: true });
        this.methods = new Map(served.methods.map(m => [m.name, m]));
        this.roles = served.roles;
        if (this.topics.size) {
          const res = await this.call(
            'subscribe', { topics: [...this.topics], since: this.lastSeq }, { raw: true });
          if (res && res.gap) this._dispatch('gap', res, null);
        }
        if (this.onConnect) await this.onConnect({ restarted, first: this.connects === 1, welcome: f });
      } catch (e) {
        console.error('connect hook failed', e);
        if (ws !== this.ws || ws.readyState !== WebSocket.OPEN) return;
      }
      if (ws === this.ws && ws.readyState === WebSocket.OPEN) this._setState('online');
    }
  }

  _dispatch(topic, data, frame) {
    const seen = new Set();
    for (const key of [topic, groupOf(topic), '*']) {
      if (seen.has(key)) continue;
      seen.add(key);
      const set = this.listeners.get(key);
      if (!set) continue;
      for (const fn of [...set]) {
        try { fn(data, frame); } catch (e) { console.error(`listener of ${topic} failed`, e); }
      }
    }
  }

  _closed(ws) {
    if (ws !== this.ws) return;
    this.ws = null;
    for (const p of this.pending.values()) {
      p.reject(new GatewayError('connection_lost', `connection lost during ${p.method}`));
    }
    this.pending.clear();
    if (this.stopped) return;
    this._setState(this.state === 'unpaired' && this.token === '' ? 'unpaired' : 'offline');
    this._scheduleReconnect();
  }

  _scheduleReconnect() {
    const delay = this.delay * (0.8 + Math.random() * 0.4);
    this.delay = Math.min(this.delay * 2, 2000);
    setTimeout(() => this._open(), delay);
  }
}
