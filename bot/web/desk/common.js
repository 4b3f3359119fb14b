// What the desk and the supervisor view share: DOM and time helpers, the handoff reasons in
// Spanish, and addresses. Every server text goes in with textContent, never innerHTML.

export const $ = (id) => document.getElementById(id);

export const REASONS = {
  user_request: 'Lo pidió el cliente',
  frustration: 'Cliente molesto',
  repeated_fallback: 'El asistente no le entendía',
  complaint: 'Reclamación',
  error: 'Fallo técnico',
};

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
