// User actions: each disables its own button while under way, shows API errors as text,
// and resets the poll backoff.

import { api, apiUrl, describeDetails } from './api.js';
import { authHeaders } from './auth.js';
import {
  store, emit, setBusy, isBusy, sceneById, mergeScene, setProject, select, scenes,
} from './state.js';
import { kick, reportNetworkDown, reloadProject } from './poller.js';
import { toast } from './toast.js';
import { confirmDialog, openVideoModal } from './modal.js';
import { saveScreenshot } from './screenshot.js';
import { rangeLabel } from './format.js';

/** Runs fn with `key` marked busy; returns fn's result or null on error (error shown). */
export async function guarded(key, fn, { sceneId = null, label = '' } = {}) {
  if (isBusy(key)) return null;
  setBusy(key, true);
  if (sceneId) store.actionError.delete(sceneId);
  kick();
  try {
    return await fn();
  } catch (err) {
    if (err && err.network) reportNetworkDown();
    const msg = label ? `${label}: ${err.message}` : err.message;
    if (sceneId && sceneId === store.selectedId) {
      store.actionError.set(sceneId, msg);
      emit();
    } else {
      toast(msg, 'error');
    }
    if (err && (err.status === 409 || err.status === 404)) reloadProject();
    return null;
  } finally {
    setBusy(key, false);
    kick();
  }
}

/* ---------------- shot instructions (debounced save) ---------------- */

const SAVE_DELAY = 700;
const timers = new Map();
const inflight = new Map();

export function onShotInput(sceneId, value) {
  store.drafts.set(sceneId, value);
  store.saveState.set(sceneId, 'dirty');
  emit();
  clearTimeout(timers.get(sceneId));
  timers.set(sceneId, setTimeout(() => saveShot(sceneId), SAVE_DELAY));
}

/** Saves the draft for a scene now (if any). Resolves when the server has it (or failed). */
export async function saveShot(sceneId, { keepalive = false } = {}) {
  clearTimeout(timers.get(sceneId));
  timers.delete(sceneId);
  if (inflight.has(sceneId)) {
    await inflight.get(sceneId).catch(() => {});
  }
  if (!store.drafts.has(sceneId)) return true;
  const value = store.drafts.get(sceneId);
  store.saveState.set(sceneId, 'saving');
  emit();
  const p = (async () => {
    try {
      const scene = await api.saveScene(store.projectId, sceneId, { shotInstructions: value }, { keepalive });
      if (store.drafts.get(sceneId) === value) {
        store.drafts.delete(sceneId);
        store.saveState.set(sceneId, 'saved');
      } else {
        store.saveState.set(sceneId, 'dirty');
      }
      if (scene && scene.sceneId) {
        const cur = sceneById(sceneId);
        // Keep fresher generation state from polling; take the saved fields.
        mergeScene({ sceneId, shotInstructions: scene.shotInstructions, aiPrompt: scene.aiPrompt ?? (cur && cur.aiPrompt) });
      }
      store.actionError.delete(sceneId);
      emit();
      return true;
    } catch (err) {
      if (err.network) {
        store.saveState.set(sceneId, 'error');
        reportNetworkDown();
      } else {
        store.saveState.set(sceneId, 'dirty');
        store.actionError.set(sceneId, `Shot instructions not saved: ${err.message}`);
        if (sceneId !== store.selectedId) toast(`Shot instructions not saved: ${err.message}`);
      }
      emit();
      return false;
    }
  })();
  inflight.set(sceneId, p);
  try {
    return await p;
  } finally {
    if (inflight.get(sceneId) === p) inflight.delete(sceneId);
  }
}

/** Retries drafts that failed for network reasons (called when the connection is back). */
export function retryUnsaved() {
  for (const [sid, st] of store.saveState) {
    if (st === 'error' && store.drafts.has(sid)) saveShot(sid);
  }
}

export function flushAllDrafts({ keepalive = false } = {}) {
  return Promise.all([...store.drafts.keys()].map((sid) => saveShot(sid, { keepalive })));
}

/* ---------------- scene actions ---------------- */

export function selectScene(sceneId) {
  const prev = store.selectedId;
  if (prev && prev !== sceneId && store.drafts.has(prev)) saveShot(prev);
  select(sceneId);
}

export function generatePrompt(sceneId) {
  return guarded(`prompt:${sceneId}`, async () => {
    await saveShot(sceneId);
    const scene = await api.generatePrompt(store.projectId, sceneId);
    mergeScene(scene);
    toast('AI prompt ready.', 'success', 2500);
    return scene;
  }, { sceneId, label: 'Could not write the AI prompt' });
}

export function generate(sceneId, regenerate = false) {
  return guarded(`gen:${sceneId}`, async () => {
    await saveShot(sceneId);
    const scene = await api.generate(store.projectId, sceneId, regenerate);
    mergeScene(scene);
    return scene;
  }, { sceneId, label: 'Could not start the B-roll' });
}

export function cancel(sceneId) {
  return guarded(`cancel:${sceneId}`, async () => {
    const scene = await api.cancel(store.projectId, sceneId);
    mergeScene(scene);
    toast('Generation cancelled.', 'info', 2500);
    return scene;
  }, { sceneId, label: 'Could not cancel' });
}

export function preview(sceneId, opener) {
  const s = sceneById(sceneId);
  if (!s || !s.videoUrl) return;
  // A scene covered by several sub-shots plays them one after another, as the cut will.
  const parts = (s.plan || []).filter((x) => x.videoUrl).map((x) => x.videoUrl);
  const whole = parts.length > 1 && parts.length === s.plan.length;
  const title = `${s.sceneTitle} · ${rangeLabel(s)}${whole ? ` · ${parts.length} clips` : ''}`;
  openVideoModal(whole ? parts[0] : s.videoUrl, title, opener, { ai: s.aiGenerated !== false, then: whole ? parts.slice(1) : [] });
}

/* ---------------- bottom bar ---------------- */

export async function completeProject() {
  if (isBusy('complete')) return;
  const missing = scenes().filter((s) => s.status !== 'completed');
  if (missing.length) {
    const ok = await confirmDialog({
      title: 'Complete without every clip?',
      body: `${missing.length} scene${missing.length === 1 ? ' has' : 's have'} no finished B-roll clip yet. You can still complete the project; those scenes will use the avatar video only.`,
      list: missing.map((s) => `${s.sceneTitle} (${rangeLabel(s)}) — ${s.status === 'generating' ? 'still generating' : s.status === 'failed' ? 'failed' : 'no clip'}`),
      okText: 'Complete anyway',
      tone: 'success',
    });
    if (!ok) return;
  }
  await guarded('complete', async () => {
    await flushAllDrafts();
    const project = await showProject(api.complete(store.projectId));
    toast('Project completed.', 'success');
    return project;
  }, { label: 'Could not complete the project' });
}

/** Shows the project an action answered with (or reads it again when the answer had none). */
async function showProject(answer) {
  const project = await answer;
  if (project && project.scenes) setProject(project);
  else await reloadProject();
  return project;
}

export function reopenProject() {
  return guarded('reopen', async () => {
    const project = await showProject(api.reopen(store.projectId));
    toast('Project reopened — you can change its clips again.', 'success');
    return project;
  }, { label: 'Could not reopen the project' });
}

function clickDownload(href, filename = '') {
  const a = document.createElement('a');
  a.href = href;
  if (filename !== null) a.download = filename;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  setTimeout(() => a.remove(), 0);
}

/** GET /download answers either a redirect to the ZIP or JSON {url}; handle both. */
export function downloadAll() {
  return guarded('download', async () => {
    const url = apiUrl(`/api/projects/${encodeURIComponent(store.projectId)}/download`);
    let res;
    try {
      res = await fetch(url, { headers: { Accept: 'application/json', ...(await authHeaders()) }, redirect: 'manual', cache: 'no-store' });
    } catch {
      const e = new Error('Cannot reach the server. Check your connection.');
      e.network = true;
      throw e;
    }
    if (res.type === 'opaqueredirect' || (res.status >= 300 && res.status < 400)) {
      // A redirect to the ZIP: let the browser follow it as a download.
      clickDownload(url, `${store.projectId}.zip`);
      toast('Download started.', 'success', 2500);
      return true;
    }
    const type = res.headers.get('content-type') || '';
    if (!res.ok) {
      let msg = `The download is not available (${res.status}).`;
      if (type.includes('json')) {
        const data = await res.json().catch(() => null);
        if (data && data.error) msg = data.error + describeDetails(data.details);
      }
      const e = new Error(msg);
      e.status = res.status;
      throw e;
    }
    if (type.includes('json')) {
      const data = await res.json();
      if (!data || !data.url) throw new Error('The server did not give a download link.');
      clickDownload(data.url, `${store.projectId}.zip`);
    } else {
      // The ZIP itself came back: save the blob.
      const blob = await res.blob();
      const href = URL.createObjectURL(blob);
      clickDownload(href, `${store.projectId}.zip`);
      setTimeout(() => URL.revokeObjectURL(href), 10000);
    }
    toast('Download started.', 'success', 2500);
    return true;
  }, { label: 'Could not download' });
}

export function screenshot() {
  return guarded('shot', async () => {
    await saveScreenshot(store);
    toast('Screenshot saved.', 'success', 2500);
  }, { label: 'Could not save the screenshot' });
}
