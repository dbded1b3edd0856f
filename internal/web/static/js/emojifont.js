// emojifont.js — colour emoji on machines without a colour emoji font.
// app.css lists "Parley Emoji" (a small subset font shipped with the client)
// after the system emoji fonts. Text laid out before a web font arrives can
// keep its empty boxes in Chromium, so where a canvas shows that the system
// has no colour emoji, the font is loaded before the first render (at most
// a short wait); elsewhere it is never fetched.

// hasColourEmoji draws an emoji in pure green with the system emoji fonts:
// a colour glyph keeps its own colours, a missing one (a box) stays green.
function hasColourEmoji() {
  try {
    const c = document.createElement('canvas');
    c.width = c.height = 32;
    const g = c.getContext('2d', { willReadFrequently: true });
    g.font = '24px "Noto Color Emoji", "Apple Color Emoji", "Segoe UI Emoji", sans-serif';
    g.textBaseline = 'middle';
    g.fillStyle = '#0f0';
    g.fillText('\u{1F600}', 2, 16);
    const d = g.getImageData(0, 0, 32, 32).data;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 128 && (d[i] > 40 || d[i + 2] > 40 || d[i + 1] < 200)) return true;
    return false;
  } catch { return true; }
}

// ensureEmojiFont resolves once the shipped emoji font is ready, or at once
// when the system has its own (or after timeoutMs, whichever comes first).
export function ensureEmojiFont(timeoutMs = 1500) {
  if (!document.fonts || hasColourEmoji()) return Promise.resolve(false);
  const load = document.fonts.load('16px "Parley Emoji"', '\u{1F600}').then(() => true, () => false);
  return Promise.race([load, new Promise((r) => setTimeout(() => r(false), timeoutMs))]);
}
