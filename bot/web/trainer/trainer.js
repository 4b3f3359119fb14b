// Trainer pages: the inbox of messages the assistant was unsure about, the NLU examples, training
// runs with their tests, and the quality report of the latest model.
//
// Talks to the trainer API (/api/trainer/..., see docs). Every text that comes from the server goes
// into the page with textContent, never innerHTML; styles are only set through element.style.

import {
  $, capitalize, el, emptyRow, logOut, staffSession,
} from '/desk/common.js';

// 401 goes to the login page, 403 shows the "not for you" notice
const { api } = staffSession('/trainer', { onForbidden: () => showForbidden(), empty: {} });
const TRAIN_POLL_MS = 1500;
const INBOX_REFRESH_MS = 60000;
const SEARCH_DELAY_MS = 300;
const NEW_INTENT = '__new__';
const INTENT_NAME = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
const ENTITY_NAME = /^[a-z][a-z0-9_]*$/;
const ANNOTATION = /\[([^\]\n]+)\]\(([^)\n]+)\)/g;
const LOW_F1 = 0.8;
const SVG_NS = 'http://www.w3.org/2000/svg';

const ROLES = { trainer: 'Entrenador', supervisor: 'Supervisor', agent: 'Agente' };
const CHANNELS = { webchat: 'Chat', voice: 'Llamada' };
const AUTHORS = { customer: 'Cliente', bot: 'Asistente', agent: 'Agente' };
const STATUSES = {
  training: 'entrenando',
  testing: 'probando',
  activated: 'activado',
  rejected: 'no activado',
  failed: 'falló',
};
const TOPICS = {
  appointments: 'Citas',
  chitchat: 'Conversación general',
  complaints: 'Reclamaciones',
  handoff: 'Pasar con una persona',
  hours: 'Horarios',
  inform: 'Datos que aporta el cliente',
  orders: 'Pedidos',
};
const EXTRA_LABELS = { nlu_fallback: 'No se entendió' };

const TABS = [
  { hash: 'bandeja', tab: 'tab-inbox', panel: 'panel-inbox', title: 'Bandeja', load: () => loadInbox() },
  { hash: 'datos', tab: 'tab-data', panel: 'panel-data', title: 'Datos', load: () => loadData() },
  { hash: 'entrenar', tab: 'tab-train', panel: 'panel-train', title: 'Entrenar', load: () => loadTrainings() },
  { hash: 'calidad', tab: 'tab-quality', panel: 'panel-quality', title: 'Calidad', load: () => loadQuality() },
];

const state = {
  forbidden: false,
  intents: [],
  topics: [],
  entities: [],
  byName: new Map(),
  intentsReady: null, // Promise of the first intents load
  inbox: { items: [], total: 0, selected: null, seq: 0 },
  selection: null, // last text selection in #label-text: {start, end}
  data: { intent: null, q: '', examples: [], problems: [], extra: [], editing: null, seq: 0, timer: 0 },
  train: { timer: 0, wasRunning: false },
  tab: null,
};

// ---------------------------------------------------------------- API and formatting helpers

function toDate(value) {
  if (value === null || value === undefined || value === '') return null;
  const date = typeof value === 'number' ? new Date(value < 1e12 ? value * 1000 : value) : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

const dateFormat = new Intl.DateTimeFormat('es-ES', {
  day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit',
});

function formatDate(value) {
  const date = toDate(value);
  return date ? dateFormat.format(date) : '—';
}

// "hace un momento", "hace 5 min", "hace 2 h", "ayer", "hace 3 días", or the date.
function relativeTime(value) {
  const date = toDate(value);
  if (!date) return '';
  const seconds = Math.max(0, (Date.now() - date.getTime()) / 1000);
  if (seconds < 60) return 'hace un momento';
  if (seconds < 3600) return `hace ${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `hace ${Math.floor(seconds / 3600)} h`;
  if (seconds < 2 * 86400) return 'ayer';
  if (seconds < 7 * 86400) return `hace ${Math.floor(seconds / 86400)} días`;
  return formatDate(value);
}

const percentFormat = new Intl.NumberFormat('es-ES', { style: 'percent', maximumFractionDigits: 1 });
const wholePercentFormat = new Intl.NumberFormat('es-ES', { style: 'percent', maximumFractionDigits: 0 });
const pointsFormat = new Intl.NumberFormat('es-ES', { maximumFractionDigits: 1 });
const isNumber = (v) => typeof v === 'number' && Number.isFinite(v);
const pct = (v) => (isNumber(v) ? percentFormat.format(v) : '—');
const pct0 = (v) => (isNumber(v) ? wholePercentFormat.format(v) : '—');

function labelOf(name) {
  const intent = state.byName.get(name);
  return (intent && intent.label) || EXTRA_LABELS[name] || name || '—';
}

const topicLabel = (topic) => TOPICS[topic] || capitalize(String(topic || 'Otros').replace(/_/g, ' '));

// Intent label in Spanish with the technical name small next to it.
function intentTag(name) {
  const tag = el('span', 'intent-tag');
  tag.append(el('span', 'intent-label', labelOf(name)), el('span', 'intent-code', name));
  return tag;
}

// A sentence with its "[Madrid](city)" annotations shown as highlighted words.
function annotated(text) {
  const fragment = document.createDocumentFragment();
  const value = String(text || '');
  let last = 0;
  for (const match of value.matchAll(ANNOTATION)) {
    if (match.index > last) fragment.append(value.slice(last, match.index));
    const mark = el('mark', 'entity', match[1]);
    mark.append(el('span', 'entity-name', match[2]));
    fragment.append(mark);
    last = match.index + match[0].length;
  }
  if (last < value.length) fragment.append(value.slice(last));
  return fragment;
}

function problemItem(problem) {
  const level = problem.level === 'error' ? 'error' : 'warning';
  const item = el('li', `problem problem-${level}`);
  item.append(el('span', 'problem-level', level === 'error' ? 'Error' : 'Aviso'),
    el('span', 'problem-message', problem.message || ''));
  if (problem.file) {
    const where = problem.line ? `${problem.file}:${problem.line}` : problem.file;
    item.append(el('span', 'problem-where mono', where));
  }
  return item;
}

// Errors first, then warnings, each group in file order.
function sortProblems(problems) {
  const rank = (p) => (p.level === 'error' ? 0 : 1);
  return [...(problems || [])].sort((a, b) => rank(a) - rank(b)
    || String(a.file || '').localeCompare(String(b.file || '')) || (a.line || 0) - (b.line || 0));
}

function fillProblems(list, problems) {
  list.replaceChildren(...sortProblems(problems).map(problemItem));
  list.hidden = !list.children.length;
}

function showNotice(node, text, kind) {
  node.textContent = text || '';
  node.dataset.kind = kind || 'info';
  node.hidden = !text;
}

function setBusy(ids, busy) {
  for (const id of ids) $(id).disabled = busy;
}

function statusBadge(status) {
  return el('span', `status-badge status-${status || 'unknown'}`, STATUSES[status] || status || '—');
}

// ---------------------------------------------------------------- intents and intent pickers

async function loadIntents() {
  const data = await api('GET', '/api/trainer/intents');
  state.intents = [...(data.intents || [])].sort((a, b) => String(a.label).localeCompare(String(b.label), 'es'));
  state.byName = new Map(state.intents.map((intent) => [intent.name, intent]));
  state.topics = data.topics || [];
  state.entities = data.entities || [];
  $('entity-options').replaceChildren(...state.entities.map((name) => new Option(name)));
  for (const prefix of ['label', 'add']) {
    fillIntentSelect($(`${prefix}-intent`), { allowNew: true });
    fillTopicSelect($(`${prefix}-topic`));
    updateIntentPicker(prefix);
  }
  if (state.tab && state.tab.hash === 'datos') renderIntentList();
}

// Waits for the first intents load; a failure was already reported on screen.
async function intentsLoaded() {
  try {
    await state.intentsReady;
  } catch (err) {
    // the selects stay empty; the trainer can reload the page
  }
}

function topicOrder() {
  const topics = [...state.topics];
  for (const intent of state.intents) if (intent.topic && !topics.includes(intent.topic)) topics.push(intent.topic);
  return topics;
}

// [topic or null, intents of that topic] in display order; empty topics left out.
function intentGroups() {
  return [...topicOrder(), null]
    .map((topic) => [topic, state.intents.filter((i) => (topic ? i.topic === topic : !i.topic))])
    .filter(([, intents]) => intents.length);
}

// Options grouped by topic, by Spanish label; keeps the current choice unless `selected` is given.
function fillIntentSelect(select, { allowNew = false, selected } = {}) {
  const keep = selected !== undefined ? selected : select.value;
  select.replaceChildren(new Option('Elija una intención…', ''));
  for (const [topic, intents] of intentGroups()) {
    const group = document.createElement('optgroup');
    group.label = topic ? topicLabel(topic) : 'Otras';
    group.append(...intents.map((i) => new Option(`${i.label} (${i.name})`, i.name)));
    select.append(group);
  }
  if (allowNew) select.append(new Option('Nueva intención…', NEW_INTENT));
  select.value = keep || '';
  if (select.value !== keep) select.value = '';
}

function fillTopicSelect(select) {
  const keep = select.value;
  select.replaceChildren(...topicOrder().map((topic) => new Option(`${topicLabel(topic)} (${topic})`, topic)));
  if (keep) select.value = keep;
}

function updateIntentPicker(prefix) {
  const value = $(`${prefix}-intent`).value;
  $(`${prefix}-new-fields`).hidden = value !== NEW_INTENT;
  const intent = state.byName.get(value);
  $(`${prefix}-intent-help`).textContent = value === NEW_INTENT
    ? 'Cree una intención nueva solo si la frase no encaja en ninguna de las existentes.'
    : (intent && intent.description) || '';
}

function newIntentError(name) {
  if (!name) return 'Escriba un nombre para la nueva intención.';
  if (!INTENT_NAME.test(name)) {
    return 'Use solo minúsculas sin acentos, números y guiones bajos, sin espacios; por ejemplo: consultar_factura.';
  }
  if (state.byName.has(name)) return 'Ya existe una intención con ese nombre: elíjala en la lista.';
  return '';
}

function showNewIntentError(prefix, message) {
  const input = $(`${prefix}-new-intent`);
  input.setAttribute('aria-invalid', message ? 'true' : 'false');
  showNotice($(`${prefix}-new-intent-error`), message, 'error');
}

// The chosen intent: {intent, topic?} or {error} (and the field is marked).
function readIntent(prefix) {
  const value = $(`${prefix}-intent`).value;
  if (!value) return { error: 'Elija la intención que corresponde a la frase.' };
  if (value !== NEW_INTENT) return { intent: value };
  const name = $(`${prefix}-new-intent`).value.trim();
  const error = newIntentError(name);
  showNewIntentError(prefix, error);
  if (error) {
    $(`${prefix}-new-intent`).focus();
    return { error };
  }
  return { intent: name, topic: $(`${prefix}-topic`).value, isNew: true };
}

function wireIntentPicker(prefix) {
  $(`${prefix}-intent`).addEventListener('change', () => updateIntentPicker(prefix));
  $(`${prefix}-new-intent`).addEventListener('input', (event) => {
    const name = event.target.value.trim();
    showNewIntentError(prefix, name ? newIntentError(name) : '');
  });
}

// ---------------------------------------------------------------- Bandeja (inbox)

async function loadInbox() {
  try {
    const data = await api('GET', '/api/trainer/inbox');
    state.inbox.items = data.items || [];
    state.inbox.total = isNumber(data.total) ? data.total : state.inbox.items.length;
    renderInbox();
  } catch (err) {
    if (err.status !== 401 && err.status !== 403) showGlobalError(err.message);
  }
}

function renderInbox() {
  const list = $('inbox-list');
  const focused = list.contains(document.activeElement) ? document.activeElement.dataset.id : null;
  list.replaceChildren(...state.inbox.items.map(inboxItem));
  $('inbox-empty').hidden = state.inbox.items.length > 0;
  $('inbox-total').textContent = state.inbox.total;
  $('inbox-count').textContent = state.inbox.total;
  $('inbox-count').classList.toggle('count-active', state.inbox.total > 0);
  if (focused) {
    const again = list.querySelector(`.inbox-item[data-id="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
}

function inboxItem(item) {
  const li = el('li');
  const button = el('button', 'inbox-item');
  button.type = 'button';
  button.dataset.id = String(item.id);
  const selected = String(item.id) === String(state.inbox.selected);
  button.classList.toggle('selected', selected);
  button.setAttribute('aria-current', selected ? 'true' : 'false');

  const top = el('span', 'item-top');
  top.append(el('span', `channel channel-${item.channel === 'voice' ? 'voice' : 'chat'}`,
    CHANNELS[item.channel] || capitalize(item.channel || 'Chat')),
  el('span', 'item-reason', item.reason_text || ''),
  el('span', 'inbox-time', relativeTime(item.at)));

  const foot = el('span', 'inbox-foot');
  foot.append(intentTag(item.intent));
  if (item.intent !== 'nlu_fallback') foot.append(el('span', 'confidence', pct0(item.confidence)));
  button.append(top, el('span', 'inbox-text', `«${item.text || ''}»`), foot);
  if (item.suggested_intent) {
    button.append(el('span', 'inbox-suggested', `Un agente propone: ${labelOf(item.suggested_intent)}`));
  }
  button.addEventListener('click', () => openItem(item.id));
  li.append(button);
  return li;
}

async function openItem(id) {
  const seq = ++state.inbox.seq;
  state.inbox.selected = id;
  renderInbox();
  $('label-outcome').hidden = true;
  $('inbox-placeholder').hidden = true;
  $('inbox-detail-body').hidden = false;
  $('inbox-context').replaceChildren(el('p', 'empty', 'Cargando la conversación…'));
  const listed = state.inbox.items.find((i) => String(i.id) === String(id));
  await intentsLoaded();
  if (seq !== state.inbox.seq) return;
  if (listed) fillLabelForm(listed);
  try {
    const data = await api('GET', `/api/trainer/inbox/${encodeURIComponent(id)}`);
    if (seq !== state.inbox.seq) return;
    renderContext(data.context || []);
    if (data.item) fillLabelForm(data.item);
  } catch (err) {
    if (seq !== state.inbox.seq) return;
    if (err.status === 404) {
      finishItem(id, 'Este mensaje ya no está pendiente: quizá otra persona lo ha revisado.', [], 'info');
      return;
    }
    $('inbox-context').replaceChildren(el('p', 'form-error', err.message));
  }
}

function renderContext(context) {
  const log = $('inbox-context');
  log.replaceChildren();
  let current = null;
  for (const message of context) {
    const role = AUTHORS[message.role] ? message.role : 'customer';
    const bubble = el('div', `message message-${role}`);
    const meta = el('div', 'message-meta');
    meta.append(el('span', 'message-author', AUTHORS[role]));
    const date = toDate(message.at);
    if (date) meta.append(el('span', 'message-time', date.toLocaleTimeString('es-ES', { hour: '2-digit', minute: '2-digit' })));
    if (message.current) {
      bubble.classList.add('message-current');
      meta.append(el('span', 'current-tag', 'Mensaje a revisar'));
      current = bubble;
    }
    bubble.append(meta, el('div', 'message-text', message.text || ''));
    log.append(bubble);
  }
  if (!context.length) log.append(el('p', 'empty', 'No se conserva el resto de la conversación.'));
  if (current) log.scrollTop = Math.max(0, current.offsetTop - 40);
}

function fillLabelForm(item) {
  $('label-text').value = item.text || '';
  state.selection = null;
  const preferred = [item.suggested_intent, item.intent !== 'nlu_fallback' ? item.intent : null]
    .find((name) => name && state.byName.has(name)) || '';
  fillIntentSelect($('label-intent'), { allowNew: true, selected: preferred });
  $('label-new-intent').value = '';
  showNewIntentError('label', '');
  showNotice($('label-entity-hint'), '');
  updateIntentPicker('label');
  updatePreview();

  const info = $('label-info');
  info.replaceChildren(el('span', 'muted', 'El asistente entendió: '), intentTag(item.intent));
  if (item.intent !== 'nlu_fallback' && isNumber(item.confidence)) {
    info.append(el('span', 'muted', ` con una seguridad del ${pct0(item.confidence)}`));
  }
  if (item.reason_text) info.append(el('span', 'muted', ` · ${item.reason_text}`));
  if (item.suggested_intent) {
    info.append(el('span', 'muted', ' · Un agente propone: '), intentTag(item.suggested_intent));
  }
}

// Errors appear next to the save button; what happened to a finished item, above the list of steps.
function showOutcome(text, kind, problems) {
  const outcome = $('label-outcome');
  if (kind === 'error' && !$('inbox-detail-body').hidden) {
    $('label-form').insertBefore(outcome, $('label-form').querySelector('.form-actions'));
  } else {
    $('inbox-detail-body').before(outcome);
  }
  outcome.hidden = false;
  $('label-next').hidden = true;
  $('label-outcome').dataset.kind = kind;
  $('label-result').textContent = text;
  fillProblems($('label-problems'), problems || []);
}

// The item is done (saved, discarded or gone): it leaves the list and the form closes.
function finishItem(id, text, problems, kind = 'ok') {
  const before = state.inbox.items.length;
  state.inbox.items = state.inbox.items.filter((i) => String(i.id) !== String(id));
  if (state.inbox.items.length < before) state.inbox.total = Math.max(0, state.inbox.total - 1);
  state.inbox.selected = null;
  state.inbox.seq += 1;
  renderInbox();
  $('inbox-detail-body').hidden = true;
  showOutcome(text, kind, problems);
  $('label-next').hidden = !state.inbox.items.length;
  $('label-result').focus();
}

async function saveLabel(event) {
  event.preventDefault();
  const id = state.inbox.selected;
  if (id === null) return;
  const text = $('label-text').value.trim();
  if (!text) {
    showOutcome('Escriba la frase antes de guardarla.', 'error');
    $('label-text').focus();
    return;
  }
  const choice = readIntent('label');
  if (choice.error) {
    showOutcome(choice.error, 'error');
    return;
  }
  const body = { intent: choice.intent, text };
  if (choice.isNew) body.topic = choice.topic;
  setBusy(['label-save', 'label-discard'], true);
  try {
    const data = await api('POST', `/api/trainer/inbox/${encodeURIComponent(id)}/label`, body);
    const example = data.example || {};
    const where = example.file ? `Guardado en ${example.file}, línea ${example.line}.` : 'Guardado como ejemplo.';
    finishItem(id, where, data.problems || []);
    loadIntents().catch(() => {});
  } catch (err) {
    showOutcome(err.message, 'error', err.data.problems);
  } finally {
    setBusy(['label-save', 'label-discard'], false);
  }
}

async function discardItem() {
  const id = state.inbox.selected;
  if (id === null) return;
  setBusy(['label-save', 'label-discard'], true);
  try {
    await api('POST', `/api/trainer/inbox/${encodeURIComponent(id)}/discard`);
    finishItem(id, 'Mensaje descartado: no se usará para entrenar al asistente.', []);
  } catch (err) {
    showOutcome(err.message, 'error');
  } finally {
    setBusy(['label-save', 'label-discard'], false);
  }
}

// ---------------------------------------------------------------- entity marking in #label-text

function rememberSelection() {
  const input = $('label-text');
  if (input.selectionStart !== input.selectionEnd) {
    state.selection = { start: input.selectionStart, end: input.selectionEnd };
  }
}

function annotationRanges(text) {
  return [...text.matchAll(ANNOTATION)].map((m) => [m.index, m.index + m[0].length]);
}

function markEntity() {
  const input = $('label-text');
  const hint = $('label-entity-hint');
  const value = input.value;
  let { start, end } = input.selectionStart !== input.selectionEnd
    ? { start: input.selectionStart, end: input.selectionEnd }
    : state.selection || { start: 0, end: 0 };
  while (start < end && /\s/.test(value[start])) start += 1;
  while (end > start && /\s/.test(value[end - 1])) end -= 1;
  if (start >= end || end > value.length) {
    showNotice(hint, 'Seleccione primero, en la frase, las palabras que quiere marcar.', 'error');
    input.focus();
    return;
  }
  const chosen = value.slice(start, end);
  const overlaps = annotationRanges(value).some(([a, b]) => start < b && end > a);
  if (overlaps || /[[\]()]/.test(chosen)) {
    showNotice(hint, 'Esa parte ya está marcada o contiene corchetes o paréntesis. Quite las marcas y vuelva a probar.', 'error');
    return;
  }
  const entity = $('label-entity').value.trim();
  if (!ENTITY_NAME.test(entity)) {
    showNotice(hint, 'Elija o escriba el tipo de dato en minúsculas y sin espacios; por ejemplo: city.', 'error');
    $('label-entity').focus();
    return;
  }
  const marked = `[${chosen}](${entity})`;
  input.value = value.slice(0, start) + marked + value.slice(end);
  state.selection = null;
  showNotice(hint, '');
  updatePreview();
  input.focus();
  input.setSelectionRange(start + marked.length, start + marked.length);
}

function unmarkEntities() {
  const input = $('label-text');
  input.value = input.value.replace(ANNOTATION, '$1');
  state.selection = null;
  updatePreview();
}

function updatePreview() {
  const text = $('label-text').value;
  const preview = $('label-preview');
  const marked = annotationRanges(text).length > 0;
  preview.replaceChildren();
  if (marked) preview.append(el('span', 'muted small', 'Así quedará: '), annotated(text));
  preview.hidden = !marked;
}

// ---------------------------------------------------------------- Datos (examples)

async function loadData() {
  await intentsLoaded();
  const groups = intentGroups();
  if (!state.data.intent && !state.data.q && groups.length) state.data.intent = groups[0][1][0].name;
  if (!$('add-intent').value && state.data.intent) {
    fillIntentSelect($('add-intent'), { allowNew: true, selected: state.data.intent });
    updateIntentPicker('add');
  }
  renderIntentList();
  await loadExamples();
}

function renderIntentList() {
  const nav = $('intent-list');
  nav.replaceChildren();
  for (const [topic, intents] of intentGroups()) {
    const group = el('div', 'intent-group');
    const list = el('ul', 'item-list');
    for (const intent of intents) {
      const li = el('li');
      const button = el('button', 'intent-item');
      button.type = 'button';
      button.dataset.intent = intent.name;
      const current = !state.data.q && state.data.intent === intent.name;
      button.classList.toggle('selected', current);
      button.setAttribute('aria-current', current ? 'true' : 'false');
      const names = el('span', 'intent-names');
      names.append(el('span', 'intent-label', intent.label), el('span', 'intent-code', intent.name));
      button.append(names, el('span', 'count', intent.examples || 0));
      button.addEventListener('click', () => selectIntent(intent.name));
      li.append(button);
      list.append(li);
    }
    group.append(el('h3', 'intent-group-title', topic ? topicLabel(topic) : 'Otras'), list);
    nav.append(group);
  }
}

function selectIntent(name) {
  state.data.intent = name;
  state.data.q = '';
  state.data.extra = [];
  $('example-search').value = '';
  showNotice($('data-notice'), '');
  if ($('add-intent').value !== NEW_INTENT) fillIntentSelect($('add-intent'), { allowNew: true, selected: name });
  updateIntentPicker('add');
  renderIntentList();
  loadExamples();
}

function onSearchInput() {
  clearTimeout(state.data.timer);
  state.data.timer = setTimeout(() => {
    state.data.q = $('example-search').value.trim();
    state.data.extra = [];
    showNotice($('data-notice'), '');
    renderIntentList();
    loadExamples();
  }, SEARCH_DELAY_MS);
}

async function loadExamples() {
  const seq = ++state.data.seq;
  const params = new URLSearchParams();
  if (state.data.q) params.set('q', state.data.q);
  else if (state.data.intent) params.set('intent', state.data.intent);
  let data;
  try {
    data = await api('GET', `/api/trainer/examples?${params}`);
  } catch (err) {
    if (seq === state.data.seq && err.status !== 401) showNotice($('data-notice'), err.message, 'error');
    return;
  }
  if (seq !== state.data.seq) return;
  state.data.examples = data.examples || [];
  state.data.problems = data.problems || [];
  state.data.editing = null;
  renderExamples();
}

const exampleKey = (file, line) => `${file}:${line}`;

// The whole-data problems plus those returned by the last save, without repeats.
function currentProblems() {
  const seen = new Set();
  return [...state.data.problems, ...state.data.extra].filter((p) => {
    const key = `${p.level}|${p.file}|${p.line}|${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function renderExamples() {
  const { examples, q, intent } = state.data;
  const intentInfo = state.byName.get(intent);
  $('examples-title').textContent = q ? `Resultados de «${q}»` : (intentInfo ? intentInfo.label : 'Ejemplos');
  $('examples-description').textContent = q ? 'Ejemplos de todas las intenciones que contienen esas palabras.'
    : (intentInfo && intentInfo.description) || '';
  $('examples-count').textContent = examples.length;

  const shown = new Set(examples.map((e) => exampleKey(e.file, e.line)));
  const byExample = new Map();
  const others = [];
  for (const problem of currentProblems()) {
    const key = exampleKey(problem.file, problem.line);
    if (problem.file && problem.line && shown.has(key)) {
      if (!byExample.has(key)) byExample.set(key, []);
      byExample.get(key).push(problem);
    } else {
      others.push(problem);
    }
  }
  $('example-list').replaceChildren(...examples.map((e) => exampleItem(e, byExample.get(exampleKey(e.file, e.line)) || [])));
  $('examples-empty').textContent = q ? 'Ningún ejemplo contiene esas palabras.' : 'Esta intención todavía no tiene ejemplos.';
  $('examples-empty').hidden = examples.length > 0;
  renderProblemsPanel(others);
}

function renderProblemsPanel(problems) {
  fillProblems($('data-problems-list'), problems);
  $('data-problems-count').textContent = problems.length;
  $('data-problems-count').classList.toggle('count-error', problems.some((p) => p.level === 'error'));
  $('data-problems-none').hidden = problems.length > 0;
}

function exampleItem(example, problems) {
  const key = exampleKey(example.file, example.line);
  const li = el('li', 'example-item');
  li.dataset.file = example.file;
  li.dataset.line = String(example.line);
  if (state.data.editing === key) {
    li.append(editForm(example));
  } else {
    const body = el('div', 'example-body');
    const text = el('p', 'example-text');
    text.append(annotated(example.text));
    const meta = el('div', 'example-meta');
    if (state.data.q) meta.append(intentTag(example.intent));
    meta.append(el('span', 'mono small muted', key));
    body.append(text, meta);

    const actions = el('div', 'example-actions');
    const edit = el('button', 'btn btn-small example-edit', 'Editar');
    edit.type = 'button';
    edit.setAttribute('aria-label', `Editar «${example.text}»`);
    edit.addEventListener('click', () => startEdit(key));
    const remove = el('button', 'btn btn-small btn-danger-outline example-delete', 'Eliminar');
    remove.type = 'button';
    remove.setAttribute('aria-label', `Eliminar «${example.text}»`);
    remove.addEventListener('click', () => deleteExample(example));
    actions.append(edit, remove);
    li.append(body, actions);
  }
  if (problems.length) {
    const list = el('ul', 'problems example-problems');
    fillProblems(list, problems);
    li.append(list);
  }
  return li;
}

function startEdit(key) {
  state.data.editing = key;
  renderExamples();
  const input = $('example-list').querySelector('.example-edit-text');
  if (input) input.focus();
}

function editForm(example) {
  const form = el('form', 'example-edit-form');
  form.noValidate = true;
  const input = el('input', 'example-edit-text');
  input.type = 'text';
  input.value = example.text;
  input.setAttribute('aria-label', 'Frase del ejemplo');
  const select = el('select', 'example-edit-intent');
  select.setAttribute('aria-label', 'Intención');
  fillIntentSelect(select, { selected: example.intent });
  const save = el('button', 'btn btn-small btn-primary', 'Guardar');
  save.type = 'submit';
  const cancel = el('button', 'btn btn-small btn-ghost', 'Cancelar');
  cancel.type = 'button';
  const error = el('p', 'form-error');
  error.hidden = true;
  const problems = el('ul', 'problems');
  problems.hidden = true;
  cancel.addEventListener('click', () => {
    state.data.editing = null;
    renderExamples();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    saveEdit(example, { input, select, save, error, problems });
  });
  const row = el('div', 'edit-row');
  row.append(input, select, save, cancel);
  form.append(row, error, problems);
  return form;
}

async function saveEdit(example, form) {
  const newText = form.input.value.trim();
  if (!newText) {
    showNotice(form.error, 'La frase no puede quedar vacía.', 'error');
    return;
  }
  if (!form.select.value) {
    showNotice(form.error, 'Elija la intención del ejemplo.', 'error');
    return;
  }
  form.save.disabled = true;
  try {
    const data = await api('PUT', '/api/trainer/examples', {
      file: example.file, line: example.line, text: example.text, new_text: newText, intent: form.select.value,
    });
    state.data.extra = data.problems || [];
    const moved = form.select.value !== example.intent ? ` El ejemplo ha pasado a «${labelOf(form.select.value)}».` : '';
    showNotice($('data-notice'), `Cambios guardados.${moved}`, 'ok');
    await refreshData();
  } catch (err) {
    form.save.disabled = false;
    if (err.status === 409) {
      conflict();
      return;
    }
    showNotice(form.error, err.message, 'error');
    fillProblems(form.problems, err.data.problems || []);
  }
}

async function deleteExample(example) {
  const ok = window.confirm(`¿Eliminar este ejemplo?\n\n«${example.text}»\n\nEl asistente dejará de aprender de esta frase.`);
  if (!ok) return;
  try {
    const data = await api('DELETE', '/api/trainer/examples', { file: example.file, line: example.line, text: example.text });
    state.data.extra = data.problems || [];
    showNotice($('data-notice'), 'Ejemplo eliminado.', 'ok');
    await refreshData();
  } catch (err) {
    if (err.status === 409) conflict();
    else showNotice($('data-notice'), err.message, 'error');
  }
}

function conflict() {
  state.data.extra = [];
  showNotice($('data-notice'), 'El archivo ha cambiado mientras editaba; se ha recargado la lista.', 'warning');
  refreshData();
}

// After any change: the counts of the intent list and the examples shown.
async function refreshData() {
  try {
    await loadIntents();
  } catch (err) {
    // the examples below still reload
  }
  renderIntentList();
  await loadExamples();
}

async function addExample(event) {
  event.preventDefault();
  showNotice($('add-result'), '');
  fillProblems($('add-problems'), []);
  const text = $('add-text').value.trim();
  if (!text) {
    showNotice($('add-result'), 'Escriba la frase de ejemplo.', 'error');
    $('add-text').focus();
    return;
  }
  const choice = readIntent('add');
  if (choice.error) {
    showNotice($('add-result'), choice.error, 'error');
    return;
  }
  const body = { intent: choice.intent, text };
  if (choice.isNew) body.topic = choice.topic;
  $('add-save').disabled = true;
  try {
    const data = await api('POST', '/api/trainer/examples', body);
    const example = data.example || {};
    state.data.extra = data.problems || [];
    $('add-text').value = '';
    $('add-new-intent').value = '';
    if (!state.data.q) state.data.intent = choice.intent;
    await refreshData();
    fillIntentSelect($('add-intent'), { allowNew: true, selected: choice.intent });
    updateIntentPicker('add');
    showNotice($('data-notice'), example.file
      ? `Ejemplo añadido en ${example.file}, línea ${example.line}.` : 'Ejemplo añadido.', 'ok');
    $('add-text').focus();
  } catch (err) {
    showNotice($('add-result'), err.message, 'error');
    fillProblems($('add-problems'), err.data.problems || []);
  } finally {
    $('add-save').disabled = false;
  }
}

// ---------------------------------------------------------------- Entrenar (training runs and models)

async function loadTrainings() {
  clearTimeout(state.train.timer);
  let data;
  try {
    data = await api('GET', '/api/trainer/trainings');
  } catch (err) {
    if (err.status === 401 || err.status === 403) return;
    showNotice($('train-message'), state.train.wasRunning
      ? 'Se ha perdido la conexión con el servidor; se vuelve a intentar…' : err.message, 'error');
    if (state.train.wasRunning) state.train.timer = setTimeout(loadTrainings, TRAIN_POLL_MS * 2);
    return;
  }
  if ($('train-message').dataset.kind === 'error') showNotice($('train-message'), '');
  const running = Boolean(data.current);
  renderTrainings(data);
  if (state.train.wasRunning && !running && state.tab && state.tab.hash === 'calidad') loadQuality();
  state.train.wasRunning = running;
  if (running) state.train.timer = setTimeout(loadTrainings, TRAIN_POLL_MS);
}

function renderTrainings(data) {
  const current = data.current;
  $('train-button').disabled = Boolean(current);
  $('train-badge').hidden = !current;
  $('train-running').hidden = !current;
  if (current) {
    const progress = Math.min(1, Math.max(0, Number(current.progress) || 0));
    $('train-progress').value = progress;
    $('train-percent').textContent = pct0(progress);
    $('train-step').textContent = current.step || capitalize(STATUSES[current.status] || '');
  }
  const latest = current ? null : (data.history || [])[0];
  $('train-result').hidden = !latest;
  if (latest) renderResult(latest);
  renderModels(data.models || []);
  renderHistory(data.history || []);
}

function renderResult(training) {
  $('train-result-title').textContent = `Resultado del entrenamiento del ${formatDate(training.finished_at || training.started_at)}`;
  $('train-summary').textContent = training.summary || capitalize(STATUSES[training.status] || '');
  $('train-summary').dataset.status = training.status || '';
  const scores = training.scores;
  const baseline = training.baseline;
  const body = $('train-scores').tBodies[0];
  body.replaceChildren();
  $('train-scores').hidden = !scores;
  if (scores) {
    body.append(
      scoreRow('F1 macro', scores.macro_f1, baseline && baseline.macro_f1, pct),
      scoreRow('Exactitud', scores.accuracy, baseline && baseline.accuracy, pct),
      conversationsRow(scores, baseline),
    );
  }
  const regressions = training.regressions || [];
  $('train-regressions').replaceChildren(...regressions.map((text) => el('li', null, text)));
  $('train-regressions-block').hidden = !regressions.length;
}

// A difference between two rates, in percentage points: "1,2 puntos", "1 punto".
function points(delta) {
  const text = pointsFormat.format(Math.abs(delta) * 100);
  return `${text} ${text === '1' ? 'punto' : 'puntos'}`;
}

function scoreRow(name, now, before, format) {
  const row = el('tr');
  row.append(el('td', null, name), el('td', 'num', isNumber(before) ? format(before) : '—'),
    el('td', 'num strong', format(now)), changeCell(now, before, points));
  return row;
}

function conversationsRow(scores, baseline) {
  const text = (s) => (s && isNumber(s.conversations_total) ? `${s.conversations_passed} de ${s.conversations_total}` : '—');
  const ratio = (s) => (s && s.conversations_total ? s.conversations_passed / s.conversations_total : null);
  const row = el('tr');
  const sameTotal = baseline && baseline.conversations_total === scores.conversations_total;
  const passedDiff = (d) => {
    if (!sameTotal) return points(d);
    const n = Math.abs((scores.conversations_passed || 0) - (baseline.conversations_passed || 0));
    return `${n} ${n === 1 ? 'conversación' : 'conversaciones'}`;
  };
  row.append(el('td', null, 'Conversaciones de prueba superadas'), el('td', 'num', text(baseline)),
    el('td', 'num strong', text(scores)), changeCell(ratio(scores), ratio(baseline), passedDiff));
  return row;
}

// Arrow and colour: better, worse or unchanged compared with the model that was active.
function changeCell(now, before, describe) {
  const cell = el('td');
  if (!isNumber(now) || !isNumber(before)) {
    cell.append(el('span', 'muted', 'Sin modelo con el que comparar'));
    return cell;
  }
  const delta = now - before;
  if (Math.abs(delta) < 0.0005) {
    cell.append(el('span', 'delta delta-same', '= Sin cambios'));
  } else if (delta > 0) {
    cell.append(el('span', 'delta delta-up', `▲ Mejora ${describe(delta)}`));
  } else {
    cell.append(el('span', 'delta delta-down', `▼ Empeora ${describe(delta)}`));
  }
  return cell;
}

function renderModels(models) {
  const list = $('model-list');
  list.replaceChildren();
  for (const model of models) {
    const item = el('li', `model-item${model.active ? ' model-active' : ''}`);
    item.dataset.name = model.name;
    const info = el('div', 'model-info');
    info.append(el('span', 'model-name mono', model.name),
      el('span', 'muted small', `${formatDate(model.created_at)} · F1 macro ${pct(model.macro_f1)}`));
    item.append(info);
    if (model.active) {
      item.append(el('span', 'badge badge-active', 'Activo'));
    } else {
      const button = el('button', 'btn btn-small model-activate', 'Activar este modelo');
      button.type = 'button';
      button.setAttribute('aria-label', `Activar el modelo ${model.name}`);
      button.addEventListener('click', () => activateModel(model.name, button));
      item.append(button);
    }
    list.append(item);
  }
  if (!models.length) list.append(el('li', 'empty', 'Todavía no hay ningún modelo entrenado.'));
}

function renderHistory(history) {
  const body = $('training-history').tBodies[0];
  body.replaceChildren();
  for (const training of history) {
    const row = el('tr');
    const status = el('td');
    status.append(statusBadge(training.status));
    row.append(el('td', 'nowrap', formatDate(training.started_at)), status,
      el('td', null, training.summary || ''), el('td', 'num', pct(training.scores && training.scores.macro_f1)));
    body.append(row);
  }
  if (!history.length) body.append(emptyRow(4, 'Todavía no se ha entrenado ningún modelo.'));
}

async function startTraining() {
  $('train-button').disabled = true;
  showNotice($('train-message'), '');
  try {
    await api('POST', '/api/trainer/trainings');
  } catch (err) {
    showNotice($('train-message'), err.message, 'error');
  }
  await loadTrainings();
}

async function activateModel(name, button) {
  const ok = window.confirm(`¿Activar el modelo ${name}?\n\nEl asistente empezará a usarlo enseguida para responder a los clientes.`);
  if (!ok) return;
  button.disabled = true;
  try {
    await api('POST', `/api/trainer/models/${encodeURIComponent(name)}/activate`);
    showNotice($('models-message'), `Se ha activado el modelo ${name}.`, 'ok');
  } catch (err) {
    showNotice($('models-message'), err.message, 'error');
  }
  await loadTrainings();
}

// ---------------------------------------------------------------- Calidad (quality report)

async function loadQuality() {
  let data;
  try {
    data = await api('GET', '/api/trainer/quality');
  } catch (err) {
    if (err.status !== 401 && err.status !== 403) showGlobalError(err.message);
    return;
  }
  renderQuality(data.latest, data.history || []);
}

function renderQuality(latest, history) {
  $('quality-empty').hidden = Boolean(latest);
  $('quality-report').hidden = !latest;
  $('quality-history-section').hidden = !history.length;
  renderQualityHistory(history);
  if (!latest) return;
  // the latest report may be of a model that was not activated: say so
  const outcome = {
    activated: 'Este modelo se activó.',
    rejected: 'Este modelo no se activó: el asistente sigue con el anterior.',
  }[latest.status] || '';
  $('quality-meta').textContent =
    `Informe del modelo ${latest.model || '—'}, probado el ${formatDate(latest.at)}. ${outcome}`.trim();
  $('quality-f1').textContent = pct(latest.macro_f1);
  $('quality-accuracy').textContent = pct(latest.accuracy);
  renderIntentScores(latest.intents || []);
  renderConfusions(latest.confusions || []);
  const matrix = $('quality-matrix');
  matrix.hidden = false;
  $('quality-matrix-missing').hidden = true;
  matrix.src = `/api/trainer/quality/confusion.png?t=${encodeURIComponent(latest.training_id ?? latest.at ?? '')}`;
  const sparkline = $('quality-sparkline');
  const svg = sparklineSvg(history);
  sparkline.replaceChildren(svg || el('span', 'muted small', 'Hacen falta al menos dos entrenamientos.'));
}

function renderIntentScores(intents) {
  const body = $('quality-table').tBodies[0];
  body.replaceChildren();
  const sorted = [...intents].sort((a, b) => (a.f1 ?? 1) - (b.f1 ?? 1));
  for (const row of sorted) {
    const tr = el('tr');
    const low = isNumber(row.f1) && row.f1 < LOW_F1;
    tr.classList.toggle('low-f1', low);
    const name = el('td');
    const tag = el('span', 'intent-tag');
    tag.append(el('span', 'intent-label', row.label || labelOf(row.intent)), el('span', 'intent-code', row.intent));
    name.append(tag);
    if (low) name.append(el('span', 'badge badge-low', 'Mejorable'));
    tr.append(name, el('td', 'num', pct(row.precision)), el('td', 'num', pct(row.recall)),
      el('td', 'num strong', pct(row.f1)), el('td', 'num', row.support ?? '—'));
    body.append(tr);
  }
  if (!intents.length) body.append(emptyRow(5, 'El informe no tiene resultados por intención.'));
}

function renderConfusions(confusions) {
  const list = $('quality-confusions');
  list.replaceChildren();
  for (const pair of confusions) {
    const item = el('li', 'confusion');
    const head = el('p', 'confusion-head');
    head.append(el('span', 'muted', 'Se esperaba '), intentTag(pair.expected),
      el('span', 'muted', ' y entendió '), intentTag(pair.predicted),
      el('span', 'confusion-count', `${pair.count} ${pair.count === 1 ? 'vez' : 'veces'}`));
    const examples = el('ul', 'confusion-examples');
    for (const text of pair.examples || []) {
      const li = el('li');
      li.append('«', annotated(text), '»');
      examples.append(li);
    }
    item.append(head, examples);
    list.append(item);
  }
  if (!confusions.length) list.append(el('li', 'empty', 'No hay confusiones entre intenciones.'));
}

function renderQualityHistory(history) {
  const body = $('quality-history').tBodies[0];
  body.replaceChildren();
  for (const entry of [...history].reverse().slice(0, 10)) {
    const row = el('tr');
    const status = el('td');
    status.append(statusBadge(entry.status));
    row.append(el('td', 'nowrap', formatDate(entry.at)), el('td', 'num', pct(entry.macro_f1)),
      el('td', 'num', pct(entry.accuracy)), status);
    body.append(row);
  }
}

function svgNode(tag, attributes) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

// Macro F1 of the trainings, oldest to newest; hollow dots for models that were not activated.
function sparklineSvg(history) {
  const points = history.filter((h) => isNumber(h.macro_f1)).slice(-20);
  if (points.length < 2) return null;
  const width = 240;
  const height = 56;
  const pad = 6;
  const values = points.map((p) => p.macro_f1);
  let min = Math.min(...values);
  let max = Math.max(...values);
  if (max - min < 0.02) {
    min -= 0.01;
    max += 0.01;
  }
  const x = (i) => pad + (i * (width - 2 * pad)) / (points.length - 1);
  const y = (v) => height - pad - ((v - min) * (height - 2 * pad)) / (max - min);
  const first = values[0];
  const last = values[values.length - 1];
  const svg = svgNode('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'sparkline-svg' });
  svg.setAttribute('aria-label', `F1 macro de los últimos ${points.length} entrenamientos: de ${pct(first)} a ${pct(last)}.`);
  svg.append(svgNode('polyline', {
    points: points.map((p, i) => `${x(i).toFixed(1)},${y(p.macro_f1).toFixed(1)}`).join(' '),
    class: 'spark-line',
    fill: 'none',
  }));
  points.forEach((p, i) => {
    const dot = svgNode('circle', {
      cx: x(i).toFixed(1), cy: y(p.macro_f1).toFixed(1), r: i === points.length - 1 ? 3.5 : 2.5,
      class: p.status === 'activated' ? 'spark-dot' : 'spark-dot spark-dot-other',
    });
    const title = svgNode('title', {});
    title.textContent = `${formatDate(p.at)}: ${pct(p.macro_f1)} (${STATUSES[p.status] || p.status || ''})`;
    dot.append(title);
    svg.append(dot);
  });
  return svg;
}

// ---------------------------------------------------------------- tabs, session and start

function tabFromHash() {
  const hash = window.location.hash.slice(1);
  return TABS.find((t) => t.hash === hash) || TABS[0];
}

function showTab(tab) {
  state.tab = tab;
  for (const t of TABS) {
    const on = t === tab;
    $(t.tab).setAttribute('aria-selected', on ? 'true' : 'false');
    $(t.tab).tabIndex = on ? 0 : -1;
    $(t.panel).hidden = !on;
  }
  document.title = `${tab.title} · Entrenamiento del asistente`;
  if (!state.forbidden) tab.load();
}

function goTab(tab, focus) {
  if (focus) $(tab.tab).focus();
  if (window.location.hash.slice(1) === tab.hash) showTab(tab);
  else window.location.hash = tab.hash;
}

// Arrow keys, Home and End move between tabs (and open them).
function onTabKey(event) {
  const index = TABS.indexOf(TABS.find((t) => t.tab === event.currentTarget.id));
  const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: TABS.length - 1 };
  if (!(event.key in moves)) return;
  event.preventDefault();
  goTab(TABS[(moves[event.key] + TABS.length) % TABS.length], true);
}

function showForbidden() {
  state.forbidden = true;
  clearTimeout(state.train.timer);
  $('app').hidden = true;
  $('forbidden').hidden = false;
}

function showGlobalError(text) {
  showNotice($('global-error'), text, 'error');
}

async function loadMe() {
  const data = await api('GET', '/api/desk/me');
  const me = data.agent || data;
  $('agent-name').textContent = me.name || me.username || '';
  $('agent-role').textContent = ROLES[me.role] || me.role || '';
  $('agent-role').hidden = !me.role;
  if (me.role && me.role !== 'trainer' && me.role !== 'supervisor') {
    showForbidden();
    return false;
  }
  return true;
}

function bind() {
  $('logout').addEventListener('click', () => {
    clearTimeout(state.train.timer);
    logOut();
  });
  for (const tab of TABS) {
    $(tab.tab).addEventListener('click', () => goTab(tab, false));
    $(tab.tab).addEventListener('keydown', onTabKey);
  }
  window.addEventListener('hashchange', () => showTab(tabFromHash()));

  $('inbox-refresh').addEventListener('click', loadInbox);
  $('label-form').addEventListener('submit', saveLabel);
  $('label-discard').addEventListener('click', discardItem);
  $('label-next').addEventListener('click', () => state.inbox.items.length && openItem(state.inbox.items[0].id));
  $('label-mark').addEventListener('click', markEntity);
  $('label-unmark').addEventListener('click', unmarkEntities);
  for (const type of ['select', 'keyup', 'mouseup']) $('label-text').addEventListener(type, rememberSelection);
  $('label-text').addEventListener('input', () => {
    state.selection = null;
    updatePreview();
  });
  wireIntentPicker('label');
  wireIntentPicker('add');

  $('example-search').addEventListener('input', onSearchInput);
  $('add-form').addEventListener('submit', addExample);
  $('train-button').addEventListener('click', startTraining);
  $('quality-matrix').addEventListener('error', () => {
    $('quality-matrix').hidden = true;
    $('quality-matrix-missing').hidden = false;
  });
}

// Every minute the inbox is refreshed (only while it is on screen) so relative times stay right.
function refreshInboxNow() {
  if (state.forbidden || document.visibilityState !== 'visible') return;
  if (state.tab && state.tab.hash === 'bandeja') loadInbox();
}

async function main() {
  bind();
  try {
    if (!(await loadMe())) return;
  } catch (err) {
    if (err.status === 401 || err.status === 403) return;
    showGlobalError(err.message);
  }
  state.intentsReady = loadIntents();
  state.intentsReady.catch((err) => {
    if (err.status !== 401 && err.status !== 403) showGlobalError(err.message);
  });
  showTab(tabFromHash());
  if (state.tab.hash !== 'bandeja') loadInbox(); // the tab's count badge
  if (state.tab.hash !== 'entrenar') loadTrainings(); // a training may already be running
  setInterval(refreshInboxNow, INBOX_REFRESH_MS);
}

main();
