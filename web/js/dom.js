// Tiny DOM helpers shared by the renderers: change an element only when the value differs,
// so focus, caret position and playing media survive every poll.

export const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

export function setText(el, text) {
  if (el && el.textContent !== text) el.textContent = text;
}

export function setHidden(el, hidden) {
  if (el && el.hidden !== hidden) el.hidden = hidden;
}

export function setDisabled(el, disabled) {
  if (el && el.disabled !== disabled) el.disabled = disabled;
}

export function setTitle(el, title) {
  if (el && el.title !== title) el.title = title;
}

/** A div.progress bar: fill width and the ARIA progressbar values. */
export function setProgress(bar, percent, label) {
  const p = Math.max(0, Math.min(100, Math.round(Number(percent) || 0)));
  bar.firstElementChild.style.width = `${p}%`;
  bar.setAttribute('role', 'progressbar');
  bar.setAttribute('aria-valuenow', String(p));
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', '100');
  if (label) bar.setAttribute('aria-label', label);
}

const REFRESH_AFTER_MS = 30 * 60 * 1000;

function pathOf(url) {
  return String(url || '').split('?')[0];
}

/**
 * Sets a media element's src. Every project read signs media URLs afresh, so a URL for the
 * same file differs only in its query: keep the current one (playback and position survive
 * polling), but take the fresh signature once it is old and the element is paused.
 */
export function setMediaSrc(el, url) {
  const want = url || '';
  const have = el.getAttribute('src') || '';
  if (have === want) return;
  const samePath = have && want && pathOf(have) === pathOf(want);
  const age = Date.now() - Number(el.dataset.srcAt || 0);
  if (samePath && !(el.paused && age > REFRESH_AFTER_MS)) return;
  if (want) {
    el.src = want;
    el.dataset.srcAt = String(Date.now());
  } else {
    el.removeAttribute('src');
    delete el.dataset.srcAt;
  }
}
