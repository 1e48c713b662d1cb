// Toasts (short messages in a corner) and a beep for what the cashier must notice.
import { html } from '../html.js';
import { Store } from '../store.js';

export const toasts = new Store({ list: [] });
let toastId = 0;

export function toast(text, kind = 'info', ms = 4000) {
  const id = ++toastId;
  toasts.set(s => ({ list: [...s.list, { id, text, kind }].slice(-5) }));
  setTimeout(() => toasts.set(s => ({ list: s.list.filter(x => x.id !== id) })), ms);
}

export function Toasts() {
  const { list } = toasts.use();
  return html`<div class="toasts" aria-live="polite">
    ${list.map(x => html`<div key=${x.id} class=${`toast toast-${x.kind}`} data-testid="toast">${x.text}</div>`)}
  </div>`;
}

let audio = null;
export function beep(freq = 880, ms = 180, times = 1) {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    for (let i = 0; i < times; i++) {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.type = 'square';
      o.frequency.value = freq;
      g.gain.value = 0.08;
      o.connect(g).connect(audio.destination);
      const at = audio.currentTime + i * (ms / 1000 + 0.08);
      o.start(at);
      o.stop(at + ms / 1000);
    }
    window.__beeps = (window.__beeps || 0) + 1; // for the browser tests
  } catch (e) { /* no audio device: the toast still shows */ }
}
