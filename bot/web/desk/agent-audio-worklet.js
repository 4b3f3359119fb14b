// AudioWorklet for the agent's microphone: context rate -> 16 kHz mono int16 LE, 20 ms frames.
//
// A 4th-order Butterworth low-pass (two biquads) keeps what cannot be represented at 16 kHz from
// folding back as noise; linear interpolation then resamples. Every 320 samples (20 ms) the
// processor posts a 640-byte ArrayBuffer (transferred) to the page, which sends it to the call.

const TARGET_RATE = 16000;
const FRAME_SAMPLES = 320;
const CUTOFF_HZ = 7000;
const BUTTERWORTH_Q = [0.5412, 1.3066];

function lowPass(rate, cutoff, q) {
  const w0 = (2 * Math.PI * cutoff) / rate;
  const cos = Math.cos(w0);
  const alpha = Math.sin(w0) / (2 * q);
  const a0 = 1 + alpha;
  return {
    b0: (1 - cos) / 2 / a0,
    b1: (1 - cos) / a0,
    b2: (1 - cos) / 2 / a0,
    a1: (-2 * cos) / a0,
    a2: (1 - alpha) / a0,
    x1: 0, x2: 0, y1: 0, y2: 0,
  };
}

class AgentMic16k extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE;
    this.sections = sampleRate > TARGET_RATE * 1.05
      ? BUTTERWORTH_Q.map((q) => lowPass(sampleRate, Math.min(CUTOFF_HZ, sampleRate * 0.45), q))
      : [];
    this.filtered = new Float32Array(128);
    this.previous = 0; // last filtered sample of the previous block
    this.position = 0; // read position, in samples, relative to `previous`
    this.newFrame();
  }

  newFrame() {
    this.frame = new ArrayBuffer(FRAME_SAMPLES * 2);
    this.view = new DataView(this.frame);
    this.filled = 0;
  }

  filter(input) {
    if (this.filtered.length < input.length) this.filtered = new Float32Array(input.length);
    const out = this.filtered;
    for (let i = 0; i < input.length; i += 1) {
      let x = input[i];
      for (const s of this.sections) {
        const y = s.b0 * x + s.b1 * s.x1 + s.b2 * s.x2 - s.a1 * s.y1 - s.a2 * s.y2;
        s.x2 = s.x1; s.x1 = x; s.y2 = s.y1; s.y1 = y;
        x = y;
      }
      out[i] = x;
    }
    return out;
  }

  push(sample) {
    const clamped = Math.max(-1, Math.min(1, sample));
    this.view.setInt16(this.filled * 2, Math.round(clamped * 32767), true);
    this.filled += 1;
    if (this.filled === FRAME_SAMPLES) {
      this.port.postMessage(this.frame, [this.frame]);
      this.newFrame();
    }
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || !channels.length) return true;
    const n = channels[0].length;
    const x = this.filter(channels[0]);
    // index 0 is the previous block's last sample, index k (1..n) is x[k - 1]
    while (this.position < n) {
      const i = Math.floor(this.position);
      const frac = this.position - i;
      const a = i === 0 ? this.previous : x[i - 1];
      const b = x[i];
      this.push(a + (b - a) * frac);
      this.position += this.step;
    }
    this.position -= n;
    this.previous = x[n - 1];
    return true;
  }
}

registerProcessor('agent-mic-16k', AgentMic16k);
