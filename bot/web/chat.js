// The customer web chat (/chat, and /chat?embed=1 inside the widget's iframe).
//
// This module also exports the pieces the call page shares with it (API calls, stored
// conversations, WebSocket addresses, the queue/state banner with its callback form), so that
// both pages word the queue the same way. The chat itself only starts on the chat page.
//
// Security rule for the whole file: text that comes from the server or the customer is only ever
// put into the page with textContent / createTextNode, never as HTML.

export const MAX_MESSAGE_LENGTH = 1000;
const CHAT_STORAGE_KEY = 'telco-chat';
const COUNTER_FROM = 800; // show the remaining characters only when they start to matter
const TYPING_EVERY_MS = 2000;
const AGENT_TYPING_EXPIRES_MS = 8000; // if the "stopped typing" event never comes
const BOT_THINKING_EXPIRES_MS = 20000;
// The gateway restarts within seconds: a page should not wait much longer than that to notice.
const RECONNECT_MAX_MS = 10000;
const FROM_CALL = 'Seguimos por escrito. La llamada no continúa en este chat: cuéntenos, por favor, en qué podemos ayudarle.';
const UNANSWERED = 'Disculpe, no hemos podido responder a su último mensaje. ¿Puede enviarlo de nuevo, por favor?';

// ---------------------------------------------------------------------------------------------
// Shared helpers (also used by call.js)
// ---------------------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, serverText, data) {
    super(serverText || `HTTP ${status}`);
    this.status = status; // 0 when the request never reached the server
    this.serverText = serverText;
    this.data = data;
  }
}

// JSON request to the gateway. Errors become ApiError so callers can branch on the status.
export async function api(method, path, { token, body } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (err) {
    throw new ApiError(0, '', null);
  }
  let data = null;
  const text = await response.text().catch(() => '');
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) throw new ApiError(response.status, errorText(data), data);
  return data;
}

// The error body's shape is not fixed by the API description, so accept the usual ones.
function errorText(data) {
  if (!data || typeof data !== 'object') return '';
  for (const key of ['text', 'message', 'error', 'detail']) {
    if (typeof data[key] === 'string' && data[key].trim()) return data[key].trim();
  }
  if (data.error && typeof data.error.message === 'string') return data.error.message;
  return '';
}

export function conversationPath(id, suffix = '') {
  return `/api/conversations/${encodeURIComponent(id)}${suffix}`;
}

export function wsUrl(path) {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}${path}`;
}

// localStorage can throw (disabled storage, some third-party iframes); the chat must still work
// for this page view, it just will not survive a reload.
const memoryStore = new Map();

export function loadConversation(key) {
  let raw;
  try {
    raw = window.localStorage.getItem(key);
  } catch {
    raw = memoryStore.get(key) || null;
  }
  if (!raw) return null;
  try {
    const value = JSON.parse(raw);
    if (value && typeof value.id === 'string' && typeof value.token === 'string') {
      return { id: value.id, token: value.token };
    }
  } catch {
    /* corrupt value: treated as absent */
  }
  return null;
}

export function saveConversation(key, conversation) {
  const raw = JSON.stringify({ id: conversation.id, token: conversation.token });
  try {
    window.localStorage.setItem(key, raw);
  } catch {
    memoryStore.set(key, raw);
  }
}

export function forgetConversation(key) {
  try {
    window.localStorage.removeItem(key);
  } catch {
    /* nothing stored */
  }
  memoryStore.delete(key);
}

// Exponential backoff with jitter, so many pages do not reconnect in lockstep after a restart.
export function backoffDelay(attempt, maxMs = 30000) {
  const ceiling = Math.min(maxMs, 1000 * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

// Small DOM builder. `props` are set as attributes (never `style`, never HTML), children are
// nodes or strings (strings become text nodes).
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'className') el.className = value;
    else if (name === 'text') el.textContent = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

function setText(el, text) {
  // Only touch the node when the text really changes, so live regions do not repeat themselves.
  if (el.textContent !== text) el.textContent = text;
  el.hidden = !text;
}

export function agentNameOf(conversation) {
  const agent = conversation && conversation.agent;
  if (typeof agent === 'string' && agent) return agent;
  if (agent && typeof agent.name === 'string' && agent.name) return agent.name;
  return '';
}

// "Tiene 1 persona delante" / "No tiene a nadie delante" (no gendered "el siguiente").
export function aheadText(queue) {
  let ahead = queue.ahead;
  if (typeof ahead !== 'number' && typeof queue.position === 'number') ahead = queue.position - 1;
  if (typeof ahead !== 'number' || ahead < 0) return '';
  if (ahead === 0) return 'No tiene a nadie delante.';
  if (ahead === 1) return 'Tiene 1 persona delante.';
  return `Tiene ${ahead} personas delante.`;
}

// "unos 4 minutos".
export function waitText(queue) {
  const minutes = queue.wait_minutes;
  if (typeof minutes !== 'number' || !Number.isFinite(minutes) || minutes < 0) return '';
  const rounded = Math.round(minutes);
  if (rounded === 0) return 'Le atenderán en un momento.';
  if (rounded === 1) return 'Espera estimada: alrededor de un minuto.';
  return `Espera estimada: unos ${rounded} minutos.`;
}

// Spanish numbers (9 digits starting with 6, 7, 8 or 9) or any international number with its
// prefix. Returns the number as we send it, or null when it cannot be a phone number.
export function normalisePhone(input) {
  const compact = input.trim().replace(/[\s.\-()/]/g, '');
  let digits;
  if (/^\+\d+$/.test(compact)) digits = compact.slice(1);
  else if (/^00\d+$/.test(compact)) digits = compact.slice(2);
  else if (/^\d+$/.test(compact)) {
    return /^[6789]\d{8}$/.test(compact) ? `+34 ${group(compact)}` : null;
  } else return null;
  if (digits.startsWith('34')) {
    const national = digits.slice(2);
    return /^[6789]\d{8}$/.test(national) ? `+34 ${group(national)}` : null;
  }
  return digits.length >= 8 && digits.length <= 15 ? `+${digits}` : null;
}

function group(nine) {
  return `${nine.slice(0, 3)} ${nine.slice(3, 6)} ${nine.slice(6)}`;
}

// The banner under the chat header (and on the call page): queue position and wait, the
// offers ("Prefiero que me llamen", "Seguir con el asistente"), who is attending, or that it is
// over. Built in JS so both pages share one wording; inputs keep their values across updates.
// The callback form stays folded behind its button until the customer asks for it: open on a
// phone, it would fill the screen and push the conversation out of view.
export class StatusPanel {
  constructor(root, { kind, onCallback, onBackToBot, onNewConversation }) {
    this.root = root;
    this.kind = kind; // 'chat' | 'call'
    this.onCallback = onCallback;
    this.onBackToBot = onBackToBot;
    this.onNewConversation = onNewConversation;
    this.callback = null; // the callback the customer asked for, to confirm it once closed
    this.callbackOpen = false; // the customer unfolded the callback form
    this.offersCallback = false;

    root.classList.add('status-panel');
    root.hidden = true;
    this.title = h('p', { className: 'status-title' });
    // Position and wait share one line: the banner must leave room for the conversation.
    this.position = h('span', { className: 'status-position' });
    this.wait = h('span', { className: 'status-wait' });
    this.note = h('p', { className: 'status-line status-note' });
    const live = h('div', { className: 'status-text', 'aria-live': 'polite' },
      this.title, h('p', { className: 'status-line' }, this.position, ' ', this.wait), this.note);

    this.callbackToggle = h('button', {
      type: 'button', id: 'callback-toggle', className: 'button secondary callback-toggle',
      'aria-expanded': 'false', 'aria-controls': 'callback-form',
    }, 'Prefiero que me llamen');
    this.callbackToggle.addEventListener('click',
      () => this.setCallbackOpen(!this.callbackOpen, { focus: true }));
    this.backToBot = h('button', { type: 'button', id: 'back-to-bot', className: 'button secondary' },
      'Seguir con el asistente');
    this.backToBot.addEventListener('click', () => this.backToBotClicked());
    this.newConversation = h('button', { type: 'button', id: 'new-conversation', className: 'button' },
      'Empezar una conversación nueva');
    this.newConversation.addEventListener('click', () => this.onNewConversation && this.onNewConversation());
    this.actions = h('div', { className: 'status-actions' },
      this.callbackToggle, this.backToBot, this.newConversation);

    this.form = this.buildCallbackForm();
    this.actionStatus = h('p', { className: 'form-status', role: 'alert', hidden: true });
    root.replaceChildren(live, this.actions, this.actionStatus, this.form);
    this.update({ state: 'bot' });
  }

  buildCallbackForm() {
    this.phone = h('input', {
      id: 'callback-phone', name: 'phone', type: 'tel', autocomplete: 'tel', inputmode: 'tel',
      required: true, maxlength: 30, placeholder: '600 000 000',
      'aria-describedby': 'callback-phone-error',
    });
    this.phoneError = h('p', { id: 'callback-phone-error', className: 'field-error', hidden: true });
    this.when = h('input', {
      id: 'callback-when', name: 'when', type: 'text', list: 'callback-when-options',
      maxlength: 100, autocomplete: 'off', placeholder: 'Por ejemplo, hoy por la tarde',
      'aria-describedby': 'callback-when-hint',
    });
    const options = h('datalist', { id: 'callback-when-options' },
      ['Lo antes posible', 'Hoy por la mañana', 'Hoy por la tarde', 'Mañana por la mañana',
        'Mañana por la tarde'].map((text) => h('option', { value: text })));
    this.submit = h('button', { type: 'submit', className: 'button' }, 'Quiero que me llamen');
    this.cancel = h('button', { type: 'button', className: 'button secondary callback-cancel' }, 'Cancelar');
    this.cancel.addEventListener('click', () => this.setCallbackOpen(false, { focus: true }));
    this.formStatus = h('p', { className: 'form-status', role: 'alert', hidden: true });
    const form = h('form', { id: 'callback-form', className: 'callback-form', novalidate: true, hidden: true },
      h('p', { className: 'callback-intro' },
        '¿Prefiere no esperar? Le llamamos nosotros.'),
      h('div', { className: 'field' },
        h('label', { for: 'callback-phone' }, 'Teléfono'), this.phone, this.phoneError),
      h('div', { className: 'field' },
        h('label', { for: 'callback-when' }, '¿Cuándo prefiere que le llamemos?'), this.when,
        h('p', { id: 'callback-when-hint', className: 'field-hint' },
          'Si lo deja en blanco, le llamaremos lo antes posible.'),
        options),
      h('div', { className: 'callback-buttons' }, this.submit, ' ', this.cancel),
      this.formStatus);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submitCallback();
    });
    form.addEventListener('keydown', (event) => {
      if (event.key !== 'Escape') return;
      // Folds the form only (inside the widget, Escape would otherwise close the whole chat).
      event.stopPropagation();
      this.setCallbackOpen(false, { focus: true });
    });
    this.phone.addEventListener('input', () => {
      if (this.phone.getAttribute('aria-invalid') === 'true') this.showPhoneError('');
    });
    return form;
  }

  update(conversation) {
    const state = conversation.state || 'bot';
    const queue = conversation.queue || null;
    const offers = Array.isArray(conversation.offers) ? conversation.offers : [];
    this.root.dataset.state = state;
    let title = '';
    let position = '';
    let wait = '';
    let note = '';
    if (state === 'queued') {
      const department = queue && queue.department;
      title = department
        ? `Le pasamos con una persona de ${department}.`
        : 'Le pasamos con una persona de nuestro equipo.';
      if (queue) {
        position = aheadText(queue);
        wait = waitText(queue);
        if (queue.agents_online === 0) {
          note = offers.includes('callback')
            ? 'Ahora mismo no hay nadie conectado. Si lo prefiere, le llamamos nosotros.'
            : 'Ahora mismo no hay nadie conectado; le atenderemos en cuanto sea posible.';
        }
      }
    } else if (state === 'agent') {
      const name = agentNameOf(conversation) || this.lastAgentName;
      title = name ? `Le atiende ${name}.` : 'Le atiende una persona de nuestro equipo.';
    } else if (state === 'closed') {
      title = this.kind === 'call' ? '' : 'Esta conversación ha terminado.';
      if (this.callback) {
        const when = this.callback.when ? `, ${this.callback.when}` : '';
        const phone = normalisePhone(String(this.callback.phone || '')) || this.callback.phone;
        note = `Le llamaremos al ${phone}${when}. Gracias por su paciencia.`;
      }
    }
    setText(this.title, title);
    setText(this.position, position);
    setText(this.wait, wait);
    setText(this.note, note);

    const queued = state === 'queued';
    this.offersCallback = queued && offers.includes('callback');
    this.callbackToggle.hidden = !this.offersCallback;
    this.backToBot.hidden = !(queued && offers.includes('bot'));
    this.setCallbackOpen(this.callbackOpen && this.offersCallback);
    this.newConversation.hidden = !(state === 'closed' && this.kind === 'chat');
    this.actions.hidden = this.callbackToggle.hidden && this.backToBot.hidden && this.newConversation.hidden;
    if (state !== 'queued') setText(this.actionStatus, '');
    this.root.hidden = !(title || position || wait || note || !this.form.hidden || !this.actions.hidden);
  }

  // Unfolds or folds the callback form (only while the callback is on offer). What was typed is
  // kept; messages about the last attempt are not. `focus` moves the focus along with it.
  setCallbackOpen(open, { focus = false } = {}) {
    const show = Boolean(open) && this.offersCallback;
    const wasOpen = !this.form.hidden;
    this.callbackOpen = show;
    this.form.hidden = !show;
    this.callbackToggle.setAttribute('aria-expanded', String(show));
    if (!show && wasOpen) {
      this.showPhoneError('');
      setText(this.formStatus, '');
    }
    if (!focus) return;
    if (show) this.phone.focus();
    else if (!this.callbackToggle.hidden) this.callbackToggle.focus();
  }

  showPhoneError(text) {
    setText(this.phoneError, text);
    if (text) this.phone.setAttribute('aria-invalid', 'true');
    else this.phone.removeAttribute('aria-invalid');
  }

  async submitCallback() {
    setText(this.formStatus, '');
    const raw = this.phone.value;
    if (!raw.trim()) {
      this.showPhoneError('Escriba su número de teléfono para que podamos llamarle.');
      this.phone.focus();
      return;
    }
    const phone = normalisePhone(raw);
    if (!phone) {
      this.showPhoneError(
        'Revise el número, por favor: debe tener 9 cifras, o el prefijo del país si no es español (por ejemplo, +34).');
      this.phone.focus();
      return;
    }
    this.showPhoneError('');
    const when = this.when.value.trim() || 'lo antes posible';
    this.submit.disabled = true;
    this.submit.textContent = 'Enviando…';
    try {
      const result = await this.onCallback({ phone, when });
      this.callback = (result && result.callback) || { phone, when };
      this.form.reset();
      if (result && result.conversation) this.update(result.conversation);
    } catch (err) {
      setText(this.formStatus, friendlyError(err,
        'No hemos podido guardar su teléfono. Inténtelo de nuevo en unos segundos, por favor.'));
    } finally {
      this.submit.disabled = false;
      this.submit.textContent = 'Quiero que me llamen';
    }
  }

  async backToBotClicked() {
    this.backToBot.disabled = true;
    setText(this.actionStatus, '');
    try {
      const snapshot = await this.onBackToBot();
      if (snapshot) this.update(snapshot);
    } catch (err) {
      setText(this.actionStatus, friendlyError(err,
        'No hemos podido volver con el asistente. Inténtelo de nuevo, por favor.'));
    } finally {
      this.backToBot.disabled = false;
    }
  }
}

// The gateway's error bodies ({"error": "…"}) are written for the customer, in Spanish; use
// them, except for "not found / not allowed", which mean nothing to the person in this context.
// Without a body (a proxy's error page, no network) our own wording is used.
export function friendlyError(err, fallback) {
  if (err instanceof ApiError) {
    if (err.status === 0) return 'No hay conexión con el servicio. Compruebe su conexión a internet y vuelva a intentarlo.';
    if (err.serverText && ![401, 403, 404].includes(err.status)) return err.serverText;
    if (err.status === 429) return 'Ha enviado varias peticiones seguidas. Espere unos segundos, por favor.';
  }
  return fallback;
}

// ---------------------------------------------------------------------------------------------
// The chat page
// ---------------------------------------------------------------------------------------------

// Where the chat keeps its {id, token}. Normally this page's localStorage. Inside the widget on
// another site, browsers that block third-party storage (Safari, Firefox, Chrome with
// third-party cookies blocked) refuse it; then the widget keeps the pair in the host page's
// storage for us and hands it back when the frame loads (see widget.js), so the conversation
// still survives a reload.
class ChatStore {
  constructor(embed) {
    this.viaParent = embed && window.parent !== window && !localStorageWorks();
  }

  async load() {
    if (!this.viaParent) return loadConversation(CHAT_STORAGE_KEY);
    return new Promise((resolve) => {
      const done = (value) => {
        window.removeEventListener('message', onMessage);
        window.clearTimeout(timer);
        resolve(value);
      };
      const onMessage = (event) => {
        if (event.source !== window.parent || !event.data || event.data.type !== 'telco-chat:stored') return;
        const value = event.data.value;
        done(value && typeof value.id === 'string' && typeof value.token === 'string'
          ? { id: value.id, token: value.token } : null);
      };
      // A page that embeds the chat without our widget never answers: start fresh after a moment.
      const timer = window.setTimeout(() => done(null), 1500);
      window.addEventListener('message', onMessage);
      window.parent.postMessage({ type: 'telco-chat:load' }, '*');
    });
  }

  save(conv) {
    saveConversation(CHAT_STORAGE_KEY, conv);
    if (this.viaParent) this.toParent({ id: conv.id, token: conv.token });
  }

  forget() {
    forgetConversation(CHAT_STORAGE_KEY);
    if (this.viaParent) this.toParent(null);
  }

  toParent(value) {
    // Only our own conversation created inside this frame is ever handed over, and only to the
    // page that embeds it (the one this visitor is using).
    window.parent.postMessage({ type: 'telco-chat:store', value }, parentOrigin());
  }
}

function localStorageWorks() {
  try {
    const probe = 'telco-chat:probe';
    window.localStorage.setItem(probe, '1');
    window.localStorage.removeItem(probe);
    return true;
  } catch {
    return false;
  }
}

// The embedding page's origin where the browser tells it (Chrome, Safari), else any.
function parentOrigin() {
  const ancestors = window.location.ancestorOrigins;
  if (ancestors && ancestors.length && ancestors[0] !== 'null') return ancestors[0];
  return '*';
}

const AUTHOR_LABELS = { bot: 'Asistente', customer: 'Usted', system: 'Aviso' };

class ChatApp {
  constructor() {
    this.embed = new URLSearchParams(window.location.search).get('embed') === '1';
    // Sent here by the call page after a call was cut: say that the call does not go on here.
    this.fromCall = new URLSearchParams(window.location.search).get('from') === 'call';
    this.list = document.getElementById('messages');
    this.input = document.getElementById('message-input');
    this.sendButton = document.getElementById('send');
    this.form = document.getElementById('composer');
    this.counter = document.getElementById('char-counter');
    this.typing = document.getElementById('typing');
    this.notice = document.getElementById('notice');
    this.connection = document.getElementById('connection');

    this.store = new ChatStore(this.embed);
    this.conv = null; // {id, token}
    this.conversation = { state: 'bot' }; // latest snapshot, without messages
    this.messages = new Map(); // message id -> element
    this.payloadTitles = new Map(); // button payload -> title, to show "Sí" rather than "/affirm"
    this.pending = []; // sent, their server copy not here yet (see "sending" below)
    this.pendingCount = 0;
    this.agentName = '';
    this.ws = null;
    this.wsGen = 0; // bumps on every new socket so stale handlers ignore their events
    this.wsReady = false;
    this.reconnectAttempt = 0;
    this.reconnectTimer = null;
    this.connectionTimer = null;
    this.openAttempt = 0;
    this.lastTypingSent = 0;
    this.botTyping = false;
    this.agentTyping = false;
    this.botThinking = false;
    this.botThinkingTimer = null;
    this.agentTypingTimer = null;
    this.noticeTimer = null;

    this.status = new StatusPanel(document.getElementById('queue-status'), {
      kind: 'chat',
      onCallback: (body) => this.request('POST', '/callback', body).then((result) => {
        if (result && result.conversation) this.applySnapshot(result.conversation);
        return result;
      }),
      onBackToBot: () => this.request('POST', '/bot').then((snapshot) => {
        if (snapshot) this.applySnapshot(snapshot);
        return snapshot;
      }),
      onNewConversation: () => this.startOver(),
    });
  }

  start() {
    if (this.embed) document.documentElement.classList.add('embed');
    // The widget reloads a frame that never says this (it loaded while the gateway was away).
    if (this.embed && window.parent !== window) window.parent.postMessage({ type: 'telco-chat:ready' }, '*');
    this.bindComposer();
    this.bindEmbed();
    this.bindScrolling();
    window.addEventListener('online', () => this.reconnectNow());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.reconnectNow();
    });
    this.setComposerEnabled(false);
    this.open();
  }

  // -- conversation lifecycle ----------------------------------------------------------------

  async open() {
    const stored = await this.store.load();
    try {
      if (stored) {
        try {
          const snapshot = await api('GET', conversationPath(stored.id), { token: stored.token });
          this.conv = stored;
          this.applySnapshot(snapshot);
          this.opened();
          return;
        } catch (err) {
          if (!(err instanceof ApiError) || ![401, 403, 404].includes(err.status)) throw err;
          this.store.forget();
        }
      }
      const created = await api('POST', '/api/conversations', { body: { channel: 'webchat' } });
      this.conv = { id: created.id, token: created.token };
      this.store.save(this.conv);
      this.applySnapshot(created.conversation || { messages: [] });
      this.opened();
    } catch (err) {
      // The gateway is down or unreachable: keep trying, the customer sees why nothing happens.
      this.showNotice('No podemos conectar con el servicio en este momento. Lo volvemos a intentar…', 0);
      const delay = backoffDelay(this.openAttempt++, RECONNECT_MAX_MS);
      window.setTimeout(() => this.open(), delay);
    }
  }

  opened() {
    this.openAttempt = 0;
    this.hideNotice();
    this.setComposerEnabled(this.conversation.state !== 'closed');
    this.connect();
    if (this.fromCall) {
      this.fromCall = false;
      this.showNotice(FROM_CALL, 0);
      const params = new URLSearchParams(window.location.search);
      params.delete('from');
      const query = params.toString();
      window.history.replaceState(null, '', window.location.pathname + (query ? `?${query}` : ''));
    }
  }

  async startOver() {
    this.store.forget();
    this.disconnect();
    this.conv = null;
    this.conversation = { state: 'bot' };
    this.messages.clear();
    this.payloadTitles.clear();
    this.pending = [];
    this.agentName = '';
    this.status.callback = null;
    this.list.replaceChildren();
    this.setBotThinking(false);
    this.botTyping = false;
    this.agentTyping = false;
    this.renderTyping();
    this.status.update({ state: 'bot' });
    await this.open();
    this.input.focus();
  }

  // A customer request on this conversation (callback, back to the bot, message fallback).
  request(method, suffix, body) {
    if (!this.conv) return Promise.reject(new ApiError(0, '', null));
    return api(method, conversationPath(this.conv.id, suffix), { token: this.conv.token, body });
  }

  // Merges a snapshot (initial GET, WS snapshot after every (re)connection, POST replies) into
  // the page: messages are deduplicated by id, so it is safe to apply the same one twice.
  applySnapshot(snapshot) {
    if (!snapshot) return;
    for (const message of snapshot.messages || []) this.addMessage(message, { live: false });
    this.applyState(snapshot);
  }

  applyState(conversation) {
    const { messages, ...rest } = conversation;
    this.conversation = { ...this.conversation, ...rest };
    const name = agentNameOf(this.conversation);
    if (name) this.agentName = name;
    this.status.lastAgentName = this.agentName;
    this.status.update(this.conversation);
    const closed = this.conversation.state === 'closed';
    if (this.conv) this.setComposerEnabled(!closed);
    if (closed || this.conversation.state !== 'bot') this.setBotThinking(false);
    if (closed) {
      this.agentTyping = false;
      this.botTyping = false;
      this.renderTyping();
    }
    this.refreshButtons();
  }

  // -- events socket -------------------------------------------------------------------------

  connect() {
    if (!this.conv) return;
    window.clearTimeout(this.reconnectTimer);
    const gen = ++this.wsGen;
    const { id, token } = this.conv;
    let ws;
    try {
      ws = new WebSocket(wsUrl(conversationPath(id, '/events')));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.wsReady = false;
    ws.addEventListener('open', () => {
      if (gen !== this.wsGen) return;
      ws.send(JSON.stringify({ type: 'auth', token }));
    });
    ws.addEventListener('message', (event) => {
      if (gen !== this.wsGen || typeof event.data !== 'string') return;
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      this.handleEvent(data);
    });
    ws.addEventListener('close', (event) => {
      if (gen !== this.wsGen) return;
      this.ws = null;
      this.wsReady = false;
      this.pendingLost();
      if (event.code === 4401) {
        this.authRejected();
        return;
      }
      // A closed conversation has nothing more to say; do not keep knocking.
      if (this.conversation.state === 'closed') return;
      this.scheduleReconnect();
    });
  }

  disconnect() {
    this.wsGen += 1;
    window.clearTimeout(this.reconnectTimer);
    if (this.ws) {
      try {
        this.ws.close(1000);
      } catch {
        /* already closed */
      }
    }
    this.ws = null;
    this.wsReady = false;
    this.setConnectionLost(false);
  }

  scheduleReconnect() {
    this.setConnectionLost(true);
    window.clearTimeout(this.reconnectTimer);
    const delay = backoffDelay(this.reconnectAttempt++, RECONNECT_MAX_MS);
    this.reconnectTimer = window.setTimeout(() => {
      // If the socket keeps failing (a proxy that blocks WebSockets), the agent's replies must
      // still arrive: fetch the conversation on every further attempt.
      if (this.reconnectAttempt >= 2) this.refreshByGet();
      this.connect();
    }, delay);
  }

  async refreshByGet() {
    const conv = this.conv;
    try {
      const snapshot = await this.request('GET', '');
      if (conv !== this.conv) return;
      this.applySnapshot(snapshot);
      this.resendPending();
    } catch {
      /* the socket's own retry will tell */
    }
  }

  reconnectNow() {
    if (this.conv && !this.ws && this.conversation.state !== 'closed') {
      this.reconnectAttempt = 0;
      this.connect();
    }
  }

  // The socket refused our token. Either the conversation is gone (start a new one and say so)
  // or it was a passing problem (retry later).
  async authRejected() {
    try {
      await this.request('GET', '');
      this.scheduleReconnect();
    } catch (err) {
      if (err instanceof ApiError && [401, 403, 404].includes(err.status)) {
        await this.startOver();
        this.showNotice('Su conversación anterior ya no está disponible, así que hemos empezado una nueva.');
      } else {
        this.scheduleReconnect();
      }
    }
  }

  handleEvent(data) {
    switch (data && data.type) {
      case 'snapshot':
        this.wsReady = true;
        this.reconnectAttempt = 0;
        this.setConnectionLost(false);
        // Whatever was typing before the connection dropped is not known any more.
        this.botTyping = false;
        this.agentTyping = false;
        this.renderTyping();
        this.applySnapshot(data.conversation);
        this.resendPending();
        break;
      case 'message':
        if (data.message) this.addMessage(data.message, { live: true });
        break;
      case 'typing':
        if (data.author === 'agent' && typeof data.agent === 'string' && data.agent) this.agentName = data.agent;
        this.onTyping(data.author, data.active !== false);
        break;
      case 'state':
        if (data.conversation) this.applyState(data.conversation);
        break;
      case 'error':
        this.onServerError(data.text);
        break;
      default:
        break;
    }
  }

  setConnectionLost(lost) {
    // Only mention it if it lasts: a quick reconnection should go unnoticed.
    window.clearTimeout(this.connectionTimer);
    if (!lost) {
      this.connection.hidden = true;
      return;
    }
    this.connectionTimer = window.setTimeout(() => {
      this.connection.textContent = 'Se ha perdido la conexión con el servicio. Reconectando…';
      this.connection.hidden = false;
    }, 2000);
  }

  // -- messages ------------------------------------------------------------------------------

  maxMessageId() {
    let max = -Infinity;
    for (const key of this.messages.keys()) {
      const n = Number(key);
      if (Number.isFinite(n) && n > max) max = n;
    }
    return max;
  }

  addMessage(message, { live }) {
    if (!message) return;
    const key = message.id !== undefined && message.id !== null
      ? String(message.id)
      : `${message.at || ''}|${message.author}|${message.text}`;
    if (this.messages.has(key)) return;
    // A line shown before it could be saved (the database was down) now comes saved, with its id.
    const unsaved = `${message.at || ''}|${message.author}|${message.text}`;
    if (key !== unsaved && this.messages.has(unsaved)) {
      this.messages.get(unsaved).remove();
      this.messages.delete(unsaved);
    }

    const author = ['customer', 'bot', 'agent', 'system'].includes(message.author) ? message.author : 'system';
    for (const button of message.buttons || []) {
      if (button && typeof button.payload === 'string' && typeof button.title === 'string') {
        this.payloadTitles.set(button.payload, button.title);
      }
    }
    if (author === 'agent' && message.agent && message.agent !== this.agentName) {
      // The banner says "Le atiende …": it may have been drawn before the name was known.
      this.agentName = message.agent;
      this.status.lastAgentName = message.agent;
      this.status.update(this.conversation);
    }
    if (author === 'customer') this.settlePending(message);

    const el = this.renderMessage(message, key, author);
    this.messages.set(key, el);
    this.insertInOrder(el);
    this.markContinuation(el);
    if (el.nextElementSibling) this.markContinuation(el.nextElementSibling);
    this.refreshButtons();

    if (author !== 'customer' && this.notice.querySelector('.notice-text').textContent === UNANSWERED) {
      this.hideNotice(); // it was answered after all
    }
    if (live && author !== 'customer') {
      this.setBotThinking(false);
      if (author === 'agent') this.agentTyping = false;
      if (author === 'bot') this.botTyping = false;
      this.renderTyping();
      // Tell the widget on the host page, so it can show an unread dot while the panel is shut.
      if (this.embed && window.parent !== window) {
        window.parent.postMessage({ type: 'telco-chat:message', author }, '*');
      }
    }
    if (this.stickToBottom || author === 'customer') this.scrollToBottom();
  }

  renderMessage(message, key, author) {
    const el = h('li', { className: 'message', 'data-author': author, 'data-id': key });
    let label = AUTHOR_LABELS[author] || '';
    if (author === 'agent') label = message.agent || 'Agente';
    el.append(h('span', {
      className: author === 'customer' || author === 'system' ? 'message-author visually-hidden' : 'message-author',
    }, label));
    // So a screen reader says "Asistente: Hola…" rather than running name and text together.
    el.append(h('span', { className: 'visually-hidden' }, ': '));

    let text = typeof message.text === 'string' ? message.text : '';
    // A pressed button is stored as its payload; the customer pressed "Sí", not "/affirm".
    if (author === 'customer' && this.payloadTitles.has(text)) text = this.payloadTitles.get(text);
    const bubble = h('div', { className: 'message-bubble' });
    appendLinkified(bubble, text);
    el.append(bubble);

    const buttons = (message.buttons || []).filter((b) => b && typeof b.title === 'string');
    if (buttons.length && author !== 'customer') {
      const group = h('div', { className: 'message-buttons', role: 'group', 'aria-label': 'Respuestas sugeridas' });
      for (const button of buttons) {
        const payload = typeof button.payload === 'string' && button.payload ? button.payload : button.title;
        const b = h('button', { type: 'button', className: 'chip' }, button.title);
        b.addEventListener('click', () => {
          if (this.send(payload, button.title)) {
            el.dataset.used = 'true';
            b.classList.add('chosen');
            this.refreshButtons();
          }
        });
        group.append(b);
      }
      el.append(group);
    }

    const time = formatTime(message.at);
    if (time) el.append(h('time', { className: 'message-time', datetime: message.at }, time));
    return el;
  }

  insertInOrder(el) {
    const id = Number(el.dataset.id);
    let before = null;
    if (Number.isFinite(id)) {
      // Walk back from the end: new messages almost always belong there (before the customer's
      // messages still on their way, which stay last).
      let node = this.list.lastElementChild;
      while (node && (node.matches('.pending, .unsent') || Number(node.dataset.id) > id)) {
        before = node;
        node = node.previousElementSibling;
      }
    }
    this.list.insertBefore(el, before);
  }

  // Consecutive messages from the same author share one name label.
  markContinuation(el) {
    const prev = el.previousElementSibling;
    const same = prev && prev.dataset.author === el.dataset.author && el.dataset.author !== 'system'
      && prev.querySelector('.message-author').textContent === el.querySelector('.message-author').textContent;
    el.classList.toggle('continued', Boolean(same));
  }

  // Buttons are answers to the question they came with: once the customer has answered (by
  // button or by typing), or the conversation closed, they no longer apply.
  refreshButtons() {
    const closed = this.conversation.state === 'closed';
    let answered = closed;
    const items = Array.from(this.list.children);
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i];
      const group = item.querySelector('.message-buttons');
      if (group) {
        const disabled = answered || item.dataset.used === 'true';
        for (const b of group.querySelectorAll('button')) b.disabled = disabled;
      }
      if (item.dataset.author === 'customer') answered = true;
    }
  }

  // Follow the conversation while the customer is at the bottom; leave them alone once they
  // scroll up to reread. The list also shrinks and grows with the banner and the keyboard.
  bindScrolling() {
    this.stickToBottom = true;
    let lastTop = 0;
    this.list.addEventListener('scroll', () => {
      // Only an upward scroll lets go: our own scrolling (always downward) may be reported after
      // the banner has already shrunk the list, and must not count as the customer leaving.
      const top = this.list.scrollTop;
      if (this.list.scrollHeight - top - this.list.clientHeight < 80) this.stickToBottom = true;
      else if (top < lastTop) this.stickToBottom = false;
      lastTop = top;
    }, { passive: true });
    if (window.ResizeObserver) {
      new ResizeObserver(() => {
        if (this.stickToBottom) this.scrollToBottom();
      }).observe(this.list);
    }
  }

  scrollToBottom() {
    this.list.scrollTop = this.list.scrollHeight;
    this.stickToBottom = true;
  }

  // -- sending -------------------------------------------------------------------------------
  //
  // Every message the customer sends is shown at once as a pending bubble ("Enviando…") until
  // the server's copy of it arrives (the socket's echo, a POST's answer or a snapshot), which
  // replaces it. While the gateway cannot be reached it says so ("se enviará en cuanto se
  // recupere la conexión") and it is sent once the conversation can be checked again: a
  // snapshot settles what did arrive, and only the rest is sent, once. A message the server
  // refused is given back (in the text box, or marked "No enviado" with a button to retry).

  // Returns true if the message was handed over (the text box may be cleared).
  send(text, title) {
    if (!this.conv || this.conversation.state === 'closed') return false;
    const clean = text.trim();
    if (!clean) return false;
    if (clean.length > MAX_MESSAGE_LENGTH) {
      this.showNotice(`El mensaje es demasiado largo: el máximo son ${MAX_MESSAGE_LENGTH} caracteres.`);
      return false;
    }
    this.pendingCount += 1;
    const entry = {
      text: clean,
      title: title || '',
      afterId: this.maxMessageId(),
      key: `pending-${this.pendingCount}`,
      state: 'sending', // 'sending' | 'sent' (arrived, its copy not yet here) | 'waiting' (offline)
      via: '', // 'ws' | 'post'
      socket: null,
      el: null,
    };
    this.pending.push(entry);
    this.deliver(entry);
    if (this.conversation.state === 'bot') this.setBotThinking(true);
    return true;
  }

  socketReady() {
    return Boolean(this.ws && this.wsReady && this.ws.readyState === WebSocket.OPEN);
  }

  // Hands a pending message to the server: over the events socket when it is up, else by POST.
  deliver(entry) {
    if (this.socketReady()) {
      Object.assign(entry, { state: 'sending', via: 'ws', socket: this.ws });
      this.ws.send(JSON.stringify({ type: 'message', text: entry.text }));
      this.renderPending(entry);
    } else {
      this.sendByPost(entry);
    }
  }

  async sendByPost(entry) {
    Object.assign(entry, { state: 'sending', via: 'post', socket: null });
    this.renderPending(entry);
    const conv = this.conv;
    let result;
    try {
      result = await this.request('POST', '/messages', { text: entry.text });
    } catch (err) {
      if (!this.pending.includes(entry)) return; // its copy arrived meanwhile, or a new start
      this.setBotThinking(false);
      if (outcomeUnknown(err)) {
        // It may or may not have reached the server: kept, and checked when we can.
        entry.state = 'waiting';
        this.renderPending(entry);
        this.checkPending();
      } else {
        this.unsent(entry, friendlyError(err, 'No hemos podido enviar su mensaje. Inténtelo de nuevo, por favor.'));
      }
      return;
    }
    if (conv !== this.conv) return; // the customer started a new conversation meanwhile
    if (result) {
      if (result.conversation) this.applySnapshot(result.conversation);
      for (const message of result.messages || []) this.addMessage(message, { live: true });
    }
    this.setBotThinking(false);
    if (this.pending.includes(entry)) {
      // Saved, but its copy was not in the answer (a person holds the conversation): it comes
      // over the socket, or with the conversation fetched now; it is never sent again.
      entry.state = 'sent';
      this.renderPending(entry);
      if (!this.socketReady()) this.refreshByGet();
    }
  }

  // A copy of one of the customer's own messages came from the server: it is delivered.
  settlePending(message) {
    if (!this.pending.length) return;
    let index = this.pending.findIndex((p) => p.text === message.text || (p.title && p.title === message.text));
    // The server may tidy the text (spaces, length); copies come in sending order anyway.
    if (index < 0 && Number(message.id) > this.pending[0].afterId) index = 0;
    if (index >= 0) this.removePending(this.pending[index]);
  }

  removePending(entry) {
    const index = this.pending.indexOf(entry);
    if (index >= 0) this.pending.splice(index, 1);
    if (entry.el) entry.el.remove();
  }

  // After a snapshot (a reconnection, or the conversation fetched): the messages it shows as
  // received were settled while it was applied; what still waits never arrived: send it once.
  resendPending() {
    for (const entry of [...this.pending]) {
      const lostWithItsSocket = entry.via === 'ws' && entry.socket !== this.ws;
      if (entry.state === 'waiting' || (entry.state === 'sending' && lostWithItsSocket)) this.deliver(entry);
    }
  }

  // Messages whose fate is unknown are checked against the conversation as soon as the
  // gateway answers again (at once when the socket is up, else on reconnection).
  checkPending() {
    if (this.socketReady()) this.refreshByGet();
  }

  // The socket closed: what was sent over it without a copy back waits for the next one.
  pendingLost() {
    for (const entry of this.pending) {
      if (entry.state === 'sending' && entry.via === 'ws') {
        entry.state = 'waiting';
        this.renderPending(entry);
      }
    }
  }

  renderPending(entry) {
    if (!entry.el) {
      entry.el = this.renderMessage({ author: 'customer', text: entry.title || entry.text }, entry.key, 'customer');
      entry.el.classList.add('pending');
      entry.status = h('span', { className: 'message-status' });
      entry.el.append(entry.status);
      this.list.append(entry.el);
      this.markContinuation(entry.el);
      this.refreshButtons();
      this.scrollToBottom();
    }
    entry.el.dataset.state = entry.state;
    setText(entry.status, entry.state === 'waiting'
      ? 'Sin conexión: se enviará en cuanto se recupere la conexión.'
      : 'Enviando…');
  }

  // The server refused the message (too long, too fast, not saved): the customer gets their
  // words back in the text box when it is empty; otherwise (or for a pressed button) the
  // message stays in the list marked as not sent, with a button to send it again.
  unsent(entry, notice) {
    this.removePending(entry);
    if (!entry.title && !this.input.value) {
      this.input.value = entry.text;
      this.onInput();
    } else if (entry.el) {
      entry.el.classList.remove('pending');
      entry.el.classList.add('unsent');
      entry.el.dataset.state = 'unsent';
      const retry = h('button', { type: 'button', className: 'chip message-retry' }, 'Volver a enviar');
      retry.addEventListener('click', () => {
        if (this.send(entry.text, entry.title)) entry.el.remove();
      });
      entry.status.replaceWith(h('span', { className: 'message-status' }, 'No se ha enviado. '), retry);
      this.list.append(entry.el);
    }
    this.refreshButtons();
    this.showNotice(notice);
  }

  onServerError(text) {
    this.setBotThinking(false);
    // An error answers the oldest message still waiting for its copy (too long, too fast…).
    const rejected = this.pending.find((p) => p.via === 'ws' && p.state === 'sending');
    const notice = typeof text === 'string' && text.trim()
      ? text.trim()
      : 'No hemos podido procesar su mensaje. Inténtelo de nuevo, por favor.';
    if (rejected) this.unsent(rejected, notice);
    else this.showNotice(notice);
  }

  // Nothing answered the customer's last message: the turn was lost with a restarting gateway
  // (the assistant always answers within its timeout otherwise). Say so rather than stay silent.
  noticeIfUnanswered() {
    if (this.conversation.state !== 'bot' || this.pending.length) return;
    const last = Array.from(this.list.querySelectorAll('.message:not(.pending):not(.unsent)')).pop();
    if (last && last.dataset.author === 'customer') this.showNotice(UNANSWERED, 0);
  }

  // -- typing --------------------------------------------------------------------------------

  onTyping(author, active) {
    if (author === 'agent') {
      this.agentTyping = active;
      window.clearTimeout(this.agentTypingTimer);
      if (active) {
        this.agentTypingTimer = window.setTimeout(() => {
          this.agentTyping = false;
          this.renderTyping();
        }, AGENT_TYPING_EXPIRES_MS);
      }
    } else if (author === 'bot') {
      this.botTyping = active;
      if (!active) this.setBotThinking(false);
    }
    this.renderTyping();
  }

  // From the moment the customer sends until the reply arrives, the assistant is "writing",
  // even before (or without) the server's own typing event.
  setBotThinking(active) {
    this.botThinking = active;
    window.clearTimeout(this.botThinkingTimer);
    if (active) {
      this.botThinkingTimer = window.setTimeout(() => {
        this.setBotThinking(false);
        this.noticeIfUnanswered();
      }, BOT_THINKING_EXPIRES_MS);
    }
    this.renderTyping();
  }

  renderTyping() {
    let text = '';
    let author = '';
    if (this.agentTyping) {
      author = 'agent';
      text = `${this.agentName || 'El agente'} está escribiendo…`;
    } else if (this.botTyping || this.botThinking) {
      author = 'bot';
      text = 'El asistente está escribiendo…';
    }
    if (this.typing.dataset.author !== author) this.typing.dataset.author = author;
    const label = this.typing.querySelector('.typing-text');
    if (label.textContent !== text) label.textContent = text;
    this.typing.hidden = !text;
  }

  // -- composer ------------------------------------------------------------------------------

  bindComposer() {
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submitComposer();
    });
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        this.submitComposer();
      }
    });
    this.input.addEventListener('input', () => this.onInput());
  }

  submitComposer() {
    if (this.send(this.input.value)) {
      this.input.value = '';
      this.onInput();
    }
    this.input.focus();
  }

  onInput() {
    const length = this.input.value.length;
    const left = MAX_MESSAGE_LENGTH - length;
    let text = '';
    if (left <= 0) text = `Ha llegado al máximo de ${MAX_MESSAGE_LENGTH} caracteres.`;
    else if (length >= COUNTER_FROM) text = left === 1 ? 'Le queda 1 carácter.' : `Le quedan ${left} caracteres.`;
    setText(this.counter, text);
    this.counter.classList.toggle('at-limit', left <= 0);
    this.autosize();

    const now = Date.now();
    if (length && this.wsReady && this.ws && this.ws.readyState === WebSocket.OPEN
        && now - this.lastTypingSent >= TYPING_EVERY_MS) {
      this.lastTypingSent = now;
      this.ws.send(JSON.stringify({ type: 'typing' }));
    }
  }

  autosize() {
    // CSSOM (not a style attribute), so the Content-Security-Policy allows it.
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, 160)}px`;
  }

  setComposerEnabled(enabled) {
    this.input.disabled = !enabled;
    this.sendButton.disabled = !enabled;
    this.input.placeholder = this.conversation.state === 'closed'
      ? 'La conversación ha terminado'
      : 'Escriba su mensaje…';
  }

  // -- notices and embedding -----------------------------------------------------------------

  showNotice(text, timeoutMs = 10000) {
    window.clearTimeout(this.noticeTimer);
    this.notice.querySelector('.notice-text').textContent = text;
    this.notice.hidden = false;
    if (timeoutMs) this.noticeTimer = window.setTimeout(() => this.hideNotice(), timeoutMs);
  }

  hideNotice() {
    window.clearTimeout(this.noticeTimer);
    this.notice.hidden = true;
  }

  bindEmbed() {
    this.notice.querySelector('.notice-close').addEventListener('click', () => this.hideNotice());
    if (!this.embed || window.parent === window) return;
    const closeButton = document.getElementById('close-embed');
    closeButton.hidden = false;
    const close = () => window.parent.postMessage({ type: 'telco-chat:close' }, '*');
    closeButton.addEventListener('click', close);
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') close();
    });
    // The widget asks for focus when its panel opens; only our own parent may.
    window.addEventListener('message', (event) => {
      if (event.source !== window.parent || !event.data || event.data.type !== 'telco-chat:focus') return;
      if (!this.input.disabled) this.input.focus();
    });
  }
}

function formatTime(at) {
  if (!at) return '';
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleTimeString('es-ES', { hour: '2-digit', minute: '2-digit' });
}

// Whether a failed request may still have reached the server (no answer, or a proxy saying the
// gateway is away), as opposed to an answer of the gateway's own that it was refused.
function outcomeUnknown(err) {
  if (!(err instanceof ApiError)) return false;
  return err.status === 0 || ([502, 503, 504].includes(err.status) && !err.serverText);
}

// Plain text with web addresses made clickable. The text stays text: addresses become <a>
// elements built by hand, only for http(s), and everything else is a text node.
function appendLinkified(parent, text) {
  const pattern = /\bhttps?:\/\/[^\s<>"']+/giu;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    let url = match[0];
    // Trailing punctuation usually ends the sentence, not the address.
    const trimmed = url.replace(/[.,;:!?)\]»]+$/u, '');
    url = trimmed;
    parent.append(document.createTextNode(text.slice(last, match.index)));
    const a = h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, url);
    parent.append(a);
    last = match.index + url.length;
  }
  parent.append(document.createTextNode(text.slice(last)));
}

if (document.body && document.body.dataset.page === 'chat') {
  new ChatApp().start();
}
