// Login form of the agent desk: POST /api/desk/login, then go to the desk (or to `next`).

const form = document.getElementById('login-form');
const username = document.getElementById('username');
const password = document.getElementById('password');
const button = document.getElementById('login-button');
const errorBox = document.getElementById('login-error');

const RATE_LIMITED = 'Demasiados intentos. Espere unos minutos y vuelva a intentarlo.';

// Only a same-origin path of the desk or the trainer pages is an acceptable destination (no
// open redirect). Without one, trainers go to their pages and everybody else to the desk.
function destination(role) {
  const next = new URLSearchParams(window.location.search).get('next');
  if (next && next.startsWith('/') && !next.startsWith('//')) {
    try {
      const url = new URL(next, window.location.origin);
      const ownPath = ['/desk', '/trainer'].some(
        (page) => url.pathname === page || url.pathname.startsWith(page + '/'),
      );
      if (url.origin === window.location.origin && ownPath && !url.pathname.startsWith('/desk/login')) {
        return url.pathname + url.search + url.hash;
      }
    } catch (err) {
      // not a URL: fall through to the desk
    }
  }
  return role === 'trainer' ? '/trainer' : '/desk';
}

function showError(text) {
  errorBox.textContent = text;
  errorBox.hidden = !text;
}

async function serverMessage(response) {
  let text = '';
  try {
    text = await response.text();
  } catch (err) {
    return '';
  }
  try {
    const data = JSON.parse(text);
    for (const key of ['message', 'error', 'detail', 'text']) {
      if (typeof data[key] === 'string' && data[key].trim()) return data[key].trim();
    }
    return '';
  } catch (err) {
    // plain-text body: show it if it looks like a sentence, not an HTML error page
    const plain = text.trim();
    return plain && plain.length < 300 && !plain.startsWith('<') ? plain : '';
  }
}

function setBusy(busy) {
  button.disabled = busy;
  button.textContent = busy ? 'Entrando…' : 'Entrar';
}

async function submit(event) {
  event.preventDefault();
  const user = username.value.trim();
  if (!user || !password.value) {
    showError('Escriba su usuario y su contraseña.');
    (user ? password : username).focus();
    return;
  }
  showError('');
  setBusy(true);
  let response;
  try {
    response = await fetch('/api/desk/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: user, password: password.value }),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (err) {
    setBusy(false);
    showError('No hay conexión con el servidor. Inténtelo de nuevo en un momento.');
    return;
  }
  if (response.ok) {
    let role = '';
    try {
      role = ((await response.json()).agent || {}).role || '';
    } catch (err) {
      // no body: the desk
    }
    window.location.assign(destination(role));
    return;
  }
  setBusy(false);
  if (response.status === 401) {
    showError('Usuario o contraseña incorrectos.');
    password.value = '';
    password.focus();
  } else if (response.status === 429) {
    showError((await serverMessage(response)) || RATE_LIMITED);
  } else {
    const text = await serverMessage(response);
    showError(text || `No se ha podido iniciar sesión (error ${response.status}). Inténtelo de nuevo.`);
  }
}

form.addEventListener('submit', submit);
