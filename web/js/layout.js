// The composite's layout (issue 15): how the B-roll is cut in (cutaway, split, picture-in-picture,
// full), the cutaway share and the burned-in captions, stored with PUT …/layout; each scene may
// override the project's layout from the scene settings panel. The render dialog itself is
// renderdialog.js, loaded only when it is opened; this module is what the studio needs always.

import { api } from './api.js';
import { store, setProject, selectedScene } from './state.js';
import { $, setText, setHidden, setDisabled } from './dom.js';

export const LAYOUTS = [
  { value: 'cutaway', label: 'Cutaway', hint: 'The presenter first, then B-roll for a share of each scene.' },
  { value: 'split', label: 'Split', hint: 'B-roll on top, the presenter below, all the way through.' },
  { value: 'pip', label: 'Picture-in-picture', hint: 'B-roll full frame, the presenter in a corner.' },
  { value: 'full', label: 'Full', hint: 'B-roll over the whole scene; the presenter is not seen.' },
];
const LABEL = Object.fromEntries(LAYOUTS.map((l) => [l.value, l.label]));
LABEL.presenter = 'Presenter only';

export const DEFAULT_CAPTIONS = { enabled: true, position: 'lower', size: 'medium', highlight: true };
export const DEFAULT_LAYOUT = { layout: 'cutaway', share: 0.6, minSceneSec: 2.0, overrides: {}, captions: DEFAULT_CAPTIONS };

/** The project's layout settings with every default filled in. */
export function layoutSettings() {
  const got = (store.project && store.project.layout) || {};
  return {
    ...DEFAULT_LAYOUT,
    ...got,
    overrides: { ...(got.overrides || {}) },
    captions: { ...DEFAULT_CAPTIONS, ...(got.captions || {}) },
  };
}

export function layoutLabel(value, share) {
  if (value === 'cutaway' && share != null) return `Cutaway ${Math.round(share * 100)} %`;
  return LABEL[value] || value;
}

/** −14.1 with a real minus sign. */
function signed(n, digits = 1) {
  const s = Number(n).toFixed(digits);
  return s.startsWith('-') ? `\u2212${s.slice(1)}` : s;
}

const num = (n) => typeof n === 'number' && Number.isFinite(n);

/** The self-check figures: "27.7 s · 1080×1920 · −14.1 LUFS · peak −1.6 dBTP" ('' when none). */
export function checksLine(checks) {
  if (!checks) return '';
  const parts = [];
  if (num(checks.durationSec)) parts.push(`${checks.durationSec.toFixed(1)} s`);
  if (num(checks.width) && num(checks.height)) parts.push(`${checks.width}×${checks.height}`);
  if (num(checks.loudnessLufs)) parts.push(`${signed(checks.loudnessLufs)} LUFS`);
  if (num(checks.truePeakDbtp)) parts.push(`peak ${signed(checks.truePeakDbtp)} dBTP`);
  return parts.join(' · ');
}

/** Saves part of the layout; every save waits for the one before (overrides are a whole dict).
 * body: the fields, or a function making them from the settings saved so far. */
let queue = Promise.resolve();
export function saveLayout(body) {
  const run = queue.then(async () => {
    const fields = typeof body === 'function' ? body(layoutSettings()) : body;
    const project = await api.setLayout(store.projectId, fields);
    if (project && project.scenes) setProject(project);
    return project;
  });
  queue = run.catch(() => {});
  return run;
}

/* ---------------- the scene settings panel's override ---------------- */

const pending = new Map(); // sceneId -> the override being saved ('' = as the project)
const saved = new Map();   // sceneId -> 'saving' | 'saved'
const errors = new Map();  // sceneId -> sentence

async function onOverrideChange(sid, value) {
  pending.set(sid, value);
  saved.set(sid, 'saving');
  errors.delete(sid);
  renderSceneLayout();
  try {
    // Built from the latest saved overrides when this save's turn comes.
    await saveLayout(({ overrides }) => {
      if (value) overrides[sid] = value;
      else delete overrides[sid];
      return { overrides };
    });
    saved.set(sid, 'saved');
  } catch (err) {
    saved.delete(sid);
    errors.set(sid, `Could not save the scene's layout: ${err.message}`);
  } finally {
    if (pending.get(sid) === value) pending.delete(sid);
    renderSceneLayout();
  }
}

export function initSceneLayout() {
  const select = $('scene-layout');
  select.addEventListener('change', () => {
    const s = selectedScene();
    if (s) onOverrideChange(s.sceneId, select.value);
  });
}

export function renderSceneLayout() {
  const select = $('scene-layout');
  if (!select) return;
  const s = selectedScene();
  const settings = layoutSettings();
  const projectLabel = layoutLabel(settings.layout, settings.layout === 'cutaway' ? settings.share : null);
  const sig = projectLabel;
  if (select.dataset.sig !== sig) {
    select.dataset.sig = sig;
    const opts = [['', `As the project (${projectLabel})`],
      ...LAYOUTS.map((l) => [l.value, l.label]), ['presenter', 'Presenter only (no B-roll)']];
    select.replaceChildren(...opts.map(([value, text]) => {
      const o = document.createElement('option');
      o.value = value;
      o.textContent = text;
      return o;
    }));
  }
  const sid = s ? s.sceneId : null;
  const want = sid ? (pending.has(sid) ? pending.get(sid) : settings.overrides[sid] || '') : '';
  if (select.value !== want) select.value = want;
  setDisabled(select, !s || !store.project);
  const state = sid ? saved.get(sid) : '';
  const ind = $('scene-layout-save');
  setText(ind, state === 'saving' ? 'Saving…' : state === 'saved' ? '✓ Saved' : '');
  ind.className = `save-indicator${state ? ` is-${state}` : ''}`;
  const err = $('scene-layout-error');
  const msg = (sid && errors.get(sid)) || '';
  setText(err, msg);
  setHidden(err, !msg);
}
