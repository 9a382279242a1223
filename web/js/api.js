// HTTP client for the B-Roll Studio API (docs/API.md).
// Every failure becomes an ApiError with a readable sentence; raw JSON never reaches the page.

export class ApiError extends Error {
  constructor(message, { status = 0, network = false, details = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.network = network;
    this.details = details;
  }
}

import { authHeaders, configureAuth, forgetToken } from './auth.js';

let apiBase = '';

/** Reads the optional web/config.json ({"apiBase": "..."}); a missing file means same origin. */
export async function loadConfig() {
  try {
    const res = await fetch(new URL('config.json', document.baseURI), { cache: 'no-store' });
    if (res.ok) {
      const cfg = await res.json();
      if (cfg && typeof cfg.apiBase === 'string') apiBase = cfg.apiBase.replace(/\/+$/, '');
      if (cfg) configureAuth(cfg.auth);
    }
  } catch {
    /* no config: same origin */
  }
  return { apiBase };
}

export function apiUrl(path) {
  return `${apiBase}${path}`;
}

/** {"details": [{"field", "message"}]} → " (shotInstructions: Input should be a valid string)". */
export function describeDetails(details) {
  if (!Array.isArray(details) || !details.length) return '';
  const parts = details
    .map((d) => {
      if (typeof d === 'string') return d;
      if (!d || typeof d !== 'object') return '';
      let field = d.field || d.loc || d.name || '';
      if (Array.isArray(field)) field = field.join('.');
      const message = d.message || d.msg || '';
      if (field && message) return `${field}: ${message}`;
      return String(field || message);
    })
    .filter(Boolean);
  return parts.length ? ` (${[...new Set(parts)].join('; ')})` : '';
}

function fallbackMessage(status) {
  if (status === 404) return 'Not found.';
  if (status === 409) return 'That action conflicts with the current state. Refreshing may help.';
  if (status === 429) return 'Too many requests — please wait a moment and try again.';
  if (status >= 500) return `The server had a problem (${status}). Please try again.`;
  return `The request failed (${status}).`;
}

/**
 * request('GET', '/api/projects/demo') → parsed JSON.
 * Throws ApiError: network=true when the server could not be reached.
 */
export async function request(method, path, body, { keepalive = false, signal, retried = false } = {}) {
  let auth;
  try {
    auth = await authHeaders();
  } catch {
    throw new ApiError('Cannot sign in. Check your connection.', { network: true });
  }
  const init = { method, headers: { Accept: 'application/json', ...auth }, keepalive, signal, cache: 'no-store' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(apiUrl(path), init);
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError('Cannot reach the server. Check your connection.', { network: true });
  }
  let data = null;
  const text = await res.text().catch(() => '');
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (res.status === 401 && !retried) {
    forgetToken();
    return request(method, path, body, { keepalive, signal, retried: true });
  }
  if (!res.ok) {
    // Our API says why in "error" (a quota's 429 too); API Gateway's own answers in "message".
    const said = data && [data.error, data.message].find((m) => typeof m === 'string' && m.trim());
    const msg = said ? said.trim() + describeDetails(data.details) : fallbackMessage(res.status);
    throw new ApiError(msg, { status: res.status, details: data && data.details });
  }
  return data;
}

const enc = encodeURIComponent;
const base = (pid) => `/api/projects/${enc(pid)}`;

export const api = {
  getProject: (pid) => request('GET', base(pid)),
  saveScene: (pid, sceneId, fields, opts) => request('PUT', `${base(pid)}/broll/scenes/${enc(sceneId)}`, fields, opts),
  generatePrompt: (pid, sceneId) => request('POST', `${base(pid)}/broll/prompt`, { sceneId }),
  generate: (pid, sceneId, regenerate = false) =>
    request('POST', `${base(pid)}/broll/generate`, regenerate ? { sceneId, regenerate: true } : { sceneId }),
  // sceneIndex: the scene's place in the project, so the server reads only that scene.
  status: (pid, taskId, sceneIndex) => request('GET',
    `${base(pid)}/broll/status/${enc(taskId)}${sceneIndex >= 0 ? `?sceneIndex=${sceneIndex}` : ''}`),
  generateAll: (pid, caps = {}) => request('POST', `${base(pid)}/broll/generate-all`, caps),
  estimate: (pid) => request('GET', `${base(pid)}/broll/estimate`),
  setSchedule: (pid, body) => request('PUT', `${base(pid)}/broll/schedule`, body),
  clearSchedule: (pid) => request('DELETE', `${base(pid)}/broll/schedule`),
  cancel: (pid, sceneId) => request('POST', `${base(pid)}/broll/cancel`, { sceneId }),
  complete: (pid) => request('POST', `${base(pid)}/complete`, {}),
  reopen: (pid) => request('POST', `${base(pid)}/reopen`, {}),
  startRender: (pid) => request('POST', `${base(pid)}/render`, {}),
  // 200 {status: "ready", url} · 202 {status: "building", progress} · 200 {status: "failed", error}
  download: (pid) => request('GET', `${base(pid)}/download`),
  history: (pid, sceneId, opts) => request('GET', `${base(pid)}/broll/scenes/${enc(sceneId)}/history`, undefined, opts),
  savePlan: (pid, sceneId, body) => request('PUT', `${base(pid)}/broll/scenes/${enc(sceneId)}/plan`, body),
  selectClip: (pid, sceneId, entryId) => request('POST', `${base(pid)}/broll/scenes/${enc(sceneId)}/select`, { entryId }),
  setStyle: (pid, style) => request('PUT', `${base(pid)}/style`, style),
  // LayoutSettings fields, each optional (issue 15) → 200 Project.
  setLayout: (pid, body) => request('PUT', `${base(pid)}/layout`, body),
  // Projects and their media (issue 14).
  listProjects: () => request('GET', '/api/projects'),
  createProject: (body) => request('POST', '/api/projects', body),
  renameProject: (pid, name) => request('PATCH', base(pid), { name }),
  deleteProject: (pid) => request('DELETE', base(pid)),
  duplicateProject: (pid, body = {}) => request('POST', `${base(pid)}/duplicate`, body),
  // {kind, contentType, size} → {url, fields, key, maxBytes}: a presigned S3 POST (upload.js).
  requestUpload: (pid, body) => request('POST', `${base(pid)}/uploads`, body),
  // {key} after an upload, {url} to fetch, {} to retry the last source → 202 Project.
  setMedia: (pid, kind, body = {}) => request('POST', `${base(pid)}/media/${enc(kind)}`, body),
  useFileDuration: (pid) => request('POST', `${base(pid)}/media/voiceover/use-file-duration`, {}),
  setTimings: (pid, boundaries) => request('PUT', `${base(pid)}/timings`, { boundaries }),
};
