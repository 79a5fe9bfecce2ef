/**
 * Elements without HTML strings: text goes in as text, so nothing a task says can become markup. Style attributes
 * are never set (the page's Content-Security-Policy refuses inline styles): classes carry the look.
 */
export const h = (tag, props = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'value') el.value = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
};

const append = (el, children) => {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
};

/** Replaces what `el` shows. */
export const show = (el, ...children) => {
  el.replaceChildren();
  append(el, children);
  return el;
};

/** "in 4 min", "2 h ago": a time relative to now. */
export const relative = (iso) => {
  if (!iso) return '';
  const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 5) return 'just now';
  const text =
    abs < 60 ? `${abs} s` : abs < 3600 ? `${Math.round(abs / 60)} min` : abs < 86400 ? `${Math.round(abs / 3600)} h` : `${Math.round(abs / 86400)} d`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
};

/** Hours as the dashboard prints them: `3 h`, `0.5 h`. */
export const hours = (value) => (value === null || value === undefined ? '–' : `${Math.round(value * 100) / 100} h`);
