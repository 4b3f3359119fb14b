// Chat bubble for any website:  <script src="https://GATEWAY/widget.js" defer></script>
//
// Adds a round button at the bottom right; pressing it opens the gateway's web chat
// (GATEWAY/chat?embed=1) in an iframe above it. Design constraints:
// - The host page's CSS must not reach us and ours must not reach it: everything lives in a
//   shadow root (open, so end-to-end tests can find the button), and styles are set through
//   the CSSOM (element.style), which a Content-Security-Policy without 'unsafe-inline' still
//   allows (style="" attributes and <style> elements it would block).
// - The only global is window.TelcoChatWidget (open/close/toggle), for pages that want their
//   own "Chat" link.
// - The iframe is created on first open, so visitors who never open the chat do not start a
//   conversation on the server.
(function () {
  'use strict';

  if (window.TelcoChatWidget) return; // the snippet was pasted twice

  var script = document.currentScript;
  if (!script) {
    // Fallback for loaders that run the file without currentScript.
    var scripts = document.getElementsByTagName('script');
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/widget\.js(?:[?#]|$)/.test(scripts[i].src)) {
        script = scripts[i];
        break;
      }
    }
  }
  if (!script || !script.src) return;
  var gatewayOrigin = new URL(script.src, document.baseURI).origin;
  var chatUrl = gatewayOrigin + '/chat?embed=1';

  var BRAND = '#0b5cab';
  var BRAND_STRONG = '#084783';
  var SVG_NS = 'http://www.w3.org/2000/svg';

  var host, button, badge, panel, iframe, chatIcon, closeIcon, offline;
  var isOpen = false;
  var iframeLoaded = false;
  // The chat page says it is up ('telco-chat:ready'). A frame loaded while the gateway was away
  // holds the browser's error page instead, and never recovers by itself: it is reloaded, with
  // back-off and jitter, and the panel says why the chat is not there meanwhile.
  var READY_TIMEOUT_MS = 5000;
  var frameReady = false;
  var readyTimer = null;
  var reloadAttempt = 0;
  var smallScreen = window.matchMedia('(max-width: 480px)');

  function css(el, styles) {
    // `important` so that aggressive host rules on custom elements cannot move our host box.
    for (var name in styles) {
      if (Object.prototype.hasOwnProperty.call(styles, name)) {
        el.style.setProperty(name, styles[name], el === host ? 'important' : '');
      }
    }
  }

  function icon(paths, strokeOnly) {
    var svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', '28');
    svg.setAttribute('height', '28');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    paths.forEach(function (d) {
      var path = document.createElementNS(SVG_NS, 'path');
      path.setAttribute('d', d);
      if (strokeOnly) {
        path.setAttribute('fill', 'none');
        path.setAttribute('stroke', 'currentColor');
        path.setAttribute('stroke-width', '2.2');
        path.setAttribute('stroke-linecap', 'round');
      } else {
        path.setAttribute('fill', 'currentColor');
      }
      svg.appendChild(path);
    });
    css(svg, { display: 'block' });
    return svg;
  }

  function mount() {
    host = document.createElement('telco-chat-widget');
    css(host, {
      all: 'initial',
      position: 'fixed',
      right: '0',
      bottom: '0',
      width: '0',
      height: '0',
      overflow: 'visible',
      'z-index': '2147483000',
      display: 'block',
    });
    var root = host.attachShadow ? host.attachShadow({ mode: 'open' }) : host;

    button = document.createElement('button');
    button.type = 'button';
    button.setAttribute('aria-label', 'Abrir el chat');
    button.setAttribute('aria-expanded', 'false');
    button.setAttribute('aria-haspopup', 'dialog');
    css(button, {
      position: 'fixed',
      right: '20px',
      bottom: '20px',
      width: '60px',
      height: '60px',
      margin: '0',
      padding: '0',
      border: '0',
      'border-radius': '50%',
      background: BRAND,
      color: '#ffffff',
      cursor: 'pointer',
      display: 'grid',
      'place-items': 'center',
      'box-shadow': '0 6px 20px rgba(10, 30, 60, 0.28)',
      transition: 'transform 0.15s ease, background-color 0.15s ease',
      'font-family': 'system-ui, sans-serif',
      'line-height': '1',
    });
    chatIcon = icon(['M4 4h16a2 2 0 012 2v10a2 2 0 01-2 2H8l-4 4v-4a2 2 0 01-2-2V6a2 2 0 012-2zm3 6a1.2 1.2 0 100 2.4A1.2 1.2 0 007 10zm5 0a1.2 1.2 0 100 2.4 1.2 1.2 0 000-2.4zm5 0a1.2 1.2 0 100 2.4 1.2 1.2 0 000-2.4z']);
    closeIcon = icon(['M6 6l12 12M18 6L6 18'], true);
    css(closeIcon, { display: 'none' });
    badge = document.createElement('span');
    css(badge, {
      position: 'absolute',
      top: '6px',
      right: '6px',
      width: '14px',
      height: '14px',
      'border-radius': '50%',
      background: '#e5484d',
      border: '2px solid #ffffff',
      display: 'none',
    });
    button.appendChild(chatIcon);
    button.appendChild(closeIcon);
    button.appendChild(badge);
    button.addEventListener('click', toggle);
    button.addEventListener('mouseenter', function () {
      css(button, { background: BRAND_STRONG, transform: 'scale(1.05)' });
    });
    button.addEventListener('mouseleave', function () {
      css(button, { background: BRAND, transform: 'none' });
    });

    panel = document.createElement('div');
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-label', 'Chat de atención al cliente');
    css(panel, {
      position: 'fixed',
      display: 'none',
      overflow: 'hidden',
      background: '#ffffff',
      'box-shadow': '0 12px 40px rgba(10, 30, 60, 0.3)',
    });

    root.appendChild(panel);
    root.appendChild(button);
    (document.body || document.documentElement).appendChild(host);

    if (smallScreen.addEventListener) smallScreen.addEventListener('change', layout);
    else if (smallScreen.addListener) smallScreen.addListener(layout);
    window.addEventListener('message', onMessage);
    document.addEventListener('keydown', function (event) {
      if (isOpen && event.key === 'Escape') close();
    });
    layout();
    // A visitor who has chatted before gets the frame loaded (still shut) right away, so a reply
    // that arrives after a reload lights the unread dot and reopening is instant.
    if (hostStorage('get', usedKey) === '1') ensureIframe();
  }

  // Desktop: a card above the bubble. Phones: the whole screen, with the bubble hidden (it would
  // sit on top of the send button); the chat's own close button brings it back.
  function layout() {
    if (!panel) return;
    if (smallScreen.matches) {
      css(panel, {
        top: '0', left: '0', right: '0', bottom: '0',
        width: '100%', height: '100%', 'border-radius': '0',
      });
      css(button, { display: isOpen ? 'none' : 'grid' });
    } else {
      css(panel, {
        top: 'auto', left: 'auto', right: '20px', bottom: '92px',
        width: '380px', height: 'min(640px, calc(100vh - 120px))', 'border-radius': '16px',
      });
      css(button, { display: 'grid' });
    }
  }

  function ensureIframe() {
    if (iframe) return;
    iframe = document.createElement('iframe');
    iframe.src = chatUrl;
    iframe.title = 'Chat de atención al cliente';
    css(iframe, { width: '100%', height: '100%', border: '0', display: 'block', background: '#ffffff' });
    iframe.addEventListener('load', function () {
      iframeLoaded = true;
      if (isOpen) focusChat();
      waitForReady();
    });
    offline = document.createElement('p');
    offline.setAttribute('role', 'status');
    offline.textContent = 'No podemos conectar con el chat en este momento. Reconectando…';
    css(offline, {
      position: 'absolute', top: '0', left: '0', right: '0', margin: '0', padding: '16px',
      background: '#eef1f5', color: '#3d4756', display: 'none',
      'font-family': 'system-ui, sans-serif', 'font-size': '15px', 'line-height': '1.4',
      'text-align': 'center',
    });
    panel.appendChild(iframe);
    panel.appendChild(offline);
  }

  function waitForReady() {
    window.clearTimeout(readyTimer);
    if (frameReady) return;
    readyTimer = window.setTimeout(function () {
      if (frameReady) return;
      css(offline, { display: 'block' });
      var ceiling = Math.min(10000, 1000 * Math.pow(2, reloadAttempt++));
      readyTimer = window.setTimeout(function () {
        iframeLoaded = false;
        iframe.src = chatUrl;
      }, ceiling / 2 + Math.random() * (ceiling / 2));
    }, READY_TIMEOUT_MS);
  }

  function chatReady() {
    frameReady = true;
    reloadAttempt = 0;
    window.clearTimeout(readyTimer);
    if (offline) css(offline, { display: 'none' });
  }

  function focusChat() {
    if (!iframe || !iframeLoaded) return;
    iframe.focus();
    iframe.contentWindow.postMessage({ type: 'telco-chat:focus' }, gatewayOrigin);
  }

  function open() {
    if (!panel) return;
    ensureIframe();
    hostStorage('set', usedKey, '1');
    isOpen = true;
    css(panel, { display: 'block' });
    css(chatIcon, { display: 'none' });
    css(closeIcon, { display: 'block' });
    css(badge, { display: 'none' });
    button.setAttribute('aria-label', 'Cerrar el chat');
    button.setAttribute('aria-expanded', 'true');
    layout();
    focusChat();
  }

  function close() {
    if (!panel || !isOpen) return;
    isOpen = false;
    css(panel, { display: 'none' });
    css(chatIcon, { display: 'block' });
    css(closeIcon, { display: 'none' });
    button.setAttribute('aria-label', 'Abrir el chat');
    button.setAttribute('aria-expanded', 'false');
    layout();
    button.focus();
  }

  function toggle() {
    if (isOpen) close();
    else open();
  }

  // Messages from our own chat iframe only: anyone else on the page could post look-alikes.
  function onMessage(event) {
    if (!iframe || event.source !== iframe.contentWindow || event.origin !== gatewayOrigin) return;
    var data = event.data || {};
    if (data.type === 'telco-chat:ready') chatReady();
    else if (data.type === 'telco-chat:close') close();
    else if (data.type === 'telco-chat:message' && !isOpen) css(badge, { display: 'block' });
    else if (data.type === 'telco-chat:load') {
      iframe.contentWindow.postMessage({ type: 'telco-chat:stored', value: readStored() }, gatewayOrigin);
    } else if (data.type === 'telco-chat:store') writeStored(data.value);
  }

  // Fallback storage for the chat frame when the browser denies it storage as a third party:
  // the conversation's {id, token} is kept here, in the host page's storage, under a key
  // specific to this gateway, and only ever handed back to the gateway's own frame.
  var storageKey = 'telco-chat@' + gatewayOrigin;
  var usedKey = 'telco-chat-used@' + gatewayOrigin;

  function hostStorage(op, key, value) {
    try {
      if (op === 'get') return window.localStorage.getItem(key);
      window.localStorage.setItem(key, value);
    } catch (err) {
      /* storage disabled: the widget simply does not remember */
    }
    return null;
  }

  function readStored() {
    try {
      var value = JSON.parse(window.localStorage.getItem(storageKey) || 'null');
      if (value && typeof value.id === 'string' && typeof value.token === 'string') {
        return { id: value.id, token: value.token };
      }
    } catch (err) {
      /* unavailable or corrupt: the chat starts a new conversation */
    }
    return null;
  }

  function writeStored(value) {
    try {
      if (value && typeof value.id === 'string' && typeof value.token === 'string') {
        window.localStorage.setItem(storageKey, JSON.stringify({ id: value.id, token: value.token }));
      } else {
        window.localStorage.removeItem(storageKey);
      }
    } catch (err) {
      /* storage disabled on the host page too: the chat lasts as long as the page */
    }
  }

  window.TelcoChatWidget = Object.freeze({ open: open, close: close, toggle: toggle });

  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
})();
