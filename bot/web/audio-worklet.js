// Audio worklet processors for the browser call page (call.js).
//
// The gateway speaks one audio format only: mono, signed 16-bit little-endian PCM at 16 kHz.
// The browser's audio context runs at whatever the hardware uses (usually 48 kHz, sometimes
// 44.1 kHz), so both directions need a sample-rate conversion:
//
//   pcm-capture   microphone (context rate) -> 16 kHz int16 frames of 20 ms, posted to the page
//   pcm-playback  16 kHz int16 chunks from the page -> context rate, with stop/pause/resume
//
// Both use the same band-limited (windowed-sinc) resampler. A plain decimation or a linear
// interpolation would fold everything between 8 and 24 kHz back into the speech band (hiss and
// whistles the speech recogniser hears as noise), and on playback would leave audible images.

const PCM_RATE = 16000;

// Streaming windowed-sinc resampler.
//
// Output sample j is the input signal evaluated at input position t_j = t_0 + j * step, through a
// low-pass kernel whose cutoff sits below the Nyquist frequency of the slower side. The kernel
// is precomputed for `phases` fractional positions per input sample, so producing one output
// costs 2 * half multiply-adds and no trigonometry.
class StreamResampler {
  constructor(inRate, outRate, { zeroCrossings = 16, phases = 512, passband = 0.85 } = {}) {
    this.step = inRate / outRate;
    // Cutoff in cycles per input sample: a little below the lower Nyquist frequency, so that the
    // window's transition band ends near it rather than straddling it.
    const fc = (passband * Math.min(inRate, outRate)) / 2 / inRate;
    this.half = Math.ceil(zeroCrossings / (2 * fc));
    this.phases = phases;
    const width = 2 * this.half;
    this.table = new Float32Array(phases * width);
    for (let p = 0; p < phases; p++) {
      const frac = p / phases;
      let sum = 0;
      for (let m = 0; m < width; m++) {
        // Tap m multiplies input sample (n0 - half + 1 + m); its distance from t = n0 + frac is:
        const x = frac + this.half - 1 - m;
        const v = kernel(x, fc, this.half);
        this.table[p * width + m] = v;
        sum += v;
      }
      // Unity gain at DC for every phase, or a steady tone would ripple with the phase.
      for (let m = 0; m < width; m++) this.table[p * width + m] /= sum;
    }
    this.buffer = new Float32Array(4096);
    this.reset();
  }

  reset() {
    // Start with half - 1 zeros of history so the first output can be centred on the first real
    // input sample without reading before the start of the buffer.
    this.length = this.half - 1;
    this.buffer.fill(0, 0, this.length);
    this.t = this.half - 1;
  }

  // Input samples received but not yet passed by the read position.
  pending() {
    return Math.max(0, this.length - Math.floor(this.t));
  }

  push(samples) {
    const needed = this.length + samples.length;
    if (needed > this.buffer.length) {
      let size = this.buffer.length;
      while (size < needed) size *= 2;
      const bigger = new Float32Array(size);
      bigger.set(this.buffer.subarray(0, this.length));
      this.buffer = bigger;
    }
    this.buffer.set(samples, this.length);
    this.length += samples.length;
  }

  // Writes up to `count` samples into out[offset...]; returns how many it could produce with the
  // input available so far (the rest will come once more input is pushed).
  produce(out, offset, count) {
    const { buffer, table, half, phases, step } = this;
    const width = 2 * half;
    let produced = 0;
    while (produced < count) {
      let n0 = Math.floor(this.t);
      let p = Math.round((this.t - n0) * phases);
      if (p === phases) {
        p = 0;
        n0 += 1;
      }
      if (n0 + half >= this.length) break;
      const base = n0 - half + 1;
      const row = p * width;
      let acc = 0;
      for (let m = 0; m < width; m++) acc += buffer[base + m] * table[row + m];
      out[offset + produced] = acc;
      produced += 1;
      this.t += step;
    }
    this.compact();
    return produced;
  }

  // Drops history the kernel can no longer reach. Done only when it frees a good share of the
  // buffer, so a long queued reply is not copied on every 128-sample render quantum.
  compact() {
    const discard = Math.floor(this.t) - this.half + 1;
    if (discard > 0 && (discard >= 8192 || discard * 2 >= this.length)) {
      this.buffer.copyWithin(0, discard, this.length);
      this.length -= discard;
      this.t -= discard;
    }
  }
}

// Low-pass kernel: ideal sinc with cutoff fc (cycles/sample), Blackman window over [-half, half].
function kernel(x, fc, half) {
  if (Math.abs(x) >= half) return 0;
  const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
  const w = 0.42 + 0.5 * Math.cos((Math.PI * x) / half) + 0.08 * Math.cos((2 * Math.PI * x) / half);
  return sinc * w;
}

// Microphone -> 20 ms frames of 16 kHz int16 LE (640 bytes), posted as transferable ArrayBuffers
// together with the frame's RMS level (for the page's microphone meter).
class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = (options && options.processorOptions) || {};
    this.frameSamples = Math.round(((opts.frameMs || 20) * PCM_RATE) / 1000);
    // `sampleRate` is the global of the AudioWorkletGlobalScope: the context's real rate.
    this.resampler = new StreamResampler(sampleRate, PCM_RATE);
    this.frame = new Float32Array(this.frameSamples);
    this.filled = 0;
    this.mono = new Float32Array(128);
    this.silence = new Float32Array(128);
  }

  process(inputs) {
    const channels = inputs[0] || [];
    let block;
    if (channels.length === 0) {
      // No data (the source has not started, or the track ended): keep the 20 ms cadence with
      // silence, so the server's voice-activity timing stays continuous.
      block = this.silence;
    } else if (channels.length === 1) {
      block = channels[0];
    } else {
      const size = channels[0].length;
      if (this.mono.length !== size) this.mono = new Float32Array(size);
      this.mono.fill(0);
      for (const channel of channels) {
        for (let i = 0; i < size; i++) this.mono[i] += channel[i] / channels.length;
      }
      block = this.mono;
    }
    this.resampler.push(block);
    for (;;) {
      const n = this.resampler.produce(this.frame, this.filled, this.frameSamples - this.filled);
      this.filled += n;
      if (this.filled < this.frameSamples) break;
      this.emit();
      this.filled = 0;
    }
    return true;
  }

  emit() {
    const bytes = new ArrayBuffer(this.frameSamples * 2);
    const view = new DataView(bytes);
    let energy = 0;
    for (let i = 0; i < this.frameSamples; i++) {
      const s = Math.max(-1, Math.min(1, this.frame[i]));
      energy += s * s;
      // Asymmetric scale so that -1 maps to -32768 and +1 to +32767 without overflow.
      view.setInt16(i * 2, Math.round(s < 0 ? s * 0x8000 : s * 0x7fff), true);
    }
    const level = Math.sqrt(energy / this.frameSamples);
    this.port.postMessage({ type: 'frame', pcm: bytes, level }, [bytes]);
  }
}

// 16 kHz int16 LE chunks from the server -> the context rate, played back to back.
//
// A ring of queued audio with three controls the server drives: `stop` drops everything at once
// (the caller barged in), `pause` holds playback without losing the queue (a possible barge-in
// that may turn out to be a cough), `resume` continues where it was.
class PlaybackProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = (options && options.processorOptions) || {};
    this.resampler = new StreamResampler(PCM_RATE, sampleRate);
    // A short cushion before starting (or restarting after running dry) absorbs network jitter
    // between chunks; a timeout starts anyway so a very short reply is not held back.
    this.prebuffer = Math.round(((opts.prebufferMs || 60) * PCM_RATE) / 1000);
    this.maxWaitQuanta = Math.ceil(((opts.maxWaitMs || 100) / 1000) * sampleRate / 128);
    this.playing = false;
    this.paused = false;
    this.waited = 0;
    this.oddByte = null;
    this.reported = false;
    this.tail = new Float32Array(0);
    this.tailLength = 0;
    this.port.onmessage = (event) => this.onMessage(event.data);
  }

  onMessage(msg) {
    if (!msg) return;
    if (msg.type === 'audio') {
      this.enqueue(msg.pcm);
    } else if (msg.type === 'stop') {
      this.resampler.reset();
      this.oddByte = null;
      this.tailLength = 0;
      this.playing = false;
      this.paused = false;
      this.waited = 0;
    } else if (msg.type === 'pause') {
      this.paused = true;
    } else if (msg.type === 'resume') {
      this.paused = false;
    }
  }

  enqueue(buffer) {
    let bytes = new Uint8Array(buffer);
    // Chunks should have an even length, but a split sample must not shift every later one.
    if (this.oddByte !== null) {
      const joined = new Uint8Array(bytes.length + 1);
      joined[0] = this.oddByte;
      joined.set(bytes, 1);
      bytes = joined;
      this.oddByte = null;
    }
    if (bytes.length % 2 === 1) {
      this.oddByte = bytes[bytes.length - 1];
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const samples = new Float32Array(bytes.length / 2);
    for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true) / 32768;
    this.resampler.push(samples);
  }

  process(inputs, outputs) {
    const output = outputs[0];
    const out = output[0];
    out.fill(0);
    if (!this.paused) {
      let n = 0;
      if (this.tailLength > 0) {
        n = Math.min(this.tailLength, out.length);
        out.set(this.tail.subarray(0, n));
        this.tail.copyWithin(0, n, this.tailLength);
        this.tailLength -= n;
      }
      if (!this.playing) {
        const pending = this.resampler.pending();
        if (pending > 0) this.waited += 1;
        if (pending >= this.prebuffer || (pending > 0 && this.waited >= this.maxWaitQuanta)) {
          this.playing = true;
          this.waited = 0;
        }
      }
      if (this.playing && n < out.length) {
        n += this.resampler.produce(out, n, out.length - n);
        if (n < out.length) this.drainTail(out, n);
      }
    }
    for (let c = 1; c < output.length; c++) output[c].set(out);
    const audible = (this.playing || this.tailLength > 0) && !this.paused;
    if (audible !== this.reported) {
      this.reported = audible;
      this.port.postMessage({ type: 'playing', value: audible });
    }
    return true;
  }

  // The queue ran dry. The kernel still needs `half` samples after the last real one, so finish
  // the reply with silence now instead of holding its last milliseconds back until the next
  // reply; what does not fit in this quantum is kept in `tail` for the next one. Starting again
  // from a zeroed history is then exactly "the reply followed by silence".
  drainTail(out, n) {
    this.resampler.push(new Float32Array(2 * this.resampler.half));
    n += this.resampler.produce(out, n, out.length - n);
    if (n === out.length) {
      const room = Math.ceil((2 * this.resampler.half + 2) / this.resampler.step) + 2;
      if (this.tail.length < room) this.tail = new Float32Array(room);
      this.tailLength = this.resampler.produce(this.tail, 0, room);
    }
    this.resampler.reset();
    this.playing = false;
    this.waited = 0;
  }
}

registerProcessor('pcm-capture', CaptureProcessor);
registerProcessor('pcm-playback', PlaybackProcessor);
