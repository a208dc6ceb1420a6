// Small DOM helpers. Every server string goes through textContent, never
// parsed as HTML: names and metadata are user input (SPEC §7).

/** el('td', {className: 'x'}, 'text', child) builds an element. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k in node && !k.includes('-')) node[k] = v;
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

export const $ = (id) => document.getElementById(id);

/** Shows message in the error box id, or hides it when message is empty. */
export function setError(id, message) {
  const box = $(id);
  if (!box) return;
  box.textContent = message || '';
  box.hidden = !message;
}

/** Sets a status line that screen readers announce. */
export function setStatus(id, message) {
  const box = $(id);
  if (box) box.textContent = message || '';
}

export function fmtDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = [];
  if (d) parts.push(`${d}d`);
  if (d || h) parts.push(`${h}h`);
  if (d || h || m) parts.push(`${m}m`);
  parts.push(`${s % 60}s`);
  return parts.join(' ');
}

export function fmtTime(iso) {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return String(iso ?? '');
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}.${p(t.getMilliseconds(), 3)}`;
}

export function fmtNumber(v, digits = 0) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  return v.toLocaleString(undefined, { maximumFractionDigits: digits });
}

export function fmtPercent(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  const pct = v * 100; // the server reports rates as fractions
  return `${pct.toLocaleString(undefined, { maximumFractionDigits: 1 })}%`;
}

/** Copies text to the clipboard; falls back to a selected textarea where the
 * Clipboard API is missing (plain HTTP on a non-local host). */
export async function copyText(text, fallbackArea) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // permission refused: try the fallback
  }
  if (fallbackArea) {
    fallbackArea.focus();
    fallbackArea.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }
  return false;
}
