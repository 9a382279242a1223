// User actions: each disables its own button while under way, shows API errors as text,
// and resets the poll backoff.

import { api } from './api.js';
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
    // A quota's 429 is a whole sentence (what is used up, what to do): shown as it is.
    const msg = label && err.status !== 429 ? `${label}: ${err.message}` : err.message;
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

/** Kie.ai has no cancel: a clip already sent is paid for and may still finish, so the person
 * is asked first; a scene still waiting for Kie.ai (nothing sent) is cancelled at once. */
export async function cancel(sceneId) {
  const s = sceneById(sceneId);
  const sent = !!(s && s.taskId);
  if (isBusy(`cancel:${sceneId}`)) return null;
  if (sent && !(await confirmDialog({
    title: 'Cancel this clip?',
    body: [
      'Kie.ai has no cancel: the clip already sent goes on there and is still paid for.',
      'If Kie.ai finishes it, it lands in this scene’s History, where you can still choose it.',
    ],
    okText: 'Cancel the clip',
    cancelText: 'Keep generating',
    tone: 'danger',
  }))) return null;
  return guarded(`cancel:${sceneId}`, async () => {
    const scene = await api.cancel(store.projectId, sceneId);
    mergeScene(scene);
    toast(sent ? 'Cancelled. A clip Kie.ai still finishes lands in History.' : 'Cancelled before anything was sent: nothing charged.', 'info', 4000);
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

// Download All: the server packs the ZIP in the background (202 "building") and answers its
// URL once it is made; ask again, less often as the wait grows, for at most ZIP_WAIT_MS.
const ZIP_POLL_MS = [1000, 1500, 2000, 3000, 5000];
const ZIP_WAIT_MS = 15 * 60 * 1000;
const pause = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** Asks for the project's ZIP until its URL comes (the button says "Preparing the ZIP…" meanwhile), then downloads it. */
export function downloadAll() {
  return guarded('download', async () => {
    const pid = store.projectId;
    const deadline = Date.now() + ZIP_WAIT_MS;
    for (let turn = 0; ; turn += 1) {
      const answer = await api.download(pid);
      if (answer && answer.status === 'failed') {
        throw new Error(answer.error || 'The ZIP could not be made. Try Download All again.');
      }
      if (answer && answer.url) {
        clickDownload(answer.url, `${pid}.zip`);
        break;
      }
      if (!answer || answer.status !== 'building') throw new Error('The server did not give a download link.');
      if (turn === 0) toast('Preparing the ZIP… the download starts when it is ready.', 'info', 4000);
      if (Date.now() > deadline) {
        throw new Error('The ZIP is still being prepared. Press Download All again in a minute.');
      }
      await pause(ZIP_POLL_MS[Math.min(turn, ZIP_POLL_MS.length - 1)]);
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
