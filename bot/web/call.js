// Browser call page (/call): microphone -> gateway -> bot (or agent) voice back.
//
// Each press of "Llamar" is a new voice conversation. Audio goes over
// WS /api/conversations/{id}/audio as 16 kHz mono int16 LE frames of 20 ms, converted in an
// AudioWorklet (audio-worklet.js); the voice coming back is played by a second worklet that can
// drop (stop), hold (pause) and continue (resume) its queue when the server says so. The events
// socket runs alongside for the queue banner and its offers (callback, back to the assistant).
//
// window.callStats lets end-to-end tests check that audio really flows both ways.

import {
  ApiError,
  StatusPanel,
  agentNameOf,
  api,
  backoffDelay,
  conversationPath,
  friendlyError,
  saveConversation,
  wsUrl,
} from '/chat.js';

const CALL_STORAGE_KEY = 'telco-call';
const FRAME_MS = 20;
// About two seconds of microphone audio. If the socket cannot send faster than that, sending
// more would only add delay to a live conversation: frames beyond it are dropped.
const MAX_BUFFERED_BYTES = 64 * 1024;
// If the conversation is closed (a callback was requested, the agent closed it) but the server
// never sends `ended` on the audio socket, hang up ourselves after this long.
const CLOSED_HANGUP_MS = 8000;

const callStats = { sentFrames: 0, receivedBytes: 0 };
window.callStats = callStats;

class CallApp {
  constructor() {
    this.callButton = document.getElementById('call-button');
    this.callLabel = this.callButton.querySelector('.call-button-label');
    this.hangupButton = document.getElementById('hangup-button');
    this.statusLine = document.getElementById('call-status');
    this.errorLine = document.getElementById('call-error');
    this.speaking = document.getElementById('speaking');
    this.speakingText = this.speaking.querySelector('.speaking-text');
    this.micRow = document.getElementById('mic-row');
    this.micLevel = document.getElementById('mic-level');
    this.muteButton = document.getElementById('mute-button');
    this.transcript = document.getElementById('transcript');
    this.partial = document.getElementById('partial');
    this.transcriptEmpty = document.getElementById('transcript-empty');
    this.lostPanel = document.getElementById('call-lost');
    this.lostWait = document.getElementById('call-lost-wait');
    this.callAgainButton = document.getElementById('call-again');
    this.chatLink = document.getElementById('continue-chat');
    this.chatTimer = null;

    this.session = null; // everything that belongs to the current call, released as one
    this.status = new StatusPanel(document.getElementById('queue-status'), {
      kind: 'call',
      onCallback: (body) => this.request('/callback', body).then((result) => {
        if (result && result.conversation && this.session) this.applyState(this.session, result.conversation);
        return result;
      }),
      onBackToBot: () => this.request('/bot').then((snapshot) => {
        if (snapshot && this.session) this.applyState(this.session, snapshot);
        return snapshot;
      }),
    });
  }

  start() {
    this.callButton.addEventListener('click', () => this.call());
    this.callAgainButton.addEventListener('click', () => this.call());
    this.chatLink.addEventListener('click', (event) => {
      event.preventDefault();
      this.openChatWhenUp(0);
    });
    this.hangupButton.addEventListener('click', () => this.hangup());
    this.muteButton.addEventListener('click', () => this.toggleMute());
    // Leaving the page must free the microphone and tell the server the caller is gone.
    window.addEventListener('pagehide', () => {
      if (this.session) this.release(this.session);
    });
    this.setState('idle', 'Pulse «Llamar» para empezar.');
  }

  request(suffix, body) {
    const session = this.session;
    if (!session || !session.conv) return Promise.reject(new ApiError(0, '', null));
    return api('POST', conversationPath(session.conv.id, suffix), { token: session.conv.token, body });
  }

  // -- placing and ending the call -------------------------------------------------------------

  async call() {
    if (this.session) return;
    const session = {
      closed: false,
      conv: null,
      conversation: { state: 'bot' },
      agentName: '',
      eventsAttempts: 0,
      timers: new Set(),
    };
    this.session = session;
    this.clearTranscript();
    this.hideError();
    this.hideLost();
    this.status.callback = null;
    this.status.update({ state: 'bot' });
    this.setState('connecting', 'Preparando el micrófono…');

    const AudioCtx = window.AudioContext || window.webkitAudioContext;
    if (!window.isSecureContext) {
      this.fail(session, 'Para usar el micrófono, esta página debe abrirse con una dirección segura (https).');
      return;
    }
    if (!AudioCtx || !window.AudioWorkletNode || !navigator.mediaDevices
        || !navigator.mediaDevices.getUserMedia) {
      this.fail(session, 'Su navegador no permite llamar desde esta página. Pruebe con una versión reciente de Chrome, Edge, Firefox o Safari, o escríbanos por el chat.');
      return;
    }
    // Created before the first await, while the click still counts as a user gesture: otherwise
    // the browser's autoplay policy starts the context suspended and the caller hears nothing.
    try {
      session.ctx = new AudioCtx({ latencyHint: 'interactive' });
    } catch {
      this.fail(session, 'No hemos podido preparar el audio del navegador. Vuelva a intentarlo, por favor.');
      return;
    }

    // The microphone comes first, so a refusal does not leave an empty conversation behind.
    try {
      session.stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
        video: false,
      });
    } catch (err) {
      this.fail(session, microphoneErrorText(err));
      return;
    }
    if (session.closed) return this.release(session); // hung up meanwhile: free the microphone

    try {
      await this.startAudio(session);
    } catch {
      this.fail(session, 'No hemos podido preparar el audio del navegador. Vuelva a intentarlo, por favor.');
      return;
    }
    if (session.closed) return this.release(session); // hung up meanwhile: free the microphone

    this.setState('connecting', 'Llamando…');
    let created;
    try {
      created = await api('POST', '/api/conversations', { body: { channel: 'voice' } });
    } catch (err) {
      this.fail(session, friendlyError(err, 'No hemos podido iniciar la llamada. Inténtelo de nuevo en unos segundos, por favor.'));
      return;
    }
    if (session.closed) return this.release(session); // hung up meanwhile: free the microphone
    session.conv = { id: created.id, token: created.token };
    saveConversation(CALL_STORAGE_KEY, session.conv);
    if (created.conversation) {
      this.applyState(session, created.conversation);
      // The greeting is already a message; the call speaks it without a `transcript` event.
      session.shown = new Set();
      for (const message of created.conversation.messages || []) {
        this.addLine(session, message.author, message.text);
        session.shown.add(`${message.author}|${message.text}`);
      }
    }
    this.openAudio(session);
  }

  async startAudio(session) {
    const { ctx } = session;
    await ctx.audioWorklet.addModule('/audio-worklet.js');
    if (ctx.state === 'suspended') await ctx.resume();

    session.source = ctx.createMediaStreamSource(session.stream);
    // channelCount 1 / explicit: the browser mixes a stereo microphone down to mono for us.
    session.capture = new AudioWorkletNode(ctx, 'pcm-capture', {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      channelCount: 1,
      channelCountMode: 'explicit',
      channelInterpretation: 'speakers',
      processorOptions: { frameMs: FRAME_MS },
    });
    session.capture.port.onmessage = (event) => this.onFrame(session, event.data);
    session.source.connect(session.capture);
    // The capture node outputs silence; connecting it keeps it in the rendering graph everywhere.
    session.capture.connect(ctx.destination);

    session.playback = new AudioWorkletNode(ctx, 'pcm-playback', {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [1],
    });
    session.playback.port.onmessage = (event) => {
      if (event.data && event.data.type === 'playing') {
        session.audible = Boolean(event.data.value);
        this.setSpeaking(session, event.data.value);
      }
    };
    session.playback.connect(ctx.destination);
  }

  hangup() {
    const session = this.session;
    if (!session) return;
    if (!session.conv) {
      this.release(session);
      this.session = null;
      this.setState('idle', 'Ha cancelado la llamada.');
      return;
    }
    this.end(session, 'Ha colgado. Gracias por llamar.');
  }

  // Before the call exists (microphone refused, gateway unreachable): back to the start.
  fail(session, text) {
    if (session !== this.session) return;
    this.release(session);
    this.session = null;
    this.showError(text);
    this.setState('idle', 'Pulse «Llamar» para volver a intentarlo.');
  }

  end(session, text, reason) {
    if (session !== this.session) return;
    this.release(session);
    this.session = null;
    this.status.update({ ...session.conversation, state: 'closed', queue: null, offers: [] });
    this.setPartial('');
    this.setState('ended', text);
    if (reason) this.statusLine.dataset.reason = reason;
  }

  // The last words (a goodbye, a callback confirmation) may still be playing: let them finish,
  // for at most a few seconds, before the audio context is closed.
  endAfterPlayback(session, reason) {
    const deadline = Date.now() + 4000;
    const finish = () => {
      if (session.closed) return;
      if (session.audible && Date.now() < deadline) {
        window.setTimeout(finish, 100);
        return;
      }
      this.end(session, 'La llamada ha terminado. Gracias por llamar.', reason);
    };
    session.ending = true;
    finish();
  }

  release(session) {
    session.closed = true;
    for (const timer of session.timers) window.clearTimeout(timer);
    session.timers.clear();
    for (const ws of [session.audioWs, session.eventsWs]) {
      if (ws && ws.readyState <= WebSocket.OPEN) {
        try {
          ws.close(1000);
        } catch {
          /* already closing */
        }
      }
    }
    if (session.stream) for (const track of session.stream.getTracks()) track.stop();
    if (session.capture) session.capture.port.onmessage = null;
    if (session.ctx && session.ctx.state !== 'closed') session.ctx.close().catch(() => {});
    this.setSpeaking(session, false);
  }

  later(session, fn, ms) {
    const timer = window.setTimeout(() => {
      session.timers.delete(timer);
      if (!session.closed) fn();
    }, ms);
    session.timers.add(timer);
  }

  // -- audio socket ----------------------------------------------------------------------------

  openAudio(session) {
    const { id, token } = session.conv;
    const ws = new WebSocket(wsUrl(conversationPath(id, '/audio')));
    ws.binaryType = 'arraybuffer';
    session.audioWs = ws;
    session.audioOpen = false;
    const current = () => !session.closed && session.audioWs === ws;

    ws.addEventListener('open', () => {
      if (!current()) return;
      ws.send(JSON.stringify({ type: 'auth', token }));
      // The protocol has no acknowledgement: once auth is sent, audio may follow.
      session.audioOpen = true;
      this.setState('in-call', this.inCallText(session));
      // Once the call has settled: a call refused right away needs no queue banner (and the
      // audio socket carries `state` too, so nothing is missed meanwhile).
      if (!session.eventsWs && !session.eventsPlanned) {
        session.eventsPlanned = true;
        this.later(session, () => this.openEvents(session), 1000);
      }
    });
    ws.addEventListener('message', (event) => {
      if (!current()) return;
      if (typeof event.data === 'string') {
        let data;
        try {
          data = JSON.parse(event.data);
        } catch {
          return;
        }
        this.onAudioControl(session, data);
        return;
      }
      callStats.receivedBytes += event.data.byteLength;
      session.playback.port.postMessage({ type: 'audio', pcm: event.data }, [event.data]);
    });
    ws.addEventListener('close', (event) => {
      if (!current()) return;
      session.audioOpen = false;
      if (session.ending) {
        // the server said the call ended; its last words are still playing
      } else if (event.code === 1000 || event.code === 1001) {
        this.end(session, 'La llamada ha terminado. Gracias por llamar.');
      } else if (event.code >= 4000 || session.lastError || [1003, 1008, 1011, 1013].includes(event.code)) {
        // Refused for a reason (not authorised, not a call, calls unavailable, lines busy, bad
        // audio): the server's own words, already shown, say why; retrying would not change it.
        this.end(session, session.lastError
          ? 'No ha sido posible completar la llamada.'
          : 'No hemos podido conectar la llamada. Vuelva a intentarlo, por favor.', `close-${event.code}`);
      } else {
        // The service or the connection went away. A call is not resumed after that (like a
        // phone line; the gateway takes a waiting call out of the queue): the page offers to
        // call again or to go on by chat.
        this.end(session, 'Se ha cortado la llamada.', 'connection-lost');
        this.showLost();
      }
    });
  }

  onAudioControl(session, data) {
    switch (data && data.type) {
      case 'stop':
      case 'pause':
      case 'resume':
        session.playback.port.postMessage({ type: data.type });
        break;
      case 'transcript':
        this.setPartial('');
        // Skip it once if it repeats a line already shown from the conversation (the greeting).
        if (session.shown && session.shown.delete(`${data.author}|${data.text}`)) break;
        this.addLine(session, data.author, data.text);
        break;
      case 'partial':
        // What the caller is saying, recognised so far; replaced by the final transcript.
        this.setPartial(typeof data.text === 'string' ? data.text : '');
        break;
      case 'state':
        if (data.conversation) this.applyState(session, data.conversation);
        break;
      case 'ended':
        this.endAfterPlayback(session, typeof data.reason === 'string' ? data.reason : '');
        break;
      case 'error':
        if (typeof data.text === 'string' && data.text.trim()) {
          session.lastError = data.text.trim();
          this.showError(session.lastError);
        }
        break;
      default:
        break;
    }
  }

  onFrame(session, msg) {
    if (!msg || msg.type !== 'frame' || session.closed) return;
    // Square root so that normal speech fills a good part of the meter.
    const level = Math.min(1, Math.sqrt(msg.level * 4));
    this.micLevel.style.transform = `scaleX(${level.toFixed(3)})`;
    const ws = session.audioWs;
    if (!session.audioOpen || !ws || ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) return;
    ws.send(msg.pcm);
    callStats.sentFrames += 1;
  }

  // -- events socket (queue banner and offers) -------------------------------------------------

  openEvents(session) {
    const { id, token } = session.conv;
    const ws = new WebSocket(wsUrl(conversationPath(id, '/events')));
    session.eventsWs = ws;
    const current = () => !session.closed && session.eventsWs === ws;
    ws.addEventListener('open', () => {
      if (current()) ws.send(JSON.stringify({ type: 'auth', token }));
    });
    ws.addEventListener('message', (event) => {
      if (!current() || typeof event.data !== 'string') return;
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      if (data.type === 'snapshot' && data.conversation) {
        session.eventsAttempts = 0;
        for (const message of data.conversation.messages || []) this.noteAgent(session, message);
        this.applyState(session, data.conversation);
      } else if (data.type === 'state' && data.conversation) {
        this.applyState(session, data.conversation);
      } else if (data.type === 'message' && data.message) {
        // The spoken words arrive as `transcript` on the audio socket; here we only learn names.
        this.noteAgent(session, data.message);
      }
    });
    ws.addEventListener('close', (event) => {
      if (!current()) return;
      if (event.code === 4401 || session.conversation.state === 'closed') return;
      this.later(session, () => this.openEvents(session), backoffDelay(session.eventsAttempts++));
    });
  }

  noteAgent(session, message) {
    if (message.author === 'agent' && message.agent && message.agent !== session.agentName) {
      session.agentName = message.agent;
      this.applyState(session, {});
    }
  }

  applyState(session, conversation) {
    const { messages, ...rest } = conversation;
    session.conversation = { ...session.conversation, ...rest };
    const name = agentNameOf(session.conversation);
    if (name) session.agentName = name;
    this.status.lastAgentName = session.agentName;
    this.status.update(session.conversation);
    if (this.statusLine.dataset.state === 'in-call') this.setState('in-call', this.inCallText(session));
    if (session.conversation.state === 'closed' && !session.closeTimerSet) {
      session.closeTimerSet = true;
      this.later(session, () => this.end(session, 'La llamada ha terminado. Gracias por llamar.'), CLOSED_HANGUP_MS);
    }
  }

  inCallText(session) {
    const state = session.conversation.state;
    if (state === 'queued') return 'En espera para hablar con una persona.';
    if (state === 'agent') return session.agentName ? `En llamada con ${session.agentName}.` : 'En llamada con una persona de nuestro equipo.';
    return 'En llamada con el asistente. Puede hablar cuando quiera.';
  }

  // -- a call that was cut ---------------------------------------------------------------------

  showLost() {
    const hadFocus = document.activeElement === this.callButton || document.activeElement === document.body;
    this.lostPanel.hidden = false;
    // Its own "Volver a llamar" sits next to the chat: the big button would say the same.
    this.callButton.hidden = true;
    if (hadFocus) this.callAgainButton.focus();
  }

  hideLost() {
    window.clearTimeout(this.chatTimer);
    this.lostPanel.hidden = true;
    this.lostWait.hidden = true;
    this.lostWait.textContent = '';
  }

  // The chat is a page of the same service: while it is restarting, the link would only show
  // the browser's error page. Wait for it (with back-off), saying so, then go.
  async openChatWhenUp(attempt) {
    window.clearTimeout(this.chatTimer);
    let up = false;
    try {
      const response = await fetch(this.chatLink.href, { method: 'HEAD', cache: 'no-store' });
      up = response.ok;
    } catch {
      up = false;
    }
    if (up) {
      window.location.assign(this.chatLink.href);
      return;
    }
    this.lostWait.textContent = 'El servicio se está restableciendo. Abriremos el chat en cuanto esté disponible…';
    this.lostWait.hidden = false;
    this.chatTimer = window.setTimeout(() => this.openChatWhenUp(attempt + 1), backoffDelay(attempt, 10000));
  }

  // -- page ------------------------------------------------------------------------------------

  setState(state, text) {
    this.statusLine.dataset.state = state;
    delete this.statusLine.dataset.reason;
    if (this.statusLine.textContent !== text) this.statusLine.textContent = text;
    const busy = state === 'connecting' || state === 'in-call';
    const hadFocus = document.activeElement === this.callButton || document.activeElement === this.hangupButton;
    this.callButton.hidden = busy;
    this.hangupButton.hidden = !busy;
    this.callLabel.textContent = state === 'ended' ? 'Volver a llamar' : 'Llamar';
    this.micRow.hidden = state !== 'in-call';
    if (state !== 'in-call') this.micLevel.style.transform = 'scaleX(0)';
    if (state === 'idle' || state === 'ended') this.setMuted(false);
    // The pressed button disappears: keep keyboard users on the one that replaced it.
    if (hadFocus) (busy ? this.hangupButton : this.callButton).focus();
  }

  setSpeaking(session, active) {
    const on = Boolean(active) && !session.closed;
    this.speaking.hidden = !on;
    if (on) {
      const agent = session.conversation.state === 'agent';
      this.speakingText.textContent = agent
        ? `${session.agentName || 'La persona que le atiende'} está hablando`
        : 'El asistente está hablando';
    }
  }

  toggleMute() {
    this.setMuted(this.muteButton.getAttribute('aria-pressed') !== 'true');
  }

  setMuted(muted) {
    const session = this.session;
    if (session && session.stream) {
      // A disabled track delivers silence: the server keeps receiving frames at the same pace.
      for (const track of session.stream.getAudioTracks()) track.enabled = !muted;
    }
    this.muteButton.setAttribute('aria-pressed', String(muted));
    this.muteButton.textContent = muted ? 'Activar micrófono' : 'Silenciar micrófono';
  }

  addLine(session, author, text) {
    if (typeof text !== 'string' || !text.trim()) return;
    const who = ['customer', 'bot', 'agent'].includes(author) ? author : 'system';
    let label = { customer: 'Usted', bot: 'Asistente', system: 'Aviso' }[who];
    if (who === 'agent') label = session.agentName || 'Agente';
    const line = document.createElement('li');
    line.className = 'line';
    line.dataset.author = who;
    const name = document.createElement('span');
    name.className = 'line-author';
    name.textContent = label;
    const words = document.createElement('span');
    words.className = 'line-text';
    words.textContent = text.trim();
    // A hidden colon so that screen readers say "Asistente: …" instead of one run-on phrase.
    const colon = document.createElement('span');
    colon.className = 'visually-hidden';
    colon.textContent = ': ';
    line.append(name, colon, words);
    this.transcript.append(line);
    this.transcriptEmpty.hidden = true;
    this.transcript.scrollTop = this.transcript.scrollHeight;
  }

  clearTranscript() {
    this.transcript.replaceChildren();
    this.transcriptEmpty.hidden = false;
    this.setPartial('');
  }

  setPartial(text) {
    const words = text.trim();
    this.partial.querySelector('.partial-text').textContent = words ? `${words}…` : '';
    this.partial.hidden = !words;
  }

  showError(text) {
    this.errorLine.textContent = text;
    this.errorLine.hidden = false;
  }

  hideError() {
    this.errorLine.hidden = true;
    this.errorLine.textContent = '';
  }
}

function microphoneErrorText(err) {
  const name = err && err.name;
  if (name === 'NotAllowedError' || name === 'PermissionDeniedError' || name === 'SecurityError') {
    return 'No tenemos permiso para usar el micrófono. Permítalo en la configuración del navegador (el icono junto a la dirección de la página) y vuelva a pulsar «Llamar».';
  }
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') {
    return 'No encontramos ningún micrófono. Conecte uno y vuelva a pulsar «Llamar».';
  }
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') {
    return 'El micrófono no responde; puede que lo esté usando otra aplicación. Ciérrela y vuelva a intentarlo.';
  }
  return 'No hemos podido usar el micrófono. Compruebe que está conectado y vuelva a intentarlo.';
}

new CallApp().start();
