// Small toast notices (errors and confirmations), readable text only.

const ICON = { error: '⚠', success: '✓', info: 'ℹ' };

export function toast(message, kind = 'error', ms = kind === 'error' ? 7000 : 3500) {
  const host = document.querySelector('[data-testid="toasts"]');
  if (!host) return;
  const el = document.createElement('div');
  el.className = `toast toast-${kind}`;
  el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  el.dataset.testid = 'toast';
  const icon = document.createElement('span');
  icon.className = 'toast-icon';
  icon.setAttribute('aria-hidden', 'true');
  icon.textContent = ICON[kind] || ICON.info;
  const text = document.createElement('span');
  text.className = 'toast-text';
  text.textContent = message;
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'toast-close';
  close.setAttribute('aria-label', 'Dismiss');
  close.textContent = '✕';
  el.append(icon, text, close);
  const remove = () => {
    el.classList.add('leaving');
    setTimeout(() => el.remove(), 200);
  };
  close.addEventListener('click', remove);
  host.append(el);
  while (host.children.length > 4) host.firstElementChild.remove();
  if (ms) setTimeout(remove, ms);
}
