// A short, soft two-tone chime when the chat opens. Browsers let a page play
// sound only after a user gesture, so the AudioContext is opened (or resumed)
// on the first click or key press and reused later.

let context = null;

export function unlockAudio() {
  try {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    if (!context) context = new Context();
    if (context.state === "suspended") context.resume().catch(() => {});
  } catch {
    context = null; // no audio on this device: the visible notice is enough
  }
}

export function chime() {
  if (!context || context.state !== "running") return;
  try {
    const start = context.currentTime + 0.02;
    for (const [offset, frequency] of [
      [0, 660],
      [0.22, 880],
    ]) {
      const osc = context.createOscillator();
      const gain = context.createGain();
      osc.type = "sine";
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.2, start + offset + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.35);
      osc.connect(gain).connect(context.destination);
      osc.start(start + offset);
      osc.stop(start + offset + 0.4);
    }
  } catch {
    // sound is a courtesy; the notice on screen carries the message
  }
}
