// Sign-in. The API takes a bearer JWT (API Gateway's JWT authorizer in the cloud, the same
// check in the local stack). Local: the stack signs the demo user in (POST tokenUrl).
// Cloud: Cognito's hosted UI, authorization code flow with PKCE. Tokens live in memory only.

let settings = { mode: 'none' };
let token = null;
let expiresAt = 0;

export function configureAuth(auth) {
  if (auth && typeof auth.mode === 'string') settings = auth;
}

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

async function cognitoSignIn() {
  const { domain, clientId } = settings;
  const redirectUri = `${location.origin}${location.pathname}`;
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  const verifier = sessionStorage.getItem('pkce-verifier');
  if (code && verifier) {
    const res = await fetch(`https://${domain}/oauth2/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: clientId, code, redirect_uri: redirectUri, code_verifier: verifier }),
    });
    sessionStorage.removeItem('pkce-verifier');
    params.delete('code');
    params.delete('state');
    history.replaceState(null, '', `${location.pathname}${params.toString() ? `?${params}` : ''}`);
    if (res.ok) {
      const data = await res.json();
      return { token: data.access_token, expiresIn: data.expires_in };
    }
  }
  const fresh = b64url(crypto.getRandomValues(new Uint8Array(32)));
  sessionStorage.setItem('pkce-verifier', fresh);
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(fresh)));
  const query = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope: 'openid email',
    code_challenge_method: 'S256', code_challenge: challenge,
  });
  location.assign(`https://${domain}/oauth2/authorize?${query}`);
  return new Promise(() => {}); // the page is leaving
}

async function localSignIn() {
  const res = await fetch(settings.tokenUrl, { method: 'POST', cache: 'no-store' });
  if (!res.ok) throw new Error('Local sign-in failed.');
  return res.json();
}

/** Headers that authenticate a request; signs in first when needed. */
export async function authHeaders() {
  if (settings.mode === 'none') return {};
  if (!token || Date.now() > expiresAt - 30000) {
    const got = settings.mode === 'cognito' ? await cognitoSignIn() : await localSignIn();
    token = got.token;
    expiresAt = Date.now() + (got.expiresIn || 3600) * 1000;
  }
  return { Authorization: `Bearer ${token}` };
}

/** After a 401: forget the token so the next request signs in again. */
export function forgetToken() {
  token = null;
}
