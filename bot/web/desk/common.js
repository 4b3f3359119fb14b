// What the staff pages share (the desk, the supervisor view, the trainer pages): DOM and time
// helpers, addresses, the session and JSON requests. Every server text goes in with
// textContent, never innerHTML; Spanish labels (such as handoff reasons) come from the API.

export const $ = (id) => document.getElementById(id);

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function capitalize(text) {
  const s = String(text || '');
  return s ? s.charAt(0).toLocaleUpperCase('es-ES') + s.slice(1) : s;
}

// 125 -> "02:05"
export function mmss(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  const pad = (n) => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 60))}:${pad(s % 60)}`;
}

// Long waits stand out: over 3 minutes, over 6 minutes.
export function waitClass(seconds) {
  if (seconds >= 360) return 'wait wait-long';
  if (seconds >= 180) return 'wait wait-medium';
  return 'wait';
}

export function wsUrl(path) {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}${path}`;
}

// The login page, coming back to `page` afterwards.
export function loginPath(page) {
  return '/desk/login?next=' + encodeURIComponent(page);
}

// Ends the desk session and goes to the login page (whatever the network says).
export async function logOut() {
  try {
    await fetch('/api/desk/logout', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
      credentials: 'same-origin',
    });
  } catch (err) {
    // the login page is where the agent goes anyway
  }
  window.location.assign('/desk/login');
}

// A failed request to the gateway, with the Spanish text for the person and the JSON body.
export class ApiError extends Error {
  constructor(status, message, data) {
    super(message);
    this.status = status;
    this.data = data || {};
  }
}

// The server's Spanish explanation in a JSON error body, or ''.
export function messageOf(data) {
  if (data && typeof data === 'object') {
    for (const key of ['message', 'error', 'detail', 'text']) {
      if (typeof data[key] === 'string' && data[key].trim()) return data[key].trim();
    }
  }
  return '';
}

// JSON request to the gateway (null when the answer has no body). 401 calls `onUnauthorized`
// (the login page), 403 `onForbidden`; every failure throws an ApiError.
export async function requestJson(method, path, body, { onUnauthorized, onForbidden } = {}) {
  const options = { method, credentials: 'same-origin', cache: 'no-store', headers: {} };
  if (method !== 'GET') {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body || {});
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    throw new ApiError(0, 'No hay conexión con el servidor. Inténtelo de nuevo en un momento.');
  }
  if (response.status === 401) {
    if (onUnauthorized) onUnauthorized();
    throw new ApiError(401, 'La sesión ha caducado. Vuelva a iniciar sesión.');
  }
  let data = null;
  try {
    const text = await response.text();
    data = text ? JSON.parse(text) : null;
  } catch (err) {
    data = null;
  }
  if (response.status === 403 && onForbidden) onForbidden();
  if (!response.ok) {
    const fallback = `No se ha podido completar la acción (error ${response.status}).`;
    throw new ApiError(response.status, messageOf(data) || fallback, data);
  }
  return data;
}

// A staff page's session: `goLogin` sends the person to the login page (and back to `page`
// afterwards); `api` is a JSON request that does so on 401, calls `onForbidden` on 403, and
// answers `empty` when the response has no body.
export function staffSession(page, { onForbidden, empty = null } = {}) {
  const goLogin = () => window.location.assign(loginPath(page));
  const api = async (method, path, body) => {
    const data = await requestJson(method, path, body, { onUnauthorized: goLogin, onForbidden });
    return data ?? empty;
  };
  return { goLogin, api };
}

// A table row saying the table is empty.
export function emptyRow(columns, text) {
  const row = el('tr', 'empty-row');
  const cell = el('td', 'empty', text);
  cell.colSpan = columns;
  row.append(cell);
  return row;
}
