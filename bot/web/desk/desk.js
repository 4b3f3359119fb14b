// Agent desk: queues, conversation context, live chat and call audio.
//
// Talks to the gateway API described in docs/gateway.md ("Agent desk"). Every text that comes
// from the server (customers may type HTML) goes into the page with textContent, never innerHTML.

import {
  $, capitalize, el, logOut, mmss, staffSession, waitClass, wsUrl,
} from '/desk/common.js';

// Counters for end-to-end tests: the caller's audio arrives, the microphone leaves.
window.deskAudioStats = { receivedBytes: 0, sentFrames: 0 };

const { goLogin, api } = staffSession('/desk');
const TYPING_EVERY_MS = 2000;
const TYPING_SHOWN_MS = 6000;
const SAMPLE_RATE = 16000;

const CHANNELS = { webchat: 'Chat', voice: 'Llamada' };
const STATES = {
  bot: 'Con el asistente',
  queued: 'En cola',
  agent: 'Con un agente',
  closed: 'Cerrada',
};
const INTENTS = {
  greet: 'Saludo',
  goodbye: 'Despedida',
  affirm: 'Dice que sí',
  deny: 'Dice que no',
  thank: 'Da las gracias',
  inform: 'Aporta datos',
  ask_opening_hours: 'Horarios',
  book_appointment: 'Pedir cita',
  reschedule_appointment: 'Cambiar cita',
  cancel_appointment: 'Anular cita',
  check_appointment: 'Consultar cita',
  track_order: 'Seguimiento de pedido',
  request_human: 'Pide hablar con una persona',
  complain: 'Reclamación',
  express_frustration: 'Muestra enfado',
  report_problem: 'Avisa de una avería',
  bot_challenge: 'Pregunta si es un robot',
  out_of_scope: 'Fuera de lo que sabe el asistente',
  nlu_fallback: 'No se le entendió',
};
const AUTHORS = { customer: 'Cliente', bot: 'Asistente', agent: 'Agente', system: 'Sistema' };

const state = {
  me: null,
  queue: { departments: [], mine: [], callbacks: [] },
  queueAt: performance.now(),
  unread: new Set(),
  openId: null,
  detail: null, // {conversation, handoff, agent} of the open conversation
  messages: new Map(), // message id -> Message, open conversation only
  loadSeq: 0,
  ws: null,
  lastTypingSent: 0,
  typingTimer: null,
  call: null, // CallAudio while talking
  intents: null, // [{name, label}] for corrections, loaded once
  intentsLoad: null, // the pending or finished load of `intents`
  corrections: new Map(), // message id -> {open, intent, sending, done, error}, open conversation only
};

// ---------------------------------------------------------------- helpers

const timeFormat = new Intl.DateTimeFormat('es-ES', { hour: '2-digit', minute: '2-digit' });
const dayTimeFormat = new Intl.DateTimeFormat('es-ES', {
  day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit',
});

function clock(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const today = new Date().toDateString() === date.toDateString();
  return today ? timeFormat.format(date) : dayTimeFormat.format(date);
}

const PHONE_LINES = { twilio: 'Teléfono', asterisk: 'Teléfono' };

// A call over a phone line reads "Teléfono"; a call from the browser "Llamada".
function channelLabel(channel, line) {
  return PHONE_LINES[line] || CHANNELS[channel] || capitalize(channel || 'Chat');
}

const SVG_NS = 'http://www.w3.org/2000/svg';
const ICONS = {
  webchat: 'M4 4h16a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z',
  voice: 'M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z',
};

function channelBadge(channel, line) {
  const badge = el('span', `channel channel-${channel === 'voice' ? 'voice' : 'chat'}`);
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'icon');
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', ICONS[channel] || ICONS.webchat);
  svg.append(path);
  badge.append(svg, el('span', null, channelLabel(channel, line)));
  return badge;
}

// The handoff names its department by id; the queue lists carry the names.
function departmentName(id) {
  if (!id) return '';
  const dept = (state.queue.departments || []).find((d) => d.id === id);
  if (dept) return dept.name;
  const item = (state.queue.mine || []).find((w) => w.department === id && w.department_name);
  return item ? item.department_name : String(id);
}

function reasonText(item) {
  return item.reason_text || item.reason || '';
}

// ---------------------------------------------------------------- side lists

function waitingNode(item) {
  const node = el('span', waitClass(item.waiting_s), mmss(item.waiting_s));
  node.dataset.waitBase = String(Number(item.waiting_s) || 0);
  node.title = 'Tiempo de espera';
  return node;
}

function unreadNode(item) {
  if (!state.unread.has(item.id)) return null;
  return el('span', 'unread-dot', 'Nuevo');
}

function queueItem(item) {
  const button = el('button', 'queue-item');
  button.type = 'button';
  Object.assign(button.dataset, {
    id: item.id,
    channel: item.channel || '',
    reason: item.reason || '',
    priority: item.priority || 'normal',
  });
  if (item.priority === 'high') button.classList.add('priority-high');
  if (item.id === state.openId) button.classList.add('selected');
  const top = el('span', 'item-top');
  top.append(channelBadge(item.channel, item.line));
  if (item.caller) top.append(el('span', 'item-caller mono', item.caller));
  if (item.priority === 'high') top.append(el('span', 'badge badge-high', 'Prioridad alta'));
  const unread = unreadNode(item);
  if (unread) top.append(unread);
  top.append(waitingNode(item));
  button.append(top, el('span', 'item-reason', reasonText(item)));
  if (item.transferred_to) button.append(el('span', 'item-transfer', `Transferida a ${item.transferred_to}`));
  if (item.signals) button.append(el('span', 'item-signals', item.signals));
  if (item.summary) button.append(el('span', 'item-summary', item.summary));
  if (item.agent) button.append(el('span', 'item-agent', `Con ${item.agent}`));
  button.addEventListener('click', () => openConversation(item.id));
  return button;
}

function mineItem(item) {
  const button = el('button', 'mine-item');
  button.type = 'button';
  Object.assign(button.dataset, { id: item.id, channel: item.channel || '', reason: item.reason || '' });
  if (item.id === state.openId) button.classList.add('selected');
  if (state.unread.has(item.id)) button.classList.add('has-unread');
  const top = el('span', 'item-top');
  top.append(channelBadge(item.channel, item.line));
  if (item.caller) top.append(el('span', 'item-caller mono', item.caller));
  if (item.priority === 'high') top.append(el('span', 'badge badge-high', 'Prioridad alta'));
  const unread = unreadNode(item);
  if (unread) top.append(unread);
  top.append(el('span', 'item-state', capitalize(item.department_name || STATES[item.state] || '')));
  button.append(top, el('span', 'item-reason', reasonText(item)));
  if (item.signals) button.append(el('span', 'item-signals', item.signals));
  if (item.summary) button.append(el('span', 'item-summary', item.summary));
  button.addEventListener('click', () => openConversation(item.id));
  return button;
}

function callbackItem(callback) {
  const li = el('li', 'callback-item');
  li.dataset.id = callback.id;
  const top = el('div', 'item-top');
  top.append(el('span', 'cb-phone mono', groupPhone(callback.phone)));
  if (callback.department_name) top.append(el('span', 'cb-dept', capitalize(callback.department_name)));
  const when = el('div', 'cb-when');
  when.append(el('span', 'muted', 'Cuándo: '), el('span', null, callback.when || 'cuando pueda'));
  const created = clock(callback.created_at);
  const foot = el('div', 'cb-foot');
  foot.append(el('span', 'muted small', created ? `Pedida ${created}` : ''));
  const actions = el('span', 'cb-actions');
  if (callback.conversation) {
    const view = el('button', 'btn btn-small btn-ghost', 'Ver');
    view.type = 'button';
    view.title = 'Ver la conversación';
    view.addEventListener('click', () => openConversation(callback.conversation));
    actions.append(view);
  }
  const done = el('button', 'btn btn-small cb-done', 'Hecha');
  done.type = 'button';
  done.addEventListener('click', () => markCallbackDone(callback, done));
  actions.append(done);
  foot.append(actions);
  li.append(top, when, foot);
  return li;
}

function emptyNode(tag, text) {
  return el(tag, 'empty', text);
}

function renderQueues() {
  const root = $('queues');
  const departments = state.queue.departments || [];
  let total = 0;
  root.replaceChildren();
  for (const dept of departments) {
    const waiting = dept.waiting || [];
    total += waiting.length;
    const group = el('section', 'dept-group');
    group.dataset.department = dept.id;
    const head = el('h3', 'dept-head');
    head.append(el('span', 'dept-name', capitalize(dept.name)), el('span', 'count', waiting.length));
    const list = el('ul', 'item-list');
    for (const item of waiting) {
      const li = el('li');
      li.append(queueItem(item));
      list.append(li);
    }
    if (!waiting.length) list.append(emptyNode('li', 'Nadie esperando.'));
    group.append(head, list);
    root.append(group);
  }
  if (!departments.length) root.append(emptyNode('p', 'No tiene colas asignadas.'));
  $('queues-count').textContent = total;
  $('queues-count').classList.toggle('count-active', total > 0);
  return total;
}

function renderMine() {
  const list = $('mine');
  const mine = state.queue.mine || [];
  list.replaceChildren();
  for (const item of mine) {
    const li = el('li');
    li.append(mineItem(item));
    list.append(li);
  }
  if (!mine.length) list.append(emptyNode('li', 'No está atendiendo ninguna conversación.'));
  $('mine-count').textContent = mine.length;
}

function renderCallbacks() {
  const list = $('callbacks');
  const open = (state.queue.callbacks || []).filter((cb) => !cb.done);
  list.replaceChildren(...open.map(callbackItem));
  if (!open.length) list.append(emptyNode('li', 'No hay devoluciones pendientes.'));
  $('callbacks-count').textContent = open.length;
}

function renderLists() {
  const waiting = renderQueues();
  renderMine();
  renderCallbacks();
  document.title = waiting ? `(${waiting}) Mesa de atención` : 'Mesa de atención';
}

function setQueue(queue) {
  state.queue = {
    departments: (queue && queue.departments) || [],
    mine: (queue && queue.mine) || [],
    callbacks: (queue && queue.callbacks) || [],
  };
  state.queueAt = performance.now();
  renderLists();
}

async function refreshQueue() {
  try {
    setQueue(await api('GET', '/api/desk/queue'));
  } catch (err) {
    if (err.status !== 401) setConnection('error', 'No se pudo cargar la cola');
  }
}

// Waiting times tick on the client from the server's `waiting_s`.
function tick() {
  const elapsed = (performance.now() - state.queueAt) / 1000;
  for (const node of document.querySelectorAll('[data-wait-base]')) {
    const seconds = Number(node.dataset.waitBase) + elapsed;
    node.textContent = mmss(seconds);
    node.className = waitClass(seconds);
  }
  if (state.call) state.call.tick();
}

async function markCallbackDone(callback, button) {
  button.disabled = true;
  try {
    await api('POST', `/api/desk/callbacks/${encodeURIComponent(callback.id)}/done`);
    state.queue.callbacks = state.queue.callbacks.filter((cb) => cb.id !== callback.id);
    renderCallbacks();
  } catch (err) {
    button.disabled = false;
    const item = button.closest('.callback-item');
    if (!item || err.status === 401) return;
    let error = item.querySelector('.cb-error');
    if (!error) {
      error = el('div', 'cb-error');
      item.append(error);
    }
    error.textContent = err.message;
  }
}

// ---------------------------------------------------------------- detail panel

function notice(text, kind) {
  const box = $('detail-notice');
  box.textContent = text || '';
  box.hidden = !text;
  box.dataset.kind = kind || 'info';
}

function isMine(detail) {
  const agent = detail && detail.agent;
  if (!agent || !state.me) return false;
  if (agent.id !== undefined && state.me.id !== undefined) return agent.id === state.me.id;
  return agent.username === state.me.username;
}

function messageNode(message) {
  const author = message.author || 'system';
  const node = el('div', `message message-${author}`);
  node.dataset.author = author;
  if (message.id !== undefined) node.dataset.id = message.id;
  const meta = el('div', 'message-meta');
  const who = author === 'agent' ? message.agent || AUTHORS.agent : AUTHORS[author] || author;
  meta.append(el('span', 'message-author', who), el('span', 'message-time', clock(message.at)));
  const correctable = canCorrect(message);
  if (correctable) meta.append(correctButton(message.id));
  node.append(meta, el('div', 'message-text', message.text || ''));
  const buttons = message.buttons || [];
  if (buttons.length) {
    const row = el('div', 'message-buttons');
    row.title = 'Opciones que se le ofrecieron al cliente';
    for (const b of buttons) row.append(el('span', 'chip', b.title || b.payload || ''));
    node.append(row);
  }
  if (correctable) {
    const correction = correctionNode(message.id);
    if (correction) node.append(correction);
  }
  return node;
}

// ---------------------------------------------------------------- corrections for the trainers

// The agent says what a customer message really meant; it goes to the trainers' inbox. Each
// message's form lives in state.corrections, so re-rendering the transcript keeps it.

const DONE_TEXT = 'Enviado a entrenamiento. Gracias.';

function canCorrect(message) {
  return message.author === 'customer' && typeof message.id === 'number';
}

function correctButton(id) {
  const entry = state.corrections.get(id);
  const button = el('button', 'correct-button', 'Corregir');
  button.type = 'button';
  button.title = 'Decir qué quería el cliente, para mejorar el asistente';
  button.setAttribute('aria-expanded', entry && entry.open ? 'true' : 'false');
  button.hidden = Boolean(entry && entry.done);
  button.addEventListener('click', () => toggleCorrection(id));
  return button;
}

function option(value, text) {
  const node = el('option', null, text);
  node.value = value;
  return node;
}

function correctionNode(id) {
  const entry = state.corrections.get(id);
  if (!entry) return null;
  if (entry.done) {
    const done = el('p', 'correct-done', DONE_TEXT);
    done.setAttribute('role', 'status');
    return done;
  }
  if (!entry.open) return null;
  const form = el('form', 'correct-form');
  const select = el('select', 'correct-intent');
  select.setAttribute('aria-label', 'Qué quería el cliente');
  const send = el('button', 'btn btn-small btn-primary correct-send', 'Enviar a entrenamiento');
  send.type = 'submit';
  let error = entry.error;
  if (state.intents) {
    select.append(option('', 'Elija qué quería el cliente…'));
    for (const intent of state.intents) select.append(option(intent.name, intent.label || intent.name));
    select.value = entry.intent;
    if (!state.intents.length && !error) error = 'No hay intenciones para elegir.';
  } else {
    select.append(option('', error ? '—' : 'Cargando…'));
  }
  select.disabled = !state.intents || entry.sending;
  send.disabled = !state.intents || !select.value || entry.sending;
  select.addEventListener('change', () => {
    entry.intent = select.value;
    send.disabled = !select.value || entry.sending;
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    select.disabled = true;
    send.disabled = true;
    sendCorrection(id);
  });
  form.append(select, send);
  if (error) {
    const text = el('p', 'correct-error', error);
    text.setAttribute('role', 'alert');
    form.append(text);
  }
  return form;
}

// Draws one message again (its correction changed); the rest of the transcript stays.
// `focus`: 'form' (the list of intents, once it can be used), 'button' («Corregir») or none.
function redrawMessage(id, focus) {
  const message = state.messages.get(id);
  const old = $('transcript').querySelector(`.message[data-id="${id}"]`);
  if (!message || !old) return;
  const node = messageNode(message);
  old.replaceWith(node);
  if (focus === 'button') node.querySelector('.correct-button').focus();
  if (focus !== 'form') return;
  const select = node.querySelector('.correct-intent');
  if (select && !select.disabled) select.focus();
  const form = node.querySelector('.correct-form');
  if (form) form.scrollIntoView({ block: 'nearest' });
}

function loadIntents() {
  if (!state.intentsLoad) {
    state.intentsLoad = api('GET', '/api/desk/intents')
      .then((data) => {
        const intents = (data && Array.isArray(data.intents)) ? data.intents : [];
        return intents
          .filter((intent) => intent && typeof intent.name === 'string')
          .sort((a, b) => String(a.label || a.name).localeCompare(String(b.label || b.name), 'es'));
      })
      .catch((err) => {
        state.intentsLoad = null; // the next «Corregir» tries again
        throw err;
      });
  }
  return state.intentsLoad;
}

async function toggleCorrection(id) {
  let entry = state.corrections.get(id);
  if (!entry) {
    entry = { open: false, intent: '', sending: false, done: false, error: '' };
    state.corrections.set(id, entry);
  }
  if (entry.sending || entry.done) return;
  entry.open = !entry.open;
  entry.error = '';
  redrawMessage(id, entry.open ? 'form' : 'button');
  if (!entry.open || state.intents) return;
  try {
    state.intents = await loadIntents();
  } catch (err) {
    if (err.status === 401) return;
    entry.error = err.message;
  }
  if (state.corrections.get(id) === entry && entry.open) {
    const active = document.activeElement;
    redrawMessage(id, !active || active === document.body ? 'form' : null);
  }
}

async function sendCorrection(id) {
  const entry = state.corrections.get(id);
  const conversationId = state.openId;
  if (!entry || !entry.intent || entry.sending || !conversationId) return;
  entry.sending = true;
  entry.error = '';
  try {
    await api('POST', `/api/desk/conversations/${encodeURIComponent(conversationId)}/corrections`, {
      message_id: id,
      intent: entry.intent,
    });
    entry.done = true;
    entry.open = false;
  } catch (err) {
    entry.error = err.status === 401 ? '' : err.message;
  } finally {
    entry.sending = false;
  }
  if (state.corrections.get(id) === entry) redrawMessage(id, entry.done ? null : 'form');
}

function sortedMessages() {
  return [...state.messages.values()].sort((a, b) => {
    if (typeof a.id === 'number' && typeof b.id === 'number') return a.id - b.id;
    return String(a.at || '').localeCompare(String(b.at || ''));
  });
}

function nearBottom(box) {
  return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
}

function renderTranscript() {
  const box = $('transcript');
  const messages = sortedMessages();
  box.replaceChildren(...messages.map(messageNode));
  if (!messages.length) box.append(emptyNode('p', 'Todavía no hay mensajes.'));
  box.scrollTop = box.scrollHeight;
}

function appendMessage(message) {
  const key = message.id !== undefined ? message.id : `${message.at}|${message.text}`;
  if (state.messages.has(key)) return;
  state.messages.set(key, message);
  const box = $('transcript');
  const stick = nearBottom(box);
  const last = box.lastElementChild;
  const ordered = typeof message.id !== 'number' || !last || !(Number(last.dataset.id) > message.id);
  if (!ordered || box.querySelector('.empty')) {
    renderTranscript();
    return;
  }
  box.append(messageNode(message));
  if (stick || message.author === 'agent') box.scrollTop = box.scrollHeight;
}

function chip(text, className) {
  return el('span', `chip ${className || ''}`.trim(), text);
}

function renderContext() {
  const { conversation, handoff } = state.detail;
  const h = handoff || {};
  const high = h.priority === 'high';
  const dept = h.department_name || departmentName(h.department) || '';
  $('detail-title').textContent = `${channelLabel(conversation.channel, conversation.line)}${dept ? ' · ' + capitalize(dept) : ''}`;
  const chips = $('detail-chips');
  chips.replaceChildren(chip(STATES[conversation.state] || conversation.state, `state state-${conversation.state}`));
  if (high) chips.append(chip('Prioridad alta', 'badge-high'));
  chips.append(chip(`Ref. ${String(conversation.id).slice(0, 8)}`, 'chip-muted mono'));

  $('detail-summary').textContent = h.summary || 'Sin resumen.';
  $('detail-reason').textContent = reasonText(h) || '—';
  $('detail-reason').dataset.reason = h.reason || '';
  const signals = (h.frustration && Array.isArray(h.frustration.reasons)) ? h.frustration.reasons : [];
  $('detail-signals').textContent = signals.length ? capitalize(signals.join('; ')) : '—';
  const priority = $('detail-priority');
  priority.textContent = high ? 'Alta' : h.priority ? 'Normal' : '—';
  priority.classList.toggle('text-high', high);
  $('detail-department').textContent = dept ? capitalize(dept) : '—';
  const caller = conversation.caller ? ` · ${conversation.caller}` : '';
  const transfer = h.transferred_to ? ` · transferida a ${h.transferred_to}` : '';
  $('detail-channel').textContent = channelLabel(conversation.channel, conversation.line) + caller + transfer;
  $('detail-state').textContent = STATES[conversation.state] || conversation.state || '—';
  renderIntents(h.intents || []);
  renderSlots(h.details, h.slots || {});
}

function renderIntents(intents) {
  const list = $('detail-intents');
  const counts = new Map(); // in order of first appearance; repeats shown as "×2"
  for (const intent of intents) {
    const name = typeof intent === 'string' ? intent : (intent && (intent.name || intent.intent)) || '';
    if (name) counts.set(name, (counts.get(name) || 0) + 1);
  }
  list.replaceChildren();
  for (const [name, count] of counts) {
    const li = el('li', 'intent');
    li.dataset.intent = name;
    const label = INTENTS[name] || name.replace(/_/g, ' ');
    li.append(el('span', null, count > 1 ? `${label} ×${count}` : label));
    if (INTENTS[name]) li.append(el('code', 'intent-code', name));
    list.append(li);
  }
  if (!list.children.length) list.append(emptyNode('li', 'Ninguna.'));
}

function slotValue(value) {
  if (typeof value === 'boolean') return value ? 'Sí' : 'No';
  if (Array.isArray(value)) return value.map(slotValue).join(', ');
  if (value && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

// The collected data: readable `details` (label, value) when the handoff has them, else the
// raw slots (a technical handoff carries none of either).
function renderSlots(details, slots) {
  const table = $('detail-slots');
  const body = el('tbody');
  const rows = Array.isArray(details)
    ? details.map((d) => [d.slot, d.label, d.value])
    : Object.entries(slots || {}).map(([key, value]) => [key, key.replace(/_/g, ' '), value]);
  for (const [key, label, value] of rows) {
    if (value === null || value === undefined || value === '') continue;
    const row = el('tr');
    row.dataset.slot = key;
    row.append(el('th', null, String(label)), el('td', null, slotValue(value)));
    body.append(row);
  }
  if (!body.children.length) {
    const row = el('tr', 'empty-row');
    const cell = el('td', 'empty', 'Ningún dato todavía.');
    cell.colSpan = 2;
    row.append(cell);
    body.append(row);
  }
  table.replaceChildren(body);
}

// Buttons and composer follow the conversation's state and who holds it.
function renderActions() {
  const { conversation } = state.detail;
  const mine = conversation.state === 'agent' && isMine(state.detail);
  const voice = conversation.channel === 'voice';
  $('accept').hidden = conversation.state !== 'queued';
  $('hand-back').hidden = !mine;
  $('close-conversation').hidden = !mine;
  $('talk').hidden = !(mine && voice);
  $('composer').hidden = !mine;
  $('composer-hint').hidden = !mine;
  if (!mine) $('close-confirm-bar').hidden = true;
  renderTalkButton();
  let note = '';
  if (conversation.state === 'agent' && !mine) {
    const holder = state.detail.agent && state.detail.agent.name;
    note = holder ? `La atiende ${holder}.` : 'La atiende otra persona.';
  } else if (conversation.state === 'bot') {
    note = 'Esta conversación está ahora con el asistente.';
  } else if (conversation.state === 'closed') {
    note = 'Conversación cerrada.';
  } else if (conversation.state === 'queued') {
    note = 'El cliente espera a que alguien le atienda.';
  } else if (mine && voice && !(state.call && state.call.conversationId === conversation.id)) {
    note = 'El cliente está en línea. Pulse «Hablar» para hablar con él.';
  }
  $('detail-state-note').textContent = note;
  $('detail-state-note').hidden = !note;
}

function renderDetail() {
  $('detail-empty').hidden = true;
  $('detail-body').hidden = false;
  renderContext();
  renderActions();
}

function showEmptyDetail() {
  $('detail-empty').hidden = false;
  $('detail-body').hidden = true;
}

function markSelected() {
  for (const node of document.querySelectorAll('.queue-item, .mine-item')) {
    node.classList.toggle('selected', node.dataset.id === state.openId);
  }
}

async function loadDetail(id) {
  const seq = ++state.loadSeq;
  const data = await api('GET', `/api/desk/conversations/${encodeURIComponent(id)}`);
  if (seq !== state.loadSeq || id !== state.openId) return false;
  state.detail = {
    conversation: data.conversation || { id, state: 'closed', messages: [] },
    handoff: data.handoff || null,
    agent: data.agent || null,
  };
  for (const message of state.detail.conversation.messages || []) {
    state.messages.set(message.id !== undefined ? message.id : `${message.at}|${message.text}`, message);
  }
  return true;
}

async function openConversation(id) {
  if (!id) return;
  const switching = id !== state.openId;
  state.openId = id;
  if (switching) {
    state.messages = new Map();
    state.corrections = new Map();
    state.detail = null;
    notice('');
    hideTyping();
    $('close-confirm-bar').hidden = true;
    $('agent-input').value = '';
    $('transcript').replaceChildren(emptyNode('p', 'Cargando…'));
  }
  state.unread.delete(id);
  history.replaceState(null, '', `#${id}`);
  renderLists();
  renderCallBar();
  try {
    if (!(await loadDetail(id))) return;
  } catch (err) {
    if (err.status === 401 || id !== state.openId) return;
    state.detail = null;
    $('detail-empty').hidden = false;
    $('detail-body').hidden = true;
    const text = err.status === 404 ? 'Esta conversación ya no existe.' : err.message;
    $('detail-empty').querySelector('.empty-title').textContent = text;
    return;
  }
  renderDetail();
  renderTranscript();
  if (switching && !$('composer').hidden) $('agent-input').focus();
}

// Re-read the open conversation (state changed, reconnection) without losing the scroll.
async function refreshDetail() {
  const id = state.openId;
  if (!id) return;
  try {
    if (!(await loadDetail(id))) return;
  } catch (err) {
    return;
  }
  renderDetail();
  const box = $('transcript');
  const stick = nearBottom(box);
  const top = box.scrollTop;
  renderTranscript();
  if (!stick) box.scrollTop = top;
}

async function accept() {
  const id = state.openId;
  const button = $('accept');
  button.disabled = true;
  notice('');
  try {
    await api('POST', `/api/desk/conversations/${encodeURIComponent(id)}/accept`);
  } catch (err) {
    button.disabled = false;
    if (err.status === 409) notice('Otra persona ya la ha aceptado.', 'error');
    else if (err.status !== 401) notice(err.message, 'error');
    refreshQueue();
    refreshDetail();
    return;
  }
  button.disabled = false;
  await Promise.all([refreshQueue(), refreshDetail()]);
  if (!$('composer').hidden) $('agent-input').focus();
}

async function sendMessage(event) {
  if (event) event.preventDefault();
  const input = $('agent-input');
  const text = input.value.trim();
  const id = state.openId;
  if (!text || !id || $('agent-send').disabled) return;
  $('agent-send').disabled = true;
  try {
    const data = await api('POST', `/api/desk/conversations/${encodeURIComponent(id)}/messages`, { text });
    if (input.value.trim() === text) input.value = '';
    if (data && data.message && id === state.openId) appendMessage(data.message);
    if (!$('detail-notice').hidden && $('detail-notice').dataset.kind === 'error') notice('');
  } catch (err) {
    if (err.status !== 401) notice(`No se ha enviado: ${err.message}`, 'error');
  } finally {
    $('agent-send').disabled = false;
    input.focus();
  }
}

function onComposerKey(event) {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendMessage();
  }
}

function onComposerInput() {
  const now = Date.now();
  if (!state.openId || now - state.lastTypingSent < TYPING_EVERY_MS) return;
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify({ type: 'typing', conversation: state.openId }));
    state.lastTypingSent = now;
  }
}

async function handBack() {
  const id = state.openId;
  $('hand-back').disabled = true;
  try {
    await api('POST', `/api/desk/conversations/${encodeURIComponent(id)}/bot`);
    if (state.call && state.call.conversationId === id) stopCall();
  } catch (err) {
    if (err.status !== 401) notice(err.message, 'error');
  } finally {
    $('hand-back').disabled = false;
  }
  await Promise.all([refreshQueue(), refreshDetail()]);
}

function askClose() {
  $('close-confirm-bar').hidden = false;
  $('close-confirm').focus();
}

async function closeConversation() {
  const id = state.openId;
  $('close-confirm').disabled = true;
  try {
    await api('POST', `/api/desk/conversations/${encodeURIComponent(id)}/close`);
    $('close-confirm-bar').hidden = true;
    if (state.call && state.call.conversationId === id) stopCall();
  } catch (err) {
    if (err.status !== 401) notice(err.message, 'error');
  } finally {
    $('close-confirm').disabled = false;
  }
  await Promise.all([refreshQueue(), refreshDetail()]);
}

function showTyping() {
  $('typing-indicator').hidden = false;
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
}

function hideTyping() {
  clearTimeout(state.typingTimer);
  $('typing-indicator').hidden = true;
}

// ---------------------------------------------------------------- events socket

let reconnectAttempt = 0;
let everConnected = false;

function setConnection(status, text) {
  const node = $('connection');
  node.dataset.status = status;
  node.textContent = text;
}

function handleEvent(event) {
  switch (event.type) {
    case 'queue':
      setQueue(event.queue);
      break;
    case 'message':
      onMessageEvent(event);
      break;
    case 'typing':
      if (event.conversation === state.openId) {
        if (event.active === false) hideTyping();
        else showTyping();
      }
      break;
    case 'state':
      onStateEvent(event.conversation || {});
      break;
    default:
      break;
  }
}

function onMessageEvent(event) {
  const message = event.message || {};
  if (event.conversation === state.openId) {
    if (message.author === 'customer') hideTyping();
    appendMessage(message);
    return;
  }
  if (message.author === 'customer' || message.author === 'system') {
    state.unread.add(event.conversation);
    renderLists();
  }
}

function onStateEvent(snapshot) {
  const id = snapshot.id;
  if (state.call && state.call.conversationId === id && ['closed', 'bot'].includes(snapshot.state)) {
    stopCall('La llamada ha terminado.');
  }
  if (id && id === state.openId) refreshDetail();
}

function connectEvents() {
  setConnection('connecting', everConnected ? 'Reconectando…' : 'Conectando…');
  const ws = new WebSocket(wsUrl('/api/desk/events'));
  let openedAt = 0;
  state.ws = ws;
  ws.addEventListener('open', () => {
    openedAt = Date.now();
    setConnection('online', 'En línea');
    if (everConnected) {
      refreshQueue();
      refreshDetail();
    }
    everConnected = true;
  });
  ws.addEventListener('message', (msg) => {
    if (typeof msg.data !== 'string') return;
    let event;
    try {
      event = JSON.parse(msg.data);
    } catch (err) {
      return;
    }
    handleEvent(event);
  });
  ws.addEventListener('close', (ev) => {
    if (state.ws === ws) state.ws = null;
    if (ev.code === 4401) {
      goLogin();
      return;
    }
    // a connection that lived a while resets the backoff; one that drops at once does not
    if (openedAt && Date.now() - openedAt > 10000) reconnectAttempt = 0;
    const delay = Math.min(30000, 1000 * 2 ** reconnectAttempt) * (0.8 + Math.random() * 0.4);
    reconnectAttempt += 1;
    setConnection('offline', `Sin conexión; reintento en ${Math.round(delay / 1000)} s`);
    setTimeout(connectEvents, delay);
  });
}

// ---------------------------------------------------------------- call audio

// One call's audio: caller PCM played gaplessly, agent microphone sent as 20 ms frames.
class CallAudio {
  constructor(conversationId, hooks) {
    this.conversationId = conversationId;
    this.hooks = hooks;
    this.sources = new Set();
    this.nextTime = 0;
    this.cushion = 0.06; // seconds of caller audio buffered ahead; grows after each underrun
    this.startedAt = Date.now();
    this.muted = false;
    this.stopped = false;
    this.callerLevel = 0;
    this.agentLevel = 0;
  }

  async start() {
    this.ctx = new AudioContext({ latencyHint: 'interactive' });
    if (this.ctx.state === 'suspended') await this.ctx.resume();
    this.playGain = this.ctx.createGain();
    this.playGain.connect(this.ctx.destination);
    const url = wsUrl(`/api/desk/conversations/${encodeURIComponent(this.conversationId)}/audio`);
    this.ws = new WebSocket(url);
    this.ws.binaryType = 'arraybuffer';
    this.ws.addEventListener('message', (msg) => {
      if (typeof msg.data === 'string') this.onControl(msg.data);
      else this.play(msg.data);
    });
    this.ws.addEventListener('close', (ev) => {
      if (!this.stopped) this.hooks.onClosed(ev);
    });
    try {
      await this.startMicrophone();
    } catch (err) {
      if (!this.stopped) this.hooks.onMicError(err);
    }
  }

  async startMicrophone() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error('insecure');
    }
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    if (this.stopped) {
      this.stream.getTracks().forEach((t) => t.stop());
      return;
    }
    // the same capture as the customer's call page: 20 ms frames of 16 kHz int16
    await this.ctx.audioWorklet.addModule('/audio-worklet.js');
    if (this.stopped) return;
    this.mic = this.ctx.createMediaStreamSource(this.stream);
    this.worklet = new AudioWorkletNode(this.ctx, 'pcm-capture', {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      channelCount: 1,
      channelCountMode: 'explicit',
      channelInterpretation: 'speakers',
      processorOptions: { frameMs: 20 },
    });
    this.worklet.port.onmessage = (msg) => this.sendFrame(msg.data && msg.data.pcm);
    // the worklet outputs silence; connecting it keeps it pulled by the graph in every browser
    const sink = this.ctx.createGain();
    sink.gain.value = 0;
    this.mic.connect(this.worklet);
    this.worklet.connect(sink);
    sink.connect(this.ctx.destination);
    this.setMuted(this.muted);
  }

  sendFrame(buffer) {
    if (!(buffer instanceof ArrayBuffer)) return;
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > 32000) return; // network stalled: drop rather than pile up delay
    ws.send(buffer);
    window.deskAudioStats.sentFrames += 1;
    this.agentLevel = Math.max(this.agentLevel * 0.8, this.muted ? 0 : rms(buffer));
  }

  play(buffer) {
    window.deskAudioStats.receivedBytes += buffer.byteLength;
    const count = buffer.byteLength >> 1;
    if (!count || !this.ctx || this.ctx.state === 'closed') return;
    const view = new DataView(buffer);
    const audio = this.ctx.createBuffer(1, count, SAMPLE_RATE);
    const samples = audio.getChannelData(0);
    for (let i = 0; i < count; i += 1) samples[i] = view.getInt16(i * 2, true) / 32768;
    this.callerLevel = Math.max(this.callerLevel * 0.8, rms(buffer));
    const now = this.ctx.currentTime;
    if (this.nextTime > now + 1.5) this.flush(); // more than 1.5 s behind: catch up
    if (this.nextTime < now + 0.01) {
      // first chunk, after a pause, or a late chunk: start again a little ahead of the clock;
      // a chunk that arrives just too late means jitter, so keep a bigger cushion from now on
      const late = this.nextTime > 0 && now - this.nextTime < 0.25;
      if (late) this.cushion = Math.min(0.3, this.cushion + 0.03);
      this.nextTime = now + this.cushion;
    }
    const source = this.ctx.createBufferSource();
    source.buffer = audio;
    source.connect(this.playGain);
    source.addEventListener('ended', () => this.sources.delete(source));
    source.start(this.nextTime);
    this.sources.add(source);
    this.nextTime += audio.duration;
  }

  flush() {
    for (const source of this.sources) {
      try {
        source.stop();
      } catch (err) {
        // already ended
      }
    }
    this.sources.clear();
    this.nextTime = 0;
  }

  onControl(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch (err) {
      return;
    }
    if (msg.type === 'stop') this.flush();
    else if (msg.type === 'ended') this.hooks.onEnded(msg.reason);
  }

  setMuted(muted) {
    this.muted = muted;
    // a disabled track gives silence: the caller hears nothing, frames keep their rhythm
    if (this.stream) this.stream.getAudioTracks().forEach((t) => { t.enabled = !muted; });
  }

  levels() {
    const levels = { caller: this.callerLevel, agent: this.agentLevel };
    this.callerLevel *= 0.85;
    this.agentLevel *= 0.85;
    return levels;
  }

  tick() {
    this.hooks.onTick(Math.floor((Date.now() - this.startedAt) / 1000));
  }

  stop() {
    this.stopped = true;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000, 'agent');
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    if (this.worklet) this.worklet.port.onmessage = null;
    if (this.ctx && this.ctx.state !== 'closed') this.ctx.close();
  }
}

function rms(buffer) {
  const view = new DataView(buffer);
  const count = buffer.byteLength >> 1;
  let sum = 0;
  for (let i = 0; i < count; i += 4) {
    const s = view.getInt16(i * 2, true) / 32768;
    sum += s * s;
  }
  return count ? Math.min(1, Math.sqrt(sum / Math.ceil(count / 4)) * 4) : 0;
}

let meterFrame = 0;

function drawMeters() {
  if (!state.call) return;
  const { caller, agent } = state.call.levels();
  $('meter-caller').style.width = `${Math.round(caller * 100)}%`;
  $('meter-agent').style.width = `${Math.round(agent * 100)}%`;
  meterFrame = requestAnimationFrame(drawMeters);
}

function renderTalkButton() {
  const talk = $('talk');
  const active = state.call && state.call.conversationId === state.openId;
  talk.textContent = active ? 'Dejar de hablar' : 'Hablar';
  talk.classList.toggle('btn-primary', !active);
  talk.classList.toggle('btn-danger', Boolean(active));
  talk.setAttribute('aria-pressed', active ? 'true' : 'false');
}

function renderCallBar() {
  const call = state.call;
  $('call-bar').hidden = !call;
  if (!call) return;
  $('call-open').hidden = call.conversationId === state.openId;
  $('mute').textContent = call.muted ? 'Activar micrófono' : 'Silenciar';
  $('mute').setAttribute('aria-pressed', call.muted ? 'true' : 'false');
  $('call-bar').classList.toggle('muted-call', call.muted);
}

async function startCall() {
  const id = state.openId;
  if (state.call) stopCall();
  notice('');
  const call = new CallAudio(id, {
    onClosed: (ev) => {
      if (ev.code === 4401) goLogin();
      else if (ev.code === 4409) stopCall('Esta llamada no la está atendiendo usted, o ya ha terminado.');
      else stopCall(ev.code === 1000 ? 'La llamada ha terminado.' : 'Se ha cortado el audio de la llamada.');
    },
    onEnded: () => stopCall('La llamada ha terminado.'),
    onMicError: (err) => {
      const why = err && err.message === 'insecure'
        ? 'el navegador solo permite el micrófono en HTTPS o en localhost'
        : 'no hay permiso o no hay micrófono';
      notice(`Puede escuchar al cliente, pero él no le oye: ${why}.`, 'error');
    },
    onTick: (seconds) => {
      $('call-timer').textContent = mmss(seconds);
    },
  });
  state.call = call;
  renderCallBar();
  if (state.detail) renderActions();
  $('call-timer').textContent = '00:00';
  cancelAnimationFrame(meterFrame);
  meterFrame = requestAnimationFrame(drawMeters);
  try {
    await call.start();
  } catch (err) {
    stopCall('No se ha podido iniciar el audio de la llamada.');
  }
}

function stopCall(message) {
  const call = state.call;
  if (!call) return;
  state.call = null;
  call.stop();
  cancelAnimationFrame(meterFrame);
  renderCallBar();
  if (state.detail) renderActions();
  if (message && call.conversationId === state.openId) notice(message, 'info');
}

function toggleTalk() {
  if (state.call && state.call.conversationId === state.openId) stopCall();
  else startCall();
}

function toggleMute() {
  if (!state.call) return;
  state.call.setMuted(!state.call.muted);
  renderCallBar();
}

// ---------------------------------------------------------------- start

async function logout() {
  if (state.call) stopCall();
  await logOut();
}

function renderMe(me) {
  if (me.role === 'trainer') {
    window.location.replace('/trainer'); // trainers work on their own pages, not on the desk
    return;
  }
  $('agent-name').textContent = me.name || me.username || '';
  $('agent-role').textContent = me.role === 'supervisor' ? 'Supervisor' : 'Agente';
  $('supervisor-link').hidden = me.role !== 'supervisor';
  $('trainer-link').hidden = me.role !== 'supervisor';
}

function bind() {
  $('accept').addEventListener('click', accept);
  $('composer').addEventListener('submit', sendMessage);
  $('agent-input').addEventListener('keydown', onComposerKey);
  $('agent-input').addEventListener('input', onComposerInput);
  $('hand-back').addEventListener('click', handBack);
  $('close-conversation').addEventListener('click', askClose);
  $('close-confirm').addEventListener('click', closeConversation);
  $('close-cancel').addEventListener('click', () => { $('close-confirm-bar').hidden = true; });
  $('talk').addEventListener('click', toggleTalk);
  $('talk-stop').addEventListener('click', () => stopCall());
  $('mute').addEventListener('click', toggleMute);
  $('call-open').addEventListener('click', () => state.call && openConversation(state.call.conversationId));
  $('logout').addEventListener('click', logout);
  window.addEventListener('pagehide', () => stopCall());
}

async function main() {
  try {
    state.me = await api('GET', '/api/desk/me');
  } catch (err) {
    if (err.status !== 401) {
      setConnection('error', 'Sin conexión con el servidor; reintentando…');
      setTimeout(main, 5000);
    }
    return;
  }
  renderMe(state.me);
  await refreshQueue();
  connectEvents();
  setInterval(tick, 500);
  const fromHash = window.location.hash.slice(1);
  if (/^[0-9a-f]{32}$/i.test(fromHash)) openConversation(fromHash);
  else showEmptyDetail();
}

bind();
main();

// '+34600123456' → '+34 600 123 456': easier to read out and to dial.
function groupPhone(phone) {
  const digits = String(phone || '');
  const national = digits.slice(-9);
  const prefix = digits.slice(0, -9);
  const grouped = national.replace(/(\d{3})(?=\d)/g, '$1 ');
  return prefix ? `${prefix} ${grouped}` : grouped;
}
