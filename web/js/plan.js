// Scene-length planning (issue 8): how many clips cover the selected scene, and each sub-shot's
// part of the scene, prompt, state and clip. A Veo clip lasts about 8 s: a longer scene is
// covered by several sub-shots made one after another and cut in in order. The person picks
// the number (or Auto) and may write any sub-shot's prompt; the server keeps the plan.

import { api } from './api.js';
import { store, selectedScene, mergeScene, isBusy } from './state.js';
import { $, setText, setHidden, setDisabled } from './dom.js';
import { promptSourceLabel, sceneDuration, seconds } from './format.js';
import { guarded } from './actions.js';
import { openVideoModal } from './modal.js';

const CLIP_SECONDS = 8;
const SUB_STATUS = { ready: '✓ Ready', generating: '⏳ Generating…', waiting: 'Waiting' };

/** One line on how the scene is covered, for the plan's hint. */
function planHint(s) {
  const dur = sceneDuration(s);
  const next = s.plannedShots || 1;
  let text;
  if (next === 1) {
    text = dur > CLIP_SECONDS
      ? `One clip of about ${CLIP_SECONDS} s, slowed to fill ${seconds(dur)}.`
      : `One clip of about ${CLIP_SECONDS} s, trimmed to ${seconds(dur)}.`;
  } else {
    text = `${next} sub-shots of ${seconds(dur / next)} each, made one after another and cut in in order.`;
  }
  if (s.status === 'completed') {
    // What the scene is cut from now: its sub-shots when every one has a clip, else one clip.
    const shots = s.plan || [];
    const cut = shots.length > 1 && shots.every((x) => x.status === 'ready') ? shots.length : 1;
    if (cut !== next) {
      text += ` Regenerate to use ${next === 1 ? 'one clip' : `${next} clips`}; `
        + `${cut === 1 ? 'the current clip stays' : `the current ${cut} stay`} until then.`;
    }
  }
  return text;
}

function countOptions(s) {
  // The server's rules (plan.py): what the scene's length gives, and the most it may take.
  const auto = s.autoShots || 1;
  const opts = [{ value: 'auto', label: `Auto (${auto === 1 ? '1 clip' : `${auto} clips`})` }];
  for (let n = 1; n <= (s.maxShots || 1); n += 1) {
    opts.push({ value: String(n), label: n === 1 ? '1 clip, fitted to the scene' : `${n} clips` });
  }
  return opts;
}

/** Prompts are the plan's to edit while it is the one the next generation makes. */
function editable(s) {
  const shots = s.plan || [];
  return s.status !== 'generating' && shots.length === (s.plannedShots || 1) && shots.length > 1;
}

function buildShot(shot) {
  const li = document.createElement('li');
  li.className = 'sub-shot';
  li.dataset.n = String(shot.n);
  li.dataset.testid = `sub-shot-${shot.n}`;
  li.innerHTML = `
    <div class="sub-head">
      <span class="sub-n" aria-hidden="true"></span>
      <span class="sub-range"></span>
      <span class="sub-status" data-testid="sub-shot-status-${shot.n}"></span>
      <button type="button" class="link-btn sub-play" data-testid="sub-shot-play-${shot.n}" hidden>▶ Play</button>
    </div>
    <label class="sr-only" for="sub-prompt-${shot.n}">Prompt of sub-shot ${shot.n}</label>
    <textarea class="sub-prompt" id="sub-prompt-${shot.n}" data-testid="sub-shot-prompt-${shot.n}" rows="3"
      maxlength="1800" placeholder="Written when you generate — or write your own."></textarea>
    <span class="sub-source"></span>`;
  return li;
}

function updateShot(li, shot, s, canEdit) {
  li.className = `sub-shot status-${shot.status}`;
  setText(li.querySelector('.sub-n'), String(shot.n));
  setText(li.querySelector('.sub-range'), `${shot.start.toFixed(1)}–${shot.end.toFixed(1)} s`);
  setText(li.querySelector('.sub-status'), SUB_STATUS[shot.status] || '');
  setHidden(li.querySelector('.sub-play'), !shot.videoUrl);
  const ta = li.querySelector('.sub-prompt');
  const draft = store.planDrafts.get(`${s.sceneId}:${shot.n}`);
  const want = draft !== undefined ? draft : shot.prompt || '';
  if (document.activeElement !== ta && ta.value !== want) ta.value = want;
  ta.readOnly = !canEdit;
  setText(li.querySelector('.sub-source'), shot.prompt ? promptSourceLabel(shot.promptSource) : '');
}

export function renderPlan() {
  const s = selectedScene();
  const box = $('plan');
  setHidden(box, !s);
  if (!s) return;
  const select = $('plan-count');
  const opts = countOptions(s);
  const sig = opts.map((o) => `${o.value}:${o.label}`).join('|');
  if (select.dataset.sig !== sig) {
    select.dataset.sig = sig;
    select.replaceChildren(...opts.map((o) => Object.assign(document.createElement('option'), { value: o.value, textContent: o.label })));
  }
  const value = s.shotCount ? String(s.shotCount) : 'auto';
  if (select.value !== value && document.activeElement !== select) select.value = value;
  const busy = isBusy(`plan:${s.sceneId}`);
  setDisabled(select, s.status === 'generating' || busy);
  setText($('plan-hint'), planHint(s));

  const shots = (s.plan || []).length > 1 ? s.plan : [];
  const list = $('plan-list');
  setHidden(list, !shots.length);
  const canEdit = editable(s);
  const existing = [...list.children];
  if (list.dataset.scene !== s.sceneId || existing.length !== shots.length) {
    list.dataset.scene = s.sceneId;
    list.replaceChildren(...shots.map(buildShot));
  }
  shots.forEach((shot, i) => updateShot(list.children[i], shot, s, canEdit));
  // The single prompt is for a one-clip scene; sub-shots carry their own.
  setHidden($('ai-prompt-field'), (s.plannedShots || 1) > 1);
  const state = $('plan-save');
  setText(state, store.planState.get(s.sceneId) || '');
}

async function savePlan(sceneId, body, label) {
  store.planState.set(sceneId, 'Saving…');
  const scene = await guarded(`plan:${sceneId}`, async () => {
    const answer = await api.savePlan(store.projectId, sceneId, body);
    mergeScene(answer);
    return answer;
  }, { sceneId, label });
  store.planState.set(sceneId, scene ? '✓ Saved' : '');
  if (scene) for (const key of [...store.planDrafts.keys()]) if (key.startsWith(`${sceneId}:`)) store.planDrafts.delete(key);
  mergeScene({ sceneId });
  return scene;
}

function savePrompt(sceneId, n, text) {
  const s = selectedScene();
  if (!s || s.sceneId !== sceneId) return;
  const shot = (s.plan || []).find((x) => x.n === n);
  if (!shot || (shot.prompt || '') === text.trim() || !text.trim()) {
    store.planDrafts.delete(`${sceneId}:${n}`);
    return;
  }
  const prompts = s.plan.map((x) => (x.n === n ? text.trim() : null));
  savePlan(sceneId, { prompts }, 'Could not save the sub-shot prompt');
}

export function initPlan() {
  $('plan-count').addEventListener('change', (e) => {
    const sid = store.selectedId;
    if (!sid) return;
    const v = e.target.value;
    savePlan(sid, v === 'auto' ? { auto: true } : { count: Number(v) }, 'Could not change the plan');
  });
  const list = $('plan-list');
  list.addEventListener('input', (e) => {
    const ta = e.target.closest('.sub-prompt');
    if (!ta || ta.readOnly || !store.selectedId) return;
    store.planDrafts.set(`${store.selectedId}:${ta.closest('.sub-shot').dataset.n}`, ta.value);
    store.planState.set(store.selectedId, 'Unsaved changes');
    setText($('plan-save'), 'Unsaved changes');
  });
  list.addEventListener('focusout', (e) => {
    const ta = e.target.closest('.sub-prompt');
    if (!ta || ta.readOnly || !store.selectedId) return;
    savePrompt(store.selectedId, Number(ta.closest('.sub-shot').dataset.n), ta.value);
  });
  list.addEventListener('click', (e) => {
    const btn = e.target.closest('.sub-play');
    if (!btn) return;
    const s = selectedScene();
    const n = Number(btn.closest('.sub-shot').dataset.n);
    const shot = s && (s.plan || []).find((x) => x.n === n);
    if (shot && shot.videoUrl) openVideoModal(shot.videoUrl, `${s.sceneTitle} · sub-shot ${n}`, btn, { ai: true });
  });
}

/** The card's coverage bar: one part per sub-shot, filled as each is ready. */
export function renderCoverage(bar, scene, pct) {
  const shots = (scene.plan || []).length > 1 ? scene.plan : null;
  const parts = shots ? shots.length : 1;
  if (bar.children.length !== parts) {
    bar.replaceChildren(...Array.from({ length: parts }, () => {
      const part = document.createElement('div');
      part.className = 'coverage-part';
      part.append(Object.assign(document.createElement('div'), { className: 'coverage-fill' }));
      return part;
    }));
  }
  [...bar.children].forEach((part, i) => {
    let fill;
    if (!shots) {
      fill = scene.status === 'completed' || scene.status === 'failed' ? 100 : scene.status === 'generating' ? pct : 0;
    } else {
      // The scene's progress spans all its sub-shots; this part's share is what is beyond the finished ones.
      const st = shots[i].status;
      fill = st === 'ready' ? 100 : st === 'generating' ? Math.max(5, Math.min(95, pct * parts - i * 100)) : 0;
    }
    part.className = `coverage-part part-${shots ? shots[i].status : scene.status}`;
    part.firstElementChild.style.width = `${fill}%`;
  });
  bar.title = shots ? `${shots.filter((x) => x.status === 'ready').length} of ${parts} clips ready` : '';
}

/** "clip 2 of 3" while a scene of several sub-shots is generating, else ''. */
export function shotProgress(scene) {
  const shots = scene.plan || [];
  const i = shots.findIndex((x) => x.status === 'generating');
  return shots.length > 1 && i >= 0 ? `clip ${i + 1} of ${shots.length}` : '';
}

