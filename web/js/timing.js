// Scene timing nudge (issue 14): without stage 4's sceneTimings the scenes split the voice-over
// by their words; the person can move a boundary here. "Ends at (s)" on every scene but the
// last sends all n-1 boundaries with this one changed (PUT …/timings), and the ribbon and cards
// redraw from the project the server answers with.

import { api } from './api.js';
import { store, scenes, selectedScene, setProject, setBusy, isBusy, generatingScenes } from './state.js';
import { $, setText, setHidden, setDisabled } from './dom.js';

let error = '';
let errorScene = null;

function boundaries() {
  return scenes().slice(0, -1).map((s) => (s.timeRange ? s.timeRange.end : 0));
}

function total() {
  const p = store.project;
  return (p && p.audio && p.audio.durationSec) || 0;
}

/** Checks the new boundary against its neighbours before sending: a sentence, or ''. */
function check(list, i) {
  const v = list[i];
  if (!Number.isFinite(v)) return 'Give the end as a number of seconds.';
  const lo = i > 0 ? list[i - 1] : 0;
  const hi = i < list.length - 1 ? list[i + 1] : total();
  if (v <= lo || v >= hi) return `Give a time after ${lo.toFixed(1)} s and before ${hi.toFixed(1)} s.`;
  return '';
}

function setError(msg, sceneId) {
  error = msg;
  errorScene = msg ? sceneId : null;
  renderTiming();
}

async function apply() {
  const s = selectedScene();
  const input = $('scene-end');
  const all = scenes();
  const i = all.indexOf(s);
  if (!s || i < 0 || i >= all.length - 1 || isBusy('timings')) return;
  const list = boundaries();
  const value = Math.round(Number(input.value) * 1000) / 1000;
  if (input.value.trim() === '' || Math.abs(value - list[i]) < 0.0005) { errorScene = null; error = ''; renderTiming(true); return; }
  list[i] = value;
  const problem = check(list, i);
  if (problem) { setError(problem, s.sceneId); return; }
  setBusy('timings', true);
  setText($('timing-save'), 'Saving…');
  try {
    const project = await api.setTimings(store.projectId, list);
    setError('', null);
    if (project && project.scenes) setProject(project);
    setText($('timing-save'), '✓ Saved');
    setBusy('timings', false);
    renderTiming(true);
    return;
  } catch (err) {
    setText($('timing-save'), '');
    setError(`Could not move the boundary: ${err.message}`, s.sceneId);
  }
  setBusy('timings', false);
  renderTiming();
}

export function initTiming() {
  const input = $('scene-end');
  input.addEventListener('change', apply);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); apply(); }
    if (e.key === 'Escape') { renderTiming(true); setError('', null); }
  });
}

/** force: put the stored value back even while the field has focus (after apply / Escape). */
export function renderTiming(force = false) {
  const all = scenes();
  const s = selectedScene();
  const i = all.indexOf(s);
  const show = !!s && i >= 0 && i < all.length - 1;
  setHidden($('timing-field'), !show);
  if (!show) return;
  const input = $('scene-end');
  const scene = input.dataset.sceneId;
  const value = s.timeRange ? String(Math.round(s.timeRange.end * 10) / 10) : '';
  // Never overwrite what the person is typing (or a refused value they may fix), except when
  // the scene changed or after a boundary was applied.
  const typing = document.activeElement === input || errorScene === s.sceneId;
  if (force || scene !== s.sceneId || !typing) {
    if (input.value !== value) input.value = value;
    input.dataset.sceneId = s.sceneId;
  }
  if (scene !== s.sceneId) setText($('timing-save'), '');
  input.max = String(total());
  setDisabled(input, isBusy('timings') || generatingScenes().length > 0);
  const msg = errorScene === s.sceneId ? error : '';
  const err = $('timing-error');
  setText(err, msg);
  setHidden(err, !msg);
  input.setAttribute('aria-invalid', msg ? 'true' : 'false');
}
