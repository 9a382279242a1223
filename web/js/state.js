// The page's single store. Modules change it through these helpers and call emit();
// render.js subscribes and redraws (coalesced to one frame).

export const store = {
  projectId: 'demo',
  project: null,
  selectedId: null,
  loadError: null,          // sentence when the first load failed for a non-network reason
  connectionLost: false,
  busy: new Set(),          // action keys under way: gen:<id>, cancel:<id>, prompt:<id>, all, complete, reopen,
                            // render, schedule, download, shot, style, select:<id>,
                            // plan:<id>
  drafts: new Map(),        // sceneId -> shot instructions typed but not yet saved
  saveState: new Map(),     // sceneId -> 'dirty' | 'saving' | 'saved' | 'error'
  actionError: new Map(),   // sceneId -> readable error from the last action on that scene
  planDrafts: new Map(),    // "<sceneId>:<n>" -> a sub-shot prompt typed but not yet saved (plan.js)
  planState: new Map(),     // sceneId -> the plan's save line
  history: { sceneId: null, entries: null, loading: false, error: '' }, // the selected scene's (history.js)
};

const listeners = new Set();
let queued = false;

export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function emit() {
  if (queued) return;
  queued = true;
  requestAnimationFrame(() => {
    queued = false;
    for (const fn of listeners) fn(store);
  });
}

export function scenes() {
  return (store.project && store.project.scenes) || [];
}

export function sceneById(id) {
  return scenes().find((s) => s.sceneId === id) || null;
}

export function selectedScene() {
  return sceneById(store.selectedId);
}

export function setProject(project) {
  store.project = project;
  store.loadError = null;
  const list = scenes();
  if (!list.some((s) => s.sceneId === store.selectedId)) {
    store.selectedId = list.length ? list[0].sceneId : null;
  }
  emit();
}

/** Replaces one scene with the server's copy (keeps order). */
export function mergeScene(scene) {
  if (!store.project || !scene || !scene.sceneId) return;
  const list = store.project.scenes;
  const i = list.findIndex((s) => s.sceneId === scene.sceneId);
  if (i >= 0) list[i] = { ...list[i], ...scene };
  emit();
}

/** Applies a GET …/broll/status answer; returns true when the scene left "generating". */
export function applyStatus(st) {
  const s = sceneById(st.sceneId);
  if (!s || s.taskId !== st.taskId) return false; // stale: cancelled or regenerated meanwhile
  const wasGenerating = s.status === 'generating';
  Object.assign(s, {
    status: st.status ?? s.status,
    progress: typeof st.progress === 'number' ? st.progress : s.progress,
    videoUrl: st.videoUrl ?? s.videoUrl,
    error: st.error ?? (st.status === 'failed' ? s.error : null),
  });
  emit();
  return wasGenerating && s.status !== 'generating';
}

export function select(id) {
  if (!sceneById(id) || store.selectedId === id) return;
  store.selectedId = id;
  emit();
}

export function setBusy(key, on) {
  if (on) store.busy.add(key);
  else store.busy.delete(key);
  emit();
}

export function isBusy(key) {
  return store.busy.has(key);
}

export function generatingScenes() {
  return scenes().filter((s) => s.status === 'generating');
}

/** Scenes whose cancelled clips Kie.ai is still making (they land in History when done). */
export function lateScenes() {
  return scenes().filter((s) => (s.lateClips || 0) > 0);
}

/** Scenes that "Generate All" would start: not completed and not generating. */
export function pendingScenes() {
  return scenes().filter((s) => s.status !== 'completed' && s.status !== 'generating');
}

/** The composite render ({status, progress, error, videoUrl, outOfDate, …}); idle when unknown. */
export function renderState() {
  return (store.project && store.project.render) || { status: 'idle', progress: 0 };
}

export function isRendering() {
  return renderState().status === 'rendering';
}

export function setRender(render) {
  if (!store.project || !render) return;
  store.project.render = render;
  emit();
}

/** The queued Generate All ({at, whenCreditsAllow, maxClips, note}) or null. */
export function scheduleState() {
  return (store.project && store.project.schedule) || null;
}

export function setSchedule(schedule) {
  if (!store.project) return;
  store.project.schedule = schedule || null;
  emit();
}

export function isCompleted() {
  return !!(store.project && store.project.step7 && store.project.step7.status === 'completed');
}

export function setConnectionLost(lost) {
  if (store.connectionLost === lost) return;
  store.connectionLost = lost;
  emit();
}

/** True while the media worker is still copying or probing the voice-over or avatar (issue 14):
 * the poller keeps reading the project until each says ready or failed. */
export function mediaPending() {
  const p = store.project;
  return !!p && [p.audio, p.avatarVideo].some((part) => {
    const m = part && part.media;
    return !!m && (m.status === 'fetching' || m.status === 'probing');
  });
}
