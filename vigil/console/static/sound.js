// Alarm tones made with WebAudio oscillators (no audio files). Each severity has its own
// pattern and period, repeated while an unacknowledged incident of that severity is listed;
// when two are due the more severe plays first, never overlapping. Muted by the header toggle.

const PATTERNS = {
  critical: { freq: 988, beeps: 3, length: 0.14, gap: 0.08, period: 3000, type: "square" },
  high: { freq: 784, beeps: 2, length: 0.18, gap: 0.12, period: 5000, type: "triangle" },
  medium: { freq: 587, beeps: 1, length: 0.25, gap: 0, period: 9000, type: "triangle" },
  low: { freq: 392, beeps: 1, length: 0.3, gap: 0, period: 15000, type: "sine" },
};
const ORDER = ["critical", "high", "medium", "low"];

export class Alarm {
  constructor() {
    this.ctx = null;
    this.muted = document.body.dataset.muted === "true";
    this.pending = new Set();
    this.last = {};
    document.addEventListener("vigil:mute", (ev) => {
      this.muted = ev.detail;
    });
    // browsers allow audio only after a gesture on the page
    const unlock = () => this.context();
    document.addEventListener("pointerdown", unlock);
    document.addEventListener("keydown", unlock);
    setInterval(() => this.tick(), 500);
  }

  context() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!this.ctx) this.ctx = new Ctx();
    if (this.ctx.state === "suspended") this.ctx.resume();
    return this.ctx;
  }

  /** The severities with an unacknowledged incident in the list. */
  update(severities) {
    for (const s of severities) if (!this.pending.has(s)) this.last[s] = 0; // a new one: at once
    this.pending = new Set(severities);
  }

  tick() {
    if (this.muted) return;
    const now = Date.now();
    if (now - (this.lastAny || 0) < 1500) return; // patterns never overlap
    const due = ORDER.find(
      (s) => this.pending.has(s) && now - (this.last[s] || 0) >= PATTERNS[s].period,
    );
    if (!due) return;
    this.last[due] = now;
    this.lastAny = now;
    this.play(due);
  }

  play(severity) {
    const ctx = this.ctx;
    if (!ctx || ctx.state !== "running") return;
    const p = PATTERNS[severity];
    let t = ctx.currentTime + 0.02;
    for (let i = 0; i < p.beeps; i++) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = p.type;
      osc.frequency.value = p.freq;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + p.length);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t);
      osc.stop(t + p.length + 0.02);
      t += p.length + p.gap;
    }
  }
}
