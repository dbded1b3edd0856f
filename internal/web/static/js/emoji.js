// emoji.js — the reaction and composer emoji picker.
import { h } from './dom.js';

export const QUICK = ['👍', '❤️', '😂', '🎉', '😮', '😢'];

export const EMOJI = {
  Smileys: ['😀', '😃', '😄', '😁', '😆', '😅', '🤣', '😂', '🙂', '😉', '😊', '😇', '🥰', '😍', '🤩', '😘', '😋', '😜', '🤪', '🤗', '🤔', '🤨', '😐', '😑', '😶', '🙄', '😏', '😬', '😌', '😔', '😴', '🤯', '🥳', '😎', '🤓', '😕', '😮', '😲', '🥺', '😢', '😭', '😱', '😤', '😡', '🤬', '💀', '🤡', '👻'],
  Gestures: ['👍', '👎', '👌', '✌️', '🤞', '🤝', '👏', '🙌', '👐', '🙏', '💪', '👋', '🤙', '👀', '🫡', '🤷'],
  Symbols: ['❤️', '🧡', '💛', '💚', '💙', '💜', '🖤', '💔', '💯', '✅', '❌', '⚠️', '🔥', '✨', '⭐', '🎉', '🎊', '🚀', '💡', '📌', '☕', '🍕', '🍻', '🌈'],
};

// picker returns a popover listbox of emoji; onpick(emoji) is called on choice.
// Arrow keys move, Enter picks, Escape closes (onclose).
export function picker(onpick, onclose, label = 'Pick an emoji') {
  const buttons = [];
  const pick = (e) => { onpick(e); };
  const root = h('div', { class: 'emoji-picker', role: 'dialog', 'aria-label': label },
    Object.entries(EMOJI).map(([group, list]) => [
      h('div', { class: 'emoji-group', id: undefined }, group),
      h('div', { class: 'emoji-grid', role: 'group', 'aria-label': group },
        list.map((e) => {
          const b = h('button', { type: 'button', class: 'emoji', 'aria-label': e, title: e, onclick: () => pick(e) }, e);
          buttons.push(b);
          return b;
        })),
    ]));
  root.addEventListener('keydown', (ev) => {
    const i = buttons.indexOf(document.activeElement);
    const cols = 8;
    let j = -1;
    if (ev.key === 'ArrowRight') j = i + 1;
    else if (ev.key === 'ArrowLeft') j = i - 1;
    else if (ev.key === 'ArrowDown') j = i + cols;
    else if (ev.key === 'ArrowUp') j = i - cols;
    else if (ev.key === 'Escape') { ev.preventDefault(); ev.stopPropagation(); onclose?.(); return; }
    if (j >= 0 && j < buttons.length) { ev.preventDefault(); buttons[j].focus(); }
  });
  root.focusFirst = () => buttons[0]?.focus();
  return root;
}
