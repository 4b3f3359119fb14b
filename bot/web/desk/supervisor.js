// Supervisor view: queue lengths, waiting times, agents online and handoff reasons.
//
// GET /api/desk/supervisor every 5 s, and at once when the desk events socket reports a queue
// change. Server text goes in with textContent only.

import {
  $, capitalize, el, emptyRow, logOut, mmss, staffSession, waitClass, wsUrl,
} from '/desk/common.js';

const { goLogin } = staffSession('/desk/supervisor');
const POLL_MS = 5000;
const view = { data: null, at: performance.now(), timer: 0, loading: false, forbidden: false };

function setConnection(status, text) {
  $('connection').dataset.status = status;
  $('connection').textContent = text;
}

async function getJson(path) {
  const response = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
  if (response.status === 401) {
    goLogin();
    return null;
  }
  if (response.status === 403) {
    showForbidden();
    return null;
  }
  if (!response.ok) throw new Error(`error ${response.status}`);
  return response.json();
}

function showForbidden() {
  view.forbidden = true;
  clearInterval(view.timer);
  $('dashboard').hidden = true;
  $('load-error').hidden = true;
  $('forbidden').hidden = false;
  setConnection('offline', 'Sin acceso');
}

function waitCell(seconds, waiting) {
  const cell = el('td', 'num');
  if (!waiting) {
    cell.append(el('span', 'muted', '—'));
    return cell;
  }
  const span = el('span', `${waitClass(seconds)} mono`, mmss(seconds));
  span.dataset.waitBase = String(Number(seconds) || 0);
  cell.append(span);
  return cell;
}

function renderDepartments(departments) {
  const body = $('departments-table').tBodies[0];
  body.replaceChildren();
  for (const dept of departments) {
    const row = el('tr');
    row.dataset.id = dept.id;
    const name = el('td');
    name.append(el('span', null, capitalize(dept.name)));
    if (dept.waiting > 0 && !dept.agents_online) name.append(el('span', 'badge badge-high', 'Sin agentes'));
    row.append(
      name,
      el('td', `num ${dept.waiting > 0 ? 'strong' : ''}`.trim(), dept.waiting || 0),
      waitCell(dept.longest_wait_s, dept.waiting > 0),
      el('td', 'num', dept.agents_online || 0),
    );
    body.append(row);
  }
  if (!departments.length) body.append(emptyRow(4, 'No hay departamentos.'));
}

function renderAgents(agents) {
  const body = $('agents-table').tBodies[0];
  body.replaceChildren();
  const sorted = [...agents].sort((a, b) => Number(Boolean(b.online)) - Number(Boolean(a.online))
    || String(a.name).localeCompare(String(b.name), 'es'));
  for (const agent of sorted) {
    const row = el('tr');
    row.dataset.online = agent.online ? 'true' : 'false';
    const status = el('td');
    const pill = el('span', `presence ${agent.online ? 'presence-on' : 'presence-off'}`,
      agent.online ? 'Conectado' : 'Desconectado');
    status.append(pill);
    row.append(el('td', null, agent.name), status, el('td', 'num', agent.conversations || 0));
    body.append(row);
  }
  if (!agents.length) body.append(emptyRow(3, 'No hay agentes dados de alta.'));
}

// Every reason the assistant hands over for, in the server's order and words, then any other.
function renderReasons(reasons, labels) {
  const list = $('reasons');
  const keys = [...Object.keys(labels), ...Object.keys(reasons).filter((k) => !(k in labels))];
  const max = Math.max(1, ...keys.map((k) => Number(reasons[k]) || 0));
  list.replaceChildren();
  for (const key of keys) {
    const count = Number(reasons[key]) || 0;
    const item = el('li', 'reason');
    item.dataset.reason = key;
    const head = el('div', 'reason-head');
    head.append(el('span', 'reason-label', labels[key] || key.replace(/_/g, ' ')), el('span', 'reason-count', count));
    const bar = el('div', 'bar');
    const fill = el('div', 'bar-fill');
    fill.style.width = `${Math.round((count / max) * 100)}%`;
    bar.append(fill);
    item.append(head, bar);
    list.append(item);
  }
}

function render(data) {
  const departments = data.departments || [];
  const agents = data.agents || [];
  renderDepartments(departments);
  renderAgents(agents);
  renderReasons(data.reasons || {}, data.reason_texts || {});
  const waiting = departments.reduce((sum, d) => sum + (Number(d.waiting) || 0), 0);
  const longest = Math.max(0, ...departments.filter((d) => d.waiting > 0).map((d) => Number(d.longest_wait_s) || 0));
  $('total-waiting').textContent = waiting;
  $('total-longest').textContent = waiting ? mmss(longest) : '—';
  $('total-longest').dataset.waitBase = waiting ? String(longest) : '';
  $('total-agents').textContent = agents.filter((a) => a.online).length;
  $('callbacks-open').textContent = data.callbacks_open || 0;
  document.title = waiting ? `(${waiting}) Supervisión · Mesa de atención` : 'Supervisión · Mesa de atención';
}

async function refresh() {
  if (view.loading || view.forbidden) return;
  view.loading = true;
  try {
    const data = await getJson('/api/desk/supervisor');
    if (!data) return;
    view.data = data;
    view.at = performance.now();
    render(data);
    $('dashboard').hidden = false;
    $('load-error').hidden = true;
    $('updated').textContent = `Actualizado a las ${new Date().toLocaleTimeString('es-ES')}`;
  } catch (err) {
    $('load-error').textContent = 'No se pudieron cargar los datos. Se reintentará en unos segundos.';
    $('load-error').hidden = false;
  } finally {
    view.loading = false;
  }
}

// Waiting times keep ticking between two polls.
function tick() {
  const elapsed = (performance.now() - view.at) / 1000;
  for (const node of document.querySelectorAll('[data-wait-base]')) {
    if (node.dataset.waitBase === '') continue;
    const seconds = Number(node.dataset.waitBase) + elapsed;
    node.textContent = mmss(seconds);
    if (node.classList.contains('wait')) node.className = `${waitClass(seconds)} mono`;
  }
}

let attempt = 0;
let refreshSoon = 0;

function connectEvents() {
  if (view.forbidden) return;
  const ws = new WebSocket(wsUrl('/api/desk/events'));
  let openedAt = 0;
  ws.addEventListener('open', () => {
    openedAt = Date.now();
    setConnection('online', 'En directo');
  });
  ws.addEventListener('message', (msg) => {
    let event;
    try {
      event = JSON.parse(msg.data);
    } catch (err) {
      return;
    }
    if (event.type === 'queue' || event.type === 'state') {
      clearTimeout(refreshSoon);
      refreshSoon = setTimeout(refresh, 300);
    }
  });
  ws.addEventListener('close', (ev) => {
    if (ev.code === 4401) {
      goLogin();
      return;
    }
    if (view.forbidden) return;
    if (openedAt && Date.now() - openedAt > 10000) attempt = 0;
    const delay = Math.min(30000, 1000 * 2 ** attempt) * (0.8 + Math.random() * 0.4);
    attempt += 1;
    setConnection('offline', 'Cada 5 s (sin conexión en directo)');
    setTimeout(connectEvents, delay);
  });
}

async function main() {
  $('logout').addEventListener('click', logOut);
  let me = null;
  try {
    me = await getJson('/api/desk/me');
    if (!me) return; // 401: on the way to the login page
  } catch (err) {
    // the gateway did not answer: the polling below keeps trying
  }
  if (me) $('agent-name').textContent = me.name || me.username || '';
  if (me && me.role && me.role !== 'supervisor') {
    showForbidden();
    return;
  }
  await refresh();
  if (view.forbidden) return;
  view.timer = setInterval(refresh, POLL_MS);
  setInterval(tick, 500);
  connectEvents();
}

main();
