// The selected scene's history (issue 8): every prompt, Kie task, outcome and clip, newest
// first. Read when a scene is selected and again whenever its generation state changes or one
// of its cancelled clips that Kie.ai still made lands (scene.lateClips drops); an earlier clip
// can be made current again ("Use this clip": no new Kie task, no charge).

import { api } from './api.js';
import { store, emit, selectedScene, mergeScene, subscribe, isBusy } from './state.js';
import { $, setText, setHidden, setDisabled } from './dom.js';
import { HISTORY_KIND, promptSourceLabel, whenLabel } from './format.js';
import { guarded } from './actions.js';
import { reloadProject } from './poller.js';
import { openVideoModal } from './modal.js';
import { toast } from './toast.js';

const LONG_PROMPT = 150; // characters: longer prompts are clamped with "More"

const hist = store.history;
let controller = null;
let watchedSig = '';
let retries = 0;
let retryTimer = null;
let watchedLate = { sceneId: null, count: 0 };
// After a cancelled clip landed: the newest entry shown before it (null: none), until a newer one is read.
let landingAfter;

/** What, in a scene, means its history may have grown. Progress alone does not. */
function sceneSig(s) {
  if (!s) return '';
  const rw = s.rewrite ? s.rewrite.at : '';
  return [s.sceneId, s.status, s.taskId, s.generation, s.aiPrompt, rw, s.error, s.lateClips || 0].join('\u0001');
}

export async function loadHistory(sceneId = store.selectedId) {
  if (!sceneId || !store.project) return;
  if (controller) controller.abort();
  const mine = new AbortController();
  controller = mine;
  if (hist.sceneId !== sceneId) {
    Object.assign(hist, { sceneId, entries: null, error: '' });
  }
  hist.loading = true;
  emit();
  try {
    const answer = await api.history(store.projectId, sceneId, { signal: mine.signal });
    if (controller !== mine) return;
    hist.entries = (answer && answer.entries) || [];
    hist.error = '';
    // The clip's entry is written just after the scene turns Ready, and a cancelled clip's just
    // after it leaves lateClips: look again shortly.
    const s = selectedScene();
    const newest = hist.entries.length ? hist.entries[0].id : null;
    if (landingAfter !== undefined && newest !== landingAfter) landingAfter = undefined;
    const missing = s && s.sceneId === sceneId
      && ((s.status === 'completed' && !hist.entries.some((e) => e.current)) || landingAfter !== undefined);
    clearTimeout(retryTimer);
    if (missing && retries < 4) {
      retries += 1;
      retryTimer = setTimeout(() => loadHistory(sceneId), 1200);
    }
  } catch (err) {
    if (controller !== mine || (err && err.name === 'AbortError')) return;
    hist.error = `Could not read the history: ${err.message}`;
  } finally {
    if (controller === mine) {
      controller = null;
      hist.loading = false;
      emit();
    }
  }
}

/** Reads the history again when the selected scene changed or moved on. */
function watch() {
  const s = selectedScene();
  const sig = sceneSig(s);
  if (sig === watchedSig) return;
  watchedSig = sig;
  retries = 0;
  const late = s ? s.lateClips || 0 : 0;
  const landed = !!s && s.sceneId === watchedLate.sceneId && late < watchedLate.count;
  const shown = hist.sceneId === (s && s.sceneId) && hist.entries;
  landingAfter = landed && shown ? (shown.length ? shown[0].id : null) : undefined;
  watchedLate = { sceneId: s ? s.sceneId : null, count: late };
  if (sig) loadHistory(store.selectedId);
}

export function initHistory() {
  subscribe(watch);
  $('history-list').addEventListener('click', (e) => {
    const li = e.target.closest('.h-entry');
    if (!li) return;
    const entry = (hist.entries || []).find((x) => String(x.id) === li.dataset.entryId);
    if (!entry) return;
    const play = e.target.closest('.h-thumb');
    const use = e.target.closest('.h-use');
    const more = e.target.closest('.h-more');
    if (play && entry.videoUrl) {
      const s = selectedScene();
      openVideoModal(entry.videoUrl, `${s ? s.sceneTitle : 'Clip'} · clip of ${whenLabel(entry.at)}`, play, { ai: true });
    } else if (use && !use.disabled) {
      useClip(hist.sceneId, entry);
    } else if (more) {
      const open = li.classList.toggle('is-expanded');
      more.textContent = open ? 'Less' : 'More';
      more.setAttribute('aria-expanded', String(open));
    }
  });
}

export function useClip(sceneId, entry) {
  return guarded(`select:${sceneId}`, async () => {
    const scene = await api.selectClip(store.projectId, sceneId, entry.id);
    if (scene && scene.sceneId) mergeScene(scene);
    await Promise.all([reloadProject(), loadHistory(sceneId)]);
    toast(`Using the clip of ${whenLabel(entry.at)}.`, 'success', 2500);
    return scene;
  }, { sceneId, label: 'Could not use that clip' });
}

/* ---------------- rendering ---------------- */

function el(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text) n.textContent = text;
  return n;
}

function buildEntry(e) {
  const li = el('li', `h-entry kind-${e.kind}${e.current ? ' is-current' : ''}`);
  li.dataset.entryId = String(e.id);
  li.dataset.kind = e.kind;
  li.dataset.testid = 'history-entry';
  const head = el('div', 'h-head');
  head.append(el('span', 'h-kind', HISTORY_KIND[e.kind] || e.kind));
  if (e.shot) head.append(el('span', 'h-shot', `sub-shot ${e.shot} of ${e.shots}`));
  const time = el('time', 'h-time', whenLabel(e.at));
  time.dateTime = e.at;
  time.title = new Date(e.at).toLocaleString();
  head.append(time);
  li.append(head);

  const body = el('div', 'h-body');
  if (e.videoUrl) {
    const thumb = el('button', 'h-thumb');
    thumb.type = 'button';
    thumb.dataset.testid = 'history-play';
    thumb.setAttribute('aria-label', `Play the AI-generated clip of ${whenLabel(e.at)} fullscreen`);
    const v = el('video');
    v.muted = true;
    v.playsInline = true;
    v.preload = 'metadata';
    v.src = `${e.videoUrl}#t=0.5`;
    thumb.append(v, el('span', 'ai-badge ai-badge-sm', 'AI'));
    body.append(thumb);
  }
  const text = el('div', 'h-text');
  const who = promptSourceLabel(e.promptSource);
  if (who) text.append(el('p', 'h-who', who));
  if (e.kind === 'rewrite') {
    if (e.reason) text.append(el('p', 'h-reason', `Kie.ai refused: ${e.reason}`));
    if (e.fromPrompt) {
      const from = el('p', 'h-prompt h-from');
      from.append(el('span', 'tag tag-refused', 'Refused'), ' ', el('del', '', e.fromPrompt));
      text.append(from);
    }
  }
  if (e.prompt) {
    const p = el('p', 'h-prompt', e.prompt);
    p.dataset.testid = 'history-prompt';
    text.append(p);
  }
  if ((e.prompt || '').length + (e.fromPrompt || '').length > LONG_PROMPT) {
    const more = el('button', 'link-btn h-more', 'More');
    more.type = 'button';
    more.setAttribute('aria-expanded', 'false');
    text.append(more);
  }
  if (e.note) text.append(el('p', 'h-note', e.note));
  if (e.error) text.append(el('p', 'h-error', e.error));
  if (e.kind === 'clip' && e.videoUrl) {
    const actions = el('div', 'h-actions');
    if (e.current) {
      const cur = el('span', 'badge badge-current', '✓ Current');
      cur.dataset.testid = 'history-current';
      actions.append(cur);
    } else {
      const use = el('button', 'btn btn-xs btn-secondary h-use', 'Use this clip');
      use.type = 'button';
      use.dataset.testid = 'history-use';
      actions.append(use);
    }
    text.append(actions);
  }
  body.append(text);
  li.append(body);
  return li;
}

export function renderHistory() {
  const s = selectedScene();
  const box = $('history');
  setHidden(box, !s);
  if (!s) return;
  const mine = hist.sceneId === s.sceneId;
  const entries = mine && hist.entries ? hist.entries : [];
  const clips = entries.filter((e) => e.kind === 'clip' && e.videoUrl).length;
  setText($('history-count'), mine && hist.entries
    ? `${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}${clips ? ` · ${clips} clip${clips === 1 ? '' : 's'}` : ''}`
    : '');

  let state = '';
  if (mine && hist.error) state = hist.error;
  else if (!mine || (hist.loading && !hist.entries)) state = 'Loading…';
  else if (!entries.length) state = 'Nothing yet: prompts, clips and failures of this scene will be listed here.';
  const st = $('history-state');
  setText(st, state);
  setHidden(st, !state);
  st.classList.toggle('is-error', !!(mine && hist.error));

  const list = $('history-list');
  // Rebuild only when the entries change (signed URLs differ on every read; the ids do not).
  const sig = `${s.sceneId}|${entries.map((e) => `${e.id}${e.current ? '*' : ''}`).join(',')}`;
  if (list.dataset.sig !== sig) {
    list.dataset.sig = sig;
    list.replaceChildren(...entries.map(buildEntry));
  }
  const blocked = s.status === 'generating' || isBusy(`select:${s.sceneId}`) || isBusy(`gen:${s.sceneId}`);
  for (const btn of list.querySelectorAll('.h-use')) {
    setDisabled(btn, blocked);
    btn.title = s.status === 'generating' ? 'Wait until this scene finishes generating, or cancel it.' : '';
  }
}
