// The studio (?project=ID): loads the project, wires events, starts polling. Loaded by main.js
// only when a project is named, so the home view never downloads it.

import { store, subscribe, sceneById } from './state.js';
import { render } from './render.js';
import { initModals } from './modal.js';
import { startPolling, reloadProject, kick } from './poller.js';
import * as act from './actions.js';
import { generateAll, cancelSchedule } from './batch.js';
import { startRender, playComposite, openRender } from './composite.js';
import { initSceneLayout } from './layout.js';
import { trackBarHeight } from './bottom.js';
import { initHistory } from './history.js';
import { initStyle } from './style.js';
import { initPlan } from './plan.js';
import { initMedia } from './media.js';
import { initTiming } from './timing.js';

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

function wireTimeline() {
  const list = $('timeline');
  list.addEventListener('click', (e) => {
    const card = e.target.closest('.scene-card');
    if (!card) return;
    const sid = card.dataset.sceneId;
    const btn = e.target.closest('.scene-action');
    act.selectScene(sid);
    if (!btn || btn.disabled) return;
    const scene = sceneById(sid);
    if (!scene) return;
    switch (btn.dataset.action) {
      case 'preview': act.preview(sid, btn); break;
      case 'generate': act.generate(sid, false); break;
      case 'retry': act.generate(sid, false); break;
      case 'regenerate': act.generate(sid, true); break;
      case 'cancel': act.cancel(sid); break;
      default: break;
    }
  });
  list.addEventListener('keydown', (e) => {
    const card = e.target.closest('.scene-card');
    if (!card || e.target !== card) return;
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      act.selectScene(card.dataset.sceneId);
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = e.key === 'ArrowDown' ? card.nextElementSibling : card.previousElementSibling;
      if (next) next.focus();
    }
  });
  // Clicking a paragraph of the script selects its scene too.
  $('script').addEventListener('click', (e) => {
    const para = e.target.closest('.script-para');
    if (para && para.dataset.sceneId) act.selectScene(para.dataset.sceneId);
  });
}

function wireSettings() {
  $('scene-select').addEventListener('change', (e) => act.selectScene(e.target.value));
  const ta = $('shot-instructions');
  ta.addEventListener('input', () => {
    if (store.selectedId) act.onShotInput(store.selectedId, ta.value);
  });
  ta.addEventListener('blur', () => {
    if (store.selectedId && store.drafts.has(store.selectedId)) act.saveShot(store.selectedId);
  });
  $('generate-prompt').addEventListener('click', () => store.selectedId && act.generatePrompt(store.selectedId));
  $('generate-broll').addEventListener('click', (e) => {
    const sid = store.selectedId;
    if (!sid) return;
    act.generate(sid, e.currentTarget.dataset.regenerate === 'true');
  });
  $('cancel-generation').addEventListener('click', () => store.selectedId && act.cancel(store.selectedId));
  $('preview-button').addEventListener('click', (e) => store.selectedId && act.preview(store.selectedId, e.currentTarget));
  $('preview-open').addEventListener('click', (e) => store.selectedId && act.preview(store.selectedId, e.currentTarget));
  $('out-of-date-regenerate').addEventListener('click', () => store.selectedId && act.generate(store.selectedId, true));
}

function wireBottom() {
  $('generate-all').addEventListener('click', () => generateAll());
  $('render-video').addEventListener('click', (e) => openRender(e.currentTarget));
  $('render-retry').addEventListener('click', () => startRender());
  $('render-play').addEventListener('click', (e) => playComposite(e.currentTarget));
  $('cancel-schedule').addEventListener('click', () => cancelSchedule());
  $('save-screenshot').addEventListener('click', () => act.screenshot());
  $('complete-project').addEventListener('click', () => act.completeProject());
  $('reopen-project').addEventListener('click', () => act.reopenProject());
  $('download-all').addEventListener('click', () => act.downloadAll());
}

function wirePreviewAutoplay() {
  // The small preview loops silently while visible; the modal plays it with sound.
  const v = $('preview-video');
  v.addEventListener('loadeddata', () => {
    const p = v.play();
    if (p && p.catch) p.catch(() => {});
  });
}

/** Opens project `projectId` (config and sign-in already done by main.js). */
export async function startStudio(projectId) {
  subscribe(render);
  let wasLost = false;
  subscribe(() => {
    if (wasLost && !store.connectionLost) act.retryUnsaved();
    wasLost = store.connectionLost;
  });
  initModals();
  wireTimeline();
  wireSettings();
  wireBottom();
  initHistory();
  initStyle();
  initPlan();
  initMedia();
  initTiming();
  initSceneLayout();
  trackBarHeight();
  wirePreviewAutoplay();
  // Don't lose typed shot instructions when the page goes away mid-debounce.
  window.addEventListener('pagehide', () => { act.flushAllDrafts({ keepalive: true }); });
  document.addEventListener('keydown', (e) => {
    // Any keyboard/mouse action counts as user activity for the poll backoff.
    if (e.key !== 'Tab') kick();
  }, { capture: true });
  document.addEventListener('pointerdown', () => kick(), { capture: true });

  store.projectId = projectId;
  render();
  await reloadProject();
  startPolling();
}
