// The local stack's user switcher: locally anyone can be anyone (that is the point: trying
// tenant isolation from the page), so the header offers the stack's named users. Shown only in
// local mode; a deployed stack signs in through Cognito and never shows it.

import { isLocalMode, localUsers, currentLocalUser, setLocalUser } from './auth.js';

export function initUserSwitcher() {
  const wrap = document.querySelector('[data-testid="user-switch"]');
  const select = document.querySelector('[data-testid="user-switcher"]');
  if (!wrap || !select || !isLocalMode()) return;
  const current = currentLocalUser();
  select.replaceChildren(...localUsers().map((u) => {
    const o = document.createElement('option');
    o.value = u;
    o.textContent = u;
    return o;
  }));
  select.value = current;
  wrap.hidden = false;
  select.addEventListener('change', () => {
    if (select.value === current) return;
    setLocalUser(select.value);
    // Another person: their home view, never the previous person's open project.
    location.assign(new URL('./', location.href).pathname);
  });
}
