// The bottom bar: clip summary, the scheduled Generate All, the composite render's state, and
// the project actions (Generate All, Render Video, Save Screenshot, Complete/Reopen, Download).

import {
  store, scenes, pendingScenes, isBusy, isCompleted, renderState, scheduleState,
} from './state.js';
import { $, setText, setHidden, setDisabled, setTitle, setProgress } from './dom.js';
import { scheduleLabel, plural } from './format.js';
import { checksLine } from './layout.js';

const NO_AVATAR = 'This project has no avatar video to cut the clips into, so there is nothing to render.';

function renderSummary() {
  const all = scenes();
  const ready = all.filter((s) => s.status === 'completed').length;
  const running = all.filter((s) => s.status === 'generating').length;
  const failed = all.filter((s) => s.status === 'failed').length;
  const parts = [];
  if (all.length) parts.push(`${ready} of ${all.length} clips ready`);
  if (running) parts.push(`${running} generating`);
  if (failed) parts.push(`${failed} failed`);
  setText($('bottom-summary'), parts.join(' · '));
}

function renderSchedule() {
  const sch = scheduleState();
  const chip = $('schedule-summary');
  setHidden(chip, !sch);
  if (!sch) return;
  const label = scheduleLabel(sch);
  setText($('schedule-text'), label);
  const note = $('schedule-note');
  setText(note, sch.note || '');
  setHidden(note, !sch.note);
  setTitle(chip, sch.note ? `${label} — ${sch.note}` : label);
  const cancel = $('cancel-schedule');
  setText(cancel, isBusy('schedule') ? 'Cancelling…' : 'Cancel');
  setDisabled(cancel, isBusy('schedule'));
}

/** Why the render failed: its self-check's problems as sentences, else the error. */
function failure(r) {
  const problems = (r.checks && Array.isArray(r.checks.problems) ? r.checks.problems : []).filter(Boolean);
  if (problems.length) return `The video failed its own check: ${problems.join(' ')}`;
  return r.error || 'The render failed.';
}

function renderComposite() {
  const r = renderState();
  const box = $('render-status');
  const status = r.status || 'idle';
  setHidden(box, status === 'idle');
  let state = status;
  let text = '';
  if (status === 'rendering') text = `⏳ Rendering… ${Math.round(Number(r.progress) || 0)} %`;
  else if (status === 'completed' && r.outOfDate) { state = 'stale'; text = '⚠ Out of date — render again'; }
  else if (status === 'completed') text = '✅ Composite ready';
  else if (status === 'failed') text = `❌ ${failure(r)}`;
  const cls = `render-status is-${state}`;
  if (box.className !== cls) box.className = cls;
  setText($('render-text'), text);
  // The self-check's figures (duration, size, loudness, true peak), once a render finished.
  const figures = status === 'completed' || status === 'failed' ? checksLine(r.checks) : '';
  const checksEl = $('render-checks');
  setText(checksEl, figures ? `${status === 'failed' ? 'Measured: ' : ''}${figures}` : '');
  setHidden(checksEl, !figures);
  // Screen readers hear each change of state, not every percent.
  setText($('render-announce'), status === 'rendering' ? 'Rendering the composite video…' : status === 'idle' ? '' : `${text} ${figures}`.trim());
  setTitle(box, status === 'failed' ? failure(r) : state === 'stale' ? 'Clips changed since this render: render again to include them.' : '');
  const bar = $('render-progress');
  setHidden(bar, status !== 'rendering');
  setProgress(bar, r.progress, 'Render progress');
  setHidden($('render-play'), status !== 'completed' || !r.videoUrl);
  const retry = $('render-retry');
  setHidden(retry, status !== 'failed');
  setDisabled(retry, isBusy('render'));
}

function renderButtons() {
  const p = store.project;
  const pending = pendingScenes().length;
  const allBtn = $('generate-all');
  setText(allBtn, isBusy('all') ? '⏳ Starting…' : '✨ Generate All B-Roll');
  setDisabled(allBtn, !p || isBusy('all') || pending === 0);
  setTitle(allBtn, pending === 0 ? 'Every scene already has a clip or is generating.' : `Starts B-roll for ${plural(pending, 'scene')}`);

  const r = renderState();
  const hasAvatar = !!(p && p.avatarVideo && p.avatarVideo.url);
  const rendering = r.status === 'rendering';
  const rbtn = $('render-video');
  setText(rbtn, isBusy('render') ? '⏳ Starting…' : rendering ? '⏳ Rendering…' : r.status === 'completed' ? '🎞 Render Again' : '🎞 Render Video');
  setDisabled(rbtn, !p || !hasAvatar || rendering || isBusy('render'));
  setTitle(rbtn, !p ? '' : !hasAvatar ? NO_AVATAR : rendering ? 'A render is under way.'
    : 'Choose the layout and captions, then render one video: the avatar with the ready clips cut in.');

  setDisabled($('save-screenshot'), !p || isBusy('shot'));
  const done = isCompleted();
  const cbtn = $('complete-project');
  setHidden(cbtn, done);
  setText(cbtn, isBusy('complete') ? '⏳ Completing…' : '✅ Complete Project');
  setDisabled(cbtn, !p || isBusy('complete'));
  const rebtn = $('reopen-project');
  setHidden(rebtn, !done);
  setText(rebtn, isBusy('reopen') ? '⏳ Reopening…' : '↩ Reopen Project');
  setDisabled(rebtn, !p || isBusy('reopen'));
  const dl = $('download-all');
  setText(dl, isBusy('download') ? '⏳ Preparing the ZIP…' : '📥 Download All');
  setDisabled(dl, !p || isBusy('download'));
}

export function renderBottom() {
  renderSummary();
  renderSchedule();
  renderComposite();
  renderButtons();
}

/** Keeps --bar-h equal to the bar's real height (it grows when its contents wrap), so the
 * page's bottom padding, the toasts and the sticky right panel never hide under it. */
export function trackBarHeight() {
  const bar = document.querySelector('.bottom-bar');
  if (!bar || typeof ResizeObserver === 'undefined') return;
  const root = document.documentElement;
  new ResizeObserver(() => {
    const h = `${Math.ceil(bar.getBoundingClientRect().height)}px`;
    if (root.style.getPropertyValue('--bar-h') !== h) root.style.setProperty('--bar-h', h);
  }).observe(bar);
}
