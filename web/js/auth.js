// Sign-in. The API takes a bearer JWT (API Gateway's JWT authorizer in the cloud, the same
// check in the local stack). Local: the stack signs in the user picked in the header's switcher
// (POST tokenUrl with the per-start secret the served config carries; the choice is kept in
// localStorage "broll.localUser" so a reload stays the same person).
// Cloud: Cognito's hosted UI, authorization code flow with PKCE. Tokens live in memory only.
//
// The redirect_uri is always the one registered with the app client, the site root
// (`${location.origin}/`), on the authorize request and on the token request alike. Where the
// person was going (path + query, e.g. /index.html?project=X) rides across the sign-in in
// sessionStorage under a random `state`, sent as OAuth's state and checked on return: a
// return whose state is missing or not ours never has its code exchanged (CSRF), and after
// the exchange the page's own path and query are put back (history.replaceState), so main.js
// reads ?project= as if the person had never left.

let settings = { mode: 'none' };
let token = null;
let expiresAt = 0;
let returned = null;     // the promise of handling the hosted UI's return (once per page load)
let signInError = null;  // the code exchange failed: no automatic redirect loop; reload to retry

const STATE_KEY = 'oauth-state:';
const OAUTH_PARAMS = ['code', 'state', 'error', 'error_description', 'error_uri'];

export function configureAuth(auth) {
  if (auth && typeof auth.mode === 'string') settings = auth;
}

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

const randomString = () => b64url(crypto.getRandomValues(new Uint8Array(32)));

/** The registered callback URL: exactly the site root. */
const redirectUri = () => `${location.origin}/`;

/** The hosted UI's base: `domain` is a host name (https), or a full base URL with a scheme. */
function hostedUi() {
  const domain = String(settings.domain || '');
  return /^https?:\/\//i.test(domain) ? domain.replace(/\/+$/, '') : `https://${domain}`;
}

/** The current page's path + query + hash, without any OAuth response parameters. */
function currentPath() {
  const url = new URL(location.href);
  OAUTH_PARAMS.forEach((p) => url.searchParams.delete(p));
  return `${url.pathname}${url.search}${url.hash}`;
}

/** A stored return path, accepted only when it stays on this origin. */
function sameOriginPath(path) {
  try {
    const url = new URL(path, location.origin);
    if (url.origin === location.origin) return `${url.pathname}${url.search}${url.hash}`;
  } catch { /* not a URL */ }
  return '/';
}

/**
 * The record saved for this state, or null; and where this tab was last going (the newest
 * record), for a return that is not ours. Every saved state is then dropped: single use.
 */
function takeState(state) {
  let saved = null;
  let newest = null;
  for (let i = sessionStorage.length - 1; i >= 0; i -= 1) {
    const key = sessionStorage.key(i);
    if (!key || !key.startsWith(STATE_KEY)) continue;
    let record = null;
    try { record = JSON.parse(sessionStorage.getItem(key)); } catch { record = null; }
    sessionStorage.removeItem(key);
    if (!record || typeof record.verifier !== 'string') continue;
    if (state && key === STATE_KEY + state) saved = record;
    if (!newest || (record.at || 0) > (newest.at || 0)) newest = record;
  }
  return { saved, lastReturnTo: newest ? newest.returnTo : null };
}

async function handleReturn() {
  const params = new URLSearchParams(location.search);
  if (!OAUTH_PARAMS.some((p) => params.has(p))) return;
  const code = params.get('code');
  const { saved, lastReturnTo } = takeState(params.get('state'));
  // Put back where the person was going; a return that is not ours only loses its code.
  const back = saved ? saved.returnTo : lastReturnTo;
  history.replaceState(history.state, '', back ? sameOriginPath(back) : currentPath());
  if (!saved) return; // a missing or foreign state: its code is never exchanged
  if (!code) throw new Error(params.get('error_description') || params.get('error') || 'Sign-in failed.');
  const res = await fetch(`${hostedUi()}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', client_id: settings.clientId, code,
      redirect_uri: redirectUri(), code_verifier: saved.verifier,
    }),
  });
  const data = res.ok ? await res.json() : null;
  if (!data || typeof data.access_token !== 'string') throw new Error('Sign-in failed.');
  token = data.access_token;
  expiresAt = Date.now() + (data.expires_in || 3600) * 1000;
}

/**
 * On the hosted UI's return (?code=…&state=…): exchanges the code when the state is ours and
 * restores the page's own path and query. Call before reading the URL; never rejects.
 */
export function finishSignIn() {
  if (settings.mode !== 'cognito') return Promise.resolve();
  if (!returned) {
    returned = handleReturn().catch((err) => { signInError = err; });
  }
  return returned;
}

/** Leaves for the hosted UI, remembering where to come back to under a fresh state. */
async function startCognitoSignIn() {
  const state = randomString();
  const verifier = randomString();
  sessionStorage.setItem(STATE_KEY + state, JSON.stringify({ verifier, returnTo: currentPath(), at: Date.now() }));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const query = new URLSearchParams({
    response_type: 'code', client_id: settings.clientId, redirect_uri: redirectUri(), scope: 'openid email',
    state, code_challenge_method: 'S256', code_challenge: challenge,
  });
  location.assign(`${hostedUi()}/oauth2/authorize?${query}`);
  return new Promise(() => {}); // the page is leaving
}

const LOCAL_USER_KEY = 'broll.localUser';
const USER_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** True when the local stack signs people in by name (the user switcher is shown). */
export function isLocalMode() {
  return settings.mode === 'local';
}

function storedUser() {
  try {
    const u = localStorage.getItem(LOCAL_USER_KEY);
    return u && USER_NAME.test(u) ? u : null;
  } catch {
    return null; // storage blocked: fall back to the default user
  }
}

/** The local user this page signs in as: the stored choice, else demo-user (the stack's default). */
export function currentLocalUser() {
  const users = Array.isArray(settings.users) ? settings.users : [];
  return storedUser() || (users.includes('demo-user') ? 'demo-user' : users[0] || 'demo-user');
}

/** The names the switcher offers: the stack's list plus a stored name that is not on it. */
export function localUsers() {
  const users = (Array.isArray(settings.users) ? settings.users : []).filter((u) => USER_NAME.test(u));
  const current = currentLocalUser();
  return users.includes(current) ? users : [...users, current];
}

/** Switches the local user: the old token must not be used for the new person. */
export function setLocalUser(user) {
  if (!USER_NAME.test(user)) return;
  try { localStorage.setItem(LOCAL_USER_KEY, user); } catch { /* kept for this page only */ }
  token = null;
  expiresAt = 0;
}

async function localSignIn() {
  const res = await fetch(settings.tokenUrl, {
    method: 'POST',
    cache: 'no-store',
    headers: { 'Content-Type': 'application/json', 'X-Local-Auth': String(settings.secret || '') },
    body: JSON.stringify({ user: currentLocalUser() }),
  });
  if (!res.ok) throw new Error('Local sign-in failed.');
  const got = await res.json();
  token = got.token;
  expiresAt = Date.now() + (got.expiresIn || 3600) * 1000;
}

/** Headers that authenticate a request; signs in first when needed. */
export async function authHeaders() {
  if (settings.mode === 'none') return {};
  if (settings.mode === 'cognito') await finishSignIn();
  if (!token || Date.now() > expiresAt - 30000) {
    if (settings.mode !== 'cognito') await localSignIn();
    else if (signInError) throw signInError;
    else await startCognitoSignIn();
  }
  return { Authorization: `Bearer ${token}` };
}

/** After a 401: forget the token so the next request signs in again. */
export function forgetToken() {
  token = null;
}
