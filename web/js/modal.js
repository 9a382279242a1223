// Fullscreen video modal and the page's own confirm dialog (no window.confirm).
// Both are native <dialog>s opened with showModal(); we also trap Tab inside, close on Esc,
// and give focus back to the element that opened them.

const FOCUSABLE = 'button:not([disabled]), [href], video[controls], input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function trapTab(dialog, e) {
  if (e.key !== 'Tab') return;
  // A radio group is one Tab stop: its checked radio (or its first when none is checked).
  const tabStop = (el) => el.type !== 'radio' || el.checked
    || !(el.form || dialog).querySelector(`input[type="radio"][name="${el.name}"]:checked`);
  const items = [...dialog.querySelectorAll(FOCUSABLE)]
    .filter((el) => (el.offsetParent !== null || el === document.activeElement) && tabStop(el));
  if (!items.length) return;
  const first = items[0];
  const last = items[items.length - 1];
  const active = document.activeElement;
  if (e.shiftKey && (active === first || !dialog.contains(active))) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && (active === last || !dialog.contains(active))) {
    e.preventDefault();
    first.focus();
  }
}

export function restoreFocus(opener, fallbackSelector) {
  const target = opener && opener.isConnected && !opener.disabled && opener.offsetParent !== null
    ? opener
    : document.querySelector(fallbackSelector);
  if (target) target.focus({ preventScroll: true });
}

/* ---------- video modal ---------- */

let videoOpener = null;

function videoEls() {
  const dialog = document.querySelector('[data-testid="modal"]');
  return {
    dialog,
    video: dialog.querySelector('[data-testid="modal-video"]'),
    title: dialog.querySelector('[data-testid="modal-title"]'),
    close: dialog.querySelector('[data-testid="modal-close"]'),
  };
}

/** Clips still to play after the current one (a scene's sub-shots, in order). */
let upNext = [];

/** Plays url fullscreen, then each of `then` in turn; ai: AI-generated (the modal says so). */
export function openVideoModal(url, title, opener = document.activeElement, { ai = false, then = [] } = {}) {
  const { dialog, video, title: titleEl, close } = videoEls();
  videoOpener = opener;
  upNext = [...then];
  titleEl.textContent = title || 'Preview';
  dialog.querySelector('[data-testid="modal-ai-badge"]').hidden = !ai;
  if (video.getAttribute('src') !== url) video.src = url;
  video.currentTime = 0;
  if (!dialog.open) dialog.showModal();
  document.body.classList.add('modal-open');
  close.focus();
  const p = video.play();
  if (p && p.catch) p.catch(() => { /* autoplay blocked: controls are there */ });
}

export function closeVideoModal() {
  const { dialog, video } = videoEls();
  if (!dialog.open) return;
  video.pause();
  dialog.close();
  document.body.classList.remove('modal-open');
  restoreFocus(videoOpener, '[data-testid="preview-open"]');
  videoOpener = null;
}

export function initModals() {
  const { dialog, close, video } = videoEls();
  video.addEventListener('ended', () => {
    if (!upNext.length || !dialog.open) return;
    video.src = upNext.shift();
    const p = video.play();
    if (p && p.catch) p.catch(() => {});
  });
  close.addEventListener('click', closeVideoModal);
  dialog.addEventListener('cancel', (e) => { e.preventDefault(); closeVideoModal(); });
  dialog.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); closeVideoModal(); }
    trapTab(dialog, e);
  });
  // Click on the dark backdrop (outside the frame) closes.
  dialog.addEventListener('click', (e) => { if (e.target === dialog) closeVideoModal(); });

  const cdialog = document.querySelector('[data-testid="confirm-dialog"]');
  cdialog.addEventListener('keydown', (e) => trapTab(cdialog, e));
  cdialog.addEventListener('cancel', (e) => { e.preventDefault(); settleConfirm(false); });
  cdialog.querySelector('[data-testid="confirm-ok"]').addEventListener('click', confirmOk);
  // Enter in one of the dialog's own fields means OK (never the form's native dialog close).
  cdialog.querySelector('form').addEventListener('submit', (e) => { e.preventDefault(); confirmOk(); });
  cdialog.querySelector('[data-testid="confirm-cancel"]').addEventListener('click', () => settleConfirm(false));
  cdialog.addEventListener('click', (e) => { if (e.target === cdialog) settleConfirm(false); });
}

/* ---------- confirm dialog ---------- */

let pending = null; // { resolve, opener, onOk }

function confirmOk() {
  // A dialog may disable OK (nothing to start); Enter in its form must not get round that.
  if (document.querySelector('[data-testid="confirm-ok"]').disabled) return;
  if (pending && pending.onOk && pending.onOk() === false) return; // the form said why, stays open
  settleConfirm(true);
}

function settleConfirm(ok) {
  const cdialog = document.querySelector('[data-testid="confirm-dialog"]');
  if (!pending) return;
  const { resolve, opener } = pending;
  pending = null;
  cdialog.close();
  document.body.classList.remove('modal-open');
  restoreFocus(opener, '[data-testid="generate-all"]');
  resolve(ok);
}

/**
 * confirmDialog({title, body, list, extra, onOk, okText, cancelText, tone}) → Promise<boolean>.
 * body: string or array of strings (paragraphs); list: items shown as a list;
 * extra: a node of form fields appended below; onOk(): return false to keep the dialog open.
 */
export function confirmDialog({
  title, body, list = null, extra = null, onOk = null, okText = 'OK', cancelText = 'Cancel', tone = 'primary',
}) {
  const cdialog = document.querySelector('[data-testid="confirm-dialog"]');
  if (pending) settleConfirm(false);
  const opener = document.activeElement;
  cdialog.querySelector('[data-testid="confirm-title"]').textContent = title;
  const bodyEl = cdialog.querySelector('[data-testid="confirm-body"]');
  bodyEl.replaceChildren();
  for (const para of [].concat(body || [])) {
    const p = document.createElement('p');
    p.textContent = para;
    bodyEl.append(p);
  }
  if (list && list.length) {
    const ul = document.createElement('ul');
    for (const item of list) {
      const li = document.createElement('li');
      li.textContent = item;
      ul.append(li);
    }
    bodyEl.append(ul);
  }
  if (extra) bodyEl.append(extra);
  const ok = cdialog.querySelector('[data-testid="confirm-ok"]');
  const cancel = cdialog.querySelector('[data-testid="confirm-cancel"]');
  ok.textContent = okText;
  ok.className = `btn btn-${tone}`;
  ok.disabled = false; // the same button serves every dialog
  cancel.textContent = cancelText;
  cancel.hidden = cancelText === null;
  return new Promise((resolve) => {
    pending = { resolve, opener, onOk };
    cdialog.showModal();
    document.body.classList.add('modal-open');
    ok.focus();
  });
}
