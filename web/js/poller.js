// Polling: while a scene is generating, ask GET …/broll/status/{taskId} for it (the project
// read while some scene is still queued for submission), with backoff
// (1.5 s × 1.5 up to 10 s, reset by any user action). While the composite is rendering the
// project read (it carries `render`) is repeated at the same pace, and so it is while the media
// worker fetches or checks the voice-over or avatar (issue 14), and while Kie.ai still makes a
// cancelled clip of some scene (scene.lateClips: the project read shows it gone once the clip
// landed in History). A Generate All scheduled for later is watched at a slow pace (30 s) so
// the page sees it start or wait for credits.
// Stops when nothing needs watching, pauses while the tab is hidden, and after a network
// failure keeps probing until the server answers.

import { api } from './api.js';
import {
  store, emit, applyStatus, generatingScenes, setConnectionLost, setProject, isRendering, scheduleState, scenes,
  mediaPending, lateScenes,
} from './state.js';

const MIN_DELAY = 1500;
const MAX_DELAY = 10000;
const SLOW_DELAY = 30000;
const FACTOR = 1.5;

let delay = MIN_DELAY;
let timer = null;
let inFlight = false;
let stopped = false;
let nextAt = 0;

/** Something changes soon: poll at the normal (backoff) pace. */
function fastNeeded() {
  return store.connectionLost || generatingScenes().length > 0 || isRendering() || mediaPending()
    || lateScenes().length > 0 || (!store.project && !store.loadError);
}

function needed() {
  return fastNeeded() || !!scheduleState();
}

function schedule(ms) {
  clearTimeout(timer);
  timer = null;
  if (stopped || document.hidden || !needed()) return;
  if (!fastNeeded()) ms = Math.max(ms, SLOW_DELAY);
  nextAt = Date.now() + ms;
  timer = setTimeout(tick, ms);
}

/** Re-reads the whole project; returns true on success. */
export async function reloadProject() {
  try {
    const project = await api.getProject(store.projectId);
    setConnectionLost(false);
    setProject(project);
    return true;
  } catch (err) {
    if (err.network) setConnectionLost(true);
    else if (!store.project) {
      store.loadError = err.message;
      emit();
    }
    return false;
  }
}

async function tick() {
  timer = null;
  if (inFlight || document.hidden) return;
  inFlight = true;
  try {
    const generating = generatingScenes();
    const gen = generating.filter((s) => s.taskId);
    if (store.connectionLost || !store.project || gen.length < generating.length || !gen.length) {
      // Probe, first load, scenes queued by Generate All without a Kie task yet, or only a
      // render / schedule / cancelled clip to watch: one project read tells us everything.
      await reloadProject();
    } else {
      const readProject = isRendering() || mediaPending() || lateScenes().length > 0;
      let reload = false;
      let network = false;
      const all = scenes();
      const results = await Promise.allSettled(gen.map((s) => api.status(store.projectId, s.taskId, all.indexOf(s))));
      results.forEach((r) => {
        if (r.status === 'fulfilled') {
          if (r.value && applyStatus(r.value)) reload = true;
        } else if (r.reason && r.reason.network) {
          network = true;
        } else {
          reload = true; // 404 task etc.: the project knows the truth
        }
      });
      if (network) setConnectionLost(true);
      else {
        setConnectionLost(false);
        if (reload || readProject) await reloadProject();
      }
    }
  } finally {
    inFlight = false;
  }
  delay = Math.min(Math.round(delay * FACTOR), MAX_DELAY);
  schedule(delay);
}

/** Call after any user action or state change that may start polling: resets the backoff. */
export function kick() {
  delay = MIN_DELAY;
  if (inFlight) return;
  // Never push an earlier poll later (typing must not starve polling).
  if (timer && nextAt <= Date.now() + (fastNeeded() ? MIN_DELAY : SLOW_DELAY)) return;
  schedule(MIN_DELAY);
}

/** Called when the network is found down by any request. */
export function reportNetworkDown() {
  setConnectionLost(true);
  if (!timer && !inFlight) schedule(delay);
}

export function startPolling() {
  stopped = false;
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) {
      clearTimeout(timer);
      timer = null;
    } else {
      delay = MIN_DELAY;
      if (!inFlight && needed()) tick();
    }
  });
  window.addEventListener('online', () => kick());
  schedule(MIN_DELAY);
}

export function isPolling() {
  return timer !== null || inFlight;
}
