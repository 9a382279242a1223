// Rendering: turns the store into DOM. Elements are created once and updated in place so that
// focus, caret position and playing media survive every poll.

import { store, scenes, selectedScene, isBusy, isCompleted } from './state.js';
import {
  TYPE_LABEL, sceneType, iconSvg, rangeLabel, sceneDuration, seconds, pct, cardStatusText, promptSourceLabel,
  waitingText, lateText, spendLabel, quotaLabel,
} from './format.js';
import { $, setText, setHidden, setDisabled, setMediaSrc } from './dom.js';
import { renderBottom } from './bottom.js';
import { renderHistory } from './history.js';
import { renderStyle } from './style.js';
import { renderPlan, renderCoverage, shotProgress } from './plan.js';
import { renderMedia } from './media.js';
import { renderTiming } from './timing.js';
import { renderSceneLayout } from './layout.js';

/* ---------------- header & chrome ---------------- */

function renderHeader() {
  const p = store.project;
  setText($('project-name'), p ? p.name || p.projectId : store.loadError ? '—' : 'Loading…');
  setHidden($('completed-badge'), !isCompleted());
  document.title = p ? `${p.name || p.projectId} · B-Roll Studio` : 'B-Roll Studio · Stage 7';
  setHidden($('connection-notice'), !store.connectionLost);
  const err = $('load-error');
  setText(err, store.loadError ? `Could not open project “${store.projectId}”: ${store.loadError}` : '');
  setHidden(err, !store.loadError);
  document.querySelector('.workspace').setAttribute('aria-busy', p ? 'false' : 'true');
}

/* ---------------- timeline ---------------- */

function buildCard(scene) {
  const li = document.createElement('li');
  li.className = 'scene-card';
  li.tabIndex = 0;
  li.dataset.sceneId = scene.sceneId;
  li.dataset.testid = `scene-card-${scene.sceneId}`;
  li.innerHTML = `
    <div class="card-top">
      <span class="scene-icon"></span>
      <div class="card-titles">
        <span class="scene-type"></span>
        <h3 class="scene-title" id="scene-title-${scene.sceneId}"></h3>
      </div>
      <div class="card-time">
        <span class="time-range"></span>
        <span class="time-dur"></span>
      </div>
      <video class="card-thumb" data-testid="scene-thumb-${scene.sceneId}" muted playsinline preload="metadata"
        tabindex="-1" aria-hidden="true" hidden></video>
    </div>
    <p class="scene-text"></p>
    <div class="coverage" aria-hidden="true"></div>
    <div class="card-foot">
      <span class="card-state">
        <span class="scene-status" data-testid="scene-status-${scene.sceneId}"></span>
        <span class="ai-badge" data-testid="scene-ai-badge-${scene.sceneId}" title="This clip was made by AI (Veo via Kie.ai)" hidden>AI-generated</span>
      </span>
      <div class="card-actions">
        <button type="button" class="btn btn-sm scene-action" data-testid="scene-action-${scene.sceneId}"></button>
        <button type="button" class="btn btn-sm scene-action scene-action-2" data-testid="scene-action2-${scene.sceneId}" hidden></button>
      </div>
    </div>
    <p class="late-note" data-testid="scene-late-${scene.sceneId}" hidden></p>
    <p class="stale-hint" data-testid="scene-outofdate-${scene.sceneId}" hidden>Out of date (style changed) —
      <button type="button" class="link-btn scene-action" data-action="regenerate">Regenerate</button></p>`;
  return li;
}

function updateCard(li, scene) {
  const type = sceneType(scene);
  const sig = `${type}`;
  if (li.dataset.iconSig !== sig) {
    li.dataset.iconSig = sig;
    const icon = li.querySelector('.scene-icon');
    icon.className = `scene-icon type-${type}`;
    icon.innerHTML = iconSvg(type);
  }
  const wait = waitingText(scene);
  const late = lateText(scene);
  li.className = `scene-card status-${scene.status || 'idle'}${wait ? ' is-waiting' : ''}${scene.sceneId === store.selectedId ? ' is-selected' : ''}`;
  li.setAttribute('aria-current', scene.sceneId === store.selectedId ? 'true' : 'false');
  li.setAttribute('aria-label', `${scene.sceneTitle} (${rangeLabel(scene)}), ${cardStatusText(scene)}${late ? `. ${late}` : ''}`);
  setText(li.querySelector('.scene-type'), TYPE_LABEL[type]);
  setText(li.querySelector('.scene-title'), scene.sceneTitle || scene.sceneId);
  setText(li.querySelector('.time-range'), rangeLabel(scene));
  setText(li.querySelector('.time-dur'), seconds(sceneDuration(scene)));
  setText(li.querySelector('.scene-text'), scene.text || '');
  renderCoverage(li.querySelector('.coverage'), scene, pct(scene));
  const status = li.querySelector('.scene-status');
  setText(status, cardStatusText(scene));
  status.title = scene.status === 'failed' ? scene.error || '' : '';

  // Per-state actions (issue 3): idle → Generate B-Roll · generating → ⏳ Generating… N % + Cancel ·
  // completed → ✅ Ready, ▶ Preview B-Roll + 🔄 Regenerate · failed → ❌ Failed: reason + 🔄 Retry.
  const sid = scene.sceneId;
  const genBusy = isBusy(`gen:${sid}`);
  const cancelBusy = isBusy(`cancel:${sid}`);
  const state = scene.status || 'idle';
  let primary;
  let secondary = null;
  if (state === 'completed') {
    primary = { action: 'preview', label: '▶ Preview B-Roll', cls: 'btn-ghost-green', disabled: !scene.videoUrl };
    secondary = { action: 'regenerate', label: genBusy ? '⏳ Restarting…' : '🔄 Regenerate', cls: 'btn-secondary', disabled: genBusy };
  } else if (state === 'generating') {
    const shot = shotProgress(scene);
    const label = wait ? '⏳ Waiting for Kie.ai' : `⏳ Generating… ${pct(scene)} %${shot ? ` · ${shot}` : ''}`;
    primary = { action: 'none', label, cls: 'btn-progress', disabled: true };
    secondary = { action: 'cancel', label: cancelBusy ? 'Cancelling…' : 'Cancel', cls: 'btn-danger-ghost', disabled: cancelBusy };
  } else if (state === 'failed') {
    primary = { action: 'retry', label: genBusy ? '⏳ Restarting…' : '🔄 Retry', cls: 'btn-secondary', disabled: genBusy };
  } else {
    primary = { action: 'generate', label: genBusy ? '⏳ Starting…' : 'Generate B-Roll', cls: 'btn-secondary', disabled: genBusy };
  }
  // While generating, the progress button carries the status text; don't say it twice. A
  // scene waiting for Kie.ai shows why (and that nothing is charged) on a line of its own.
  setHidden(li.querySelector('.card-state'), state === 'generating' && !wait);
  setHidden(li.querySelector('.ai-badge'), !(state === 'completed' && scene.videoUrl && scene.aiGenerated !== false));
  const stale = state === 'completed' && !!scene.outOfDate;
  setHidden(li.querySelector('.stale-hint'), !stale);
  setDisabled(li.querySelector('.stale-hint .scene-action'), genBusy);
  // Cancelled clips Kie.ai still makes (Kie has no cancel): they land in this scene's History.
  const lateLine = li.querySelector('.late-note');
  setText(lateLine, late);
  setHidden(lateLine, !late);

  // The ready clip's frame at 1 s as the card's thumbnail (the media fragment seeks there).
  const thumb = li.querySelector('.card-thumb');
  const thumbUrl = state === 'completed' && scene.videoUrl ? `${scene.videoUrl}#t=1` : '';
  setMediaSrc(thumb, thumbUrl);
  setHidden(thumb, !thumbUrl);

  const [btn, btn2] = li.querySelectorAll('.card-actions .scene-action');
  applyCardButton(btn, primary, scene);
  setHidden(btn2, !secondary);
  if (secondary) applyCardButton(btn2, secondary, scene);
}

function applyCardButton(btn, spec, scene) {
  setText(btn, spec.label);
  btn.className = `btn btn-sm scene-action${btn.classList.contains('scene-action-2') ? ' scene-action-2' : ''} ${spec.cls}${spec.disabled && spec.action !== 'none' ? ' is-busy' : ''}`;
  btn.style.setProperty('--p', `${pct(scene)}%`);
  btn.dataset.action = spec.action;
  btn.setAttribute('aria-describedby', `scene-title-${scene.sceneId}`);
  setDisabled(btn, !!spec.disabled || !store.project);
}

function renderTimeline() {
  const list = $('timeline');
  const all = scenes();
  const existing = new Map([...list.children].map((li) => [li.dataset.sceneId, li]));
  all.forEach((scene, i) => {
    let li = existing.get(scene.sceneId);
    if (!li) li = buildCard(scene);
    existing.delete(scene.sceneId);
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
    updateCard(li, scene);
  });
  for (const li of existing.values()) li.remove();

  // Ribbon: the whole voice-over as proportional segments coloured by status.
  const ribbon = $('timeline-ribbon');
  const total = (store.project && store.project.audio && store.project.audio.durationSec)
    || all.reduce((m, s) => Math.max(m, (s.timeRange && s.timeRange.end) || 0), 0) || 1;
  const shotsSig = (s) => (s.plan || []).map((x) => x.status[0]).join('');
  const ribbonSig = all.map((s) => `${s.sceneId}:${s.status}:${pct(s)}:${s.sceneId === store.selectedId}:${shotsSig(s)}:${rangeLabel(s)}:${sceneDuration(s)}`).join('|') + total;
  if (ribbon.dataset.sig !== ribbonSig) {
    ribbon.dataset.sig = ribbonSig;
    ribbon.replaceChildren(...all.map((s) => {
      const seg = document.createElement('div');
      seg.className = `seg status-${s.status}${s.sceneId === store.selectedId ? ' is-selected' : ''}`;
      seg.style.flexGrow = String(Math.max(sceneDuration(s), total * 0.04));
      seg.style.setProperty('--p', `${s.status === 'generating' ? pct(s) : 0}%`);
      const label = document.createElement('span');
      label.textContent = rangeLabel(s);
      seg.append(label);
      // A scene covered by several clips shows where each sub-shot starts.
      const shots = (s.plan || []).length > 1 ? s.plan : [];
      shots.slice(1).forEach((shot, i) => {
        const tick = document.createElement('i');
        tick.className = 'sub-tick';
        tick.style.left = `${((i + 1) / shots.length) * 100}%`;
        seg.append(tick);
      });
      if (shots.length) seg.title = `${rangeLabel(s)} · ${shots.length} clips`;
      return seg;
    }));
  }

  const ready = all.filter((s) => s.status === 'completed').length;
  setText($('timeline-summary'), all.length ? `${all.length} scenes · ${seconds(total)} · ${ready}/${all.length} clips ready` : '');
  renderSpend();
}

/** What the project's clips cost (and, on the studio's key, the person's quota left today). */
function renderSpend() {
  const p = store.project;
  const text = p ? [spendLabel(p.spend), quotaLabel(p.quota)].filter(Boolean).join(' · ') : '';
  const el = $('spend-line');
  setText(el, text);
  setHidden(el, !text);
}

/* ---------------- script & media ---------------- */

function renderScript() {
  const p = store.project;
  const el = $('script');
  const script = (p && p.script) || '';
  const all = scenes();
  const sig = `${script}\u0000${all.map((s) => s.sceneId + s.text + rangeLabel(s)).join('|')}`; // times move with a nudge
  if (el.dataset.sig !== sig) {
    el.dataset.sig = sig;
    el.replaceChildren();
    // Split the script along the scenes' narration when each scene's text is found in order.
    let pos = 0;
    const parts = [];
    for (const s of all) {
      const t = (s.text || '').trim();
      const at = t ? script.indexOf(t, pos) : -1;
      if (at < 0) { parts.length = 0; break; }
      parts.push({ scene: s, text: t });
      pos = at + t.length;
    }
    if (parts.length && parts.length === all.length) {
      for (const { scene, text } of parts) {
        const para = document.createElement('p');
        para.className = 'script-para';
        para.dataset.sceneId = scene.sceneId;
        const tag = document.createElement('span');
        tag.className = `script-tag type-${sceneType(scene)}`;
        tag.textContent = rangeLabel(scene);
        para.append(tag, document.createTextNode(' ' + text));
        el.append(para);
      }
    } else {
      for (const chunk of script.split(/\n{2,}/)) {
        const para = document.createElement('p');
        para.className = 'script-para';
        para.textContent = chunk;
        el.append(para);
      }
    }
  }
  for (const para of el.children) para.classList.toggle('is-selected', para.dataset.sceneId === store.selectedId);
  const words = script.trim() ? script.trim().split(/\s+/).length : 0;
  setText($('script-meta'), words ? `${words} words` : '');

  const audio = p && p.audio;
  setMediaSrc($('audio-player'), audio && audio.url);
  setText($('audio-duration'), audio && audio.durationSec != null ? seconds(audio.durationSec) : '');
  setMediaSrc($('avatar-video'), p && p.avatarVideo && p.avatarVideo.url);
}

/* ---------------- right panel ---------------- */

let lastRenderedScene = null;

function renderSettings() {
  const all = scenes();
  const s = selectedScene();
  const select = $('scene-select');
  const optSig = all.map((x) => `${x.sceneId}\u0001${x.sceneTitle}\u0001${rangeLabel(x)}`).join('|');
  if (select.dataset.sig !== optSig) {
    select.dataset.sig = optSig;
    select.replaceChildren(...all.map((x, i) => {
      const o = document.createElement('option');
      o.value = x.sceneId;
      o.textContent = `${i + 1}. ${x.sceneTitle} (${rangeLabel(x)})`;
      return o;
    }));
  }
  if (s && select.value !== s.sceneId) select.value = s.sceneId;
  setDisabled(select, !all.length);

  setText($('selected-scene'), s ? `Selected: ${s.sceneTitle} (${rangeLabel(s)})` : 'No scene selected');

  // Shot instructions: never overwrite what the person is typing.
  const ta = $('shot-instructions');
  const sid = s ? s.sceneId : null;
  const wanted = s ? (store.drafts.has(sid) ? store.drafts.get(sid) : s.shotInstructions || '') : '';
  if (sid !== lastRenderedScene || (document.activeElement !== ta && !store.drafts.has(sid))) {
    if (ta.value !== wanted) ta.value = wanted;
  }
  setDisabled(ta, !s);
  const save = store.saveState.get(sid);
  const ind = $('save-indicator');
  const saveText = { dirty: 'Unsaved changes', saving: 'Saving…', saved: '✓ Saved', error: 'Not saved — retrying' }[save] || '';
  setText(ind, saveText);
  ind.className = `save-indicator ${save ? `is-${save}` : ''}`;

  const promptBusy = s && isBusy(`prompt:${sid}`);
  const pbtn = $('generate-prompt');
  setText(pbtn, promptBusy ? '✨ Writing prompt…' : '✨ Generate AI Prompt');
  pbtn.classList.toggle('is-busy', !!promptBusy);
  setDisabled(pbtn, !s || !!promptBusy || s.status === 'generating');

  const ai = $('ai-prompt');
  const aiText = s ? s.aiPrompt || '' : '';
  if (ai.value !== aiText) ai.value = aiText;
  setText($('prompt-source'), s && aiText ? promptSourceLabel(s.promptSource) : '');
  const note = $('prompt-note');
  const noteText = (s && aiText && s.promptNote) || '';
  setText(note, noteText);
  setHidden(note, !noteText);
  renderRewrite(s);

  renderGenBox(s);
  lastRenderedScene = sid;
}

/** Kie refused the first prompt for content policy; it was rewritten once automatically. */
function renderRewrite(s) {
  const rw = s && s.rewrite;
  setHidden($('rewrite-notice'), !rw);
  if (!rw) return;
  setText($('rewrite-reason'),
    `⚠ Kie.ai refused the first prompt (${rw.reason || 'content policy'}). It was rewritten once automatically:`);
  setText($('rewrite-from'), rw.fromPrompt || '');
  setText($('rewrite-to'), s.aiPrompt || '');
  setText($('rewrite-note'), rw.note || '');
  setHidden($('rewrite-note'), !rw.note);
}

function renderGenBox(s) {
  const line = $('status-line');
  const bar = $('progress');
  const gen = $('generate-broll');
  const prev = $('preview-button');
  const cancel = $('cancel-generation');
  const box = $('gen-box');
  const status = s ? s.status || 'idle' : 'idle';
  box.className = `gen-box status-${status}`;
  const sid = s && s.sceneId;
  const genBusy = s && isBusy(`gen:${sid}`);
  const cancelBusy = s && isBusy(`cancel:${sid}`);

  const wait = waitingText(s);
  let text = '';
  let genLabel = '🎬 Generate B-Roll';
  if (!s) text = '';
  else if (wait) text = `⏳ ${wait}`;
  else if (status === 'generating') text = `⏳ Generating… ${pct(s)} %${shotProgress(s) ? ` · ${shotProgress(s)}` : ''}`;
  else if (status === 'completed') { text = '✅ Ready'; genLabel = '🔄 Regenerate'; }
  else if (status === 'failed') { text = `❌ Failed: ${s.error || 'unknown error'}`; genLabel = '🔄 Retry'; }
  else text = 'No B-roll clip yet for this scene.';
  if (genBusy) genLabel = status === 'completed' || status === 'failed' ? '⏳ Restarting…' : '⏳ Starting…';
  setText(line, text);
  gen.dataset.regenerate = status === 'completed' || status === 'failed' ? 'true' : 'false';
  setText(gen, genLabel);
  gen.className = `btn ${status === 'completed' ? 'btn-secondary' : 'btn-primary'}${genBusy ? ' is-busy' : ''}`;
  setDisabled(gen, !s || status === 'generating' || !!genBusy || !!cancelBusy);

  setHidden(bar, status !== 'generating' || !!wait); // nothing is under way while it waits
  bar.firstElementChild.style.width = `${s ? pct(s) : 0}%`;
  bar.setAttribute('role', 'progressbar');
  bar.setAttribute('aria-valuenow', String(s ? pct(s) : 0));
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', '100');
  bar.setAttribute('aria-label', 'Generation progress');

  setHidden(cancel, status !== 'generating');
  setText(cancel, cancelBusy ? 'Cancelling…' : 'Cancel');
  setDisabled(cancel, !!cancelBusy);
  setHidden(prev, status !== 'completed');

  const err = $('action-error');
  const msg = sid ? store.actionError.get(sid) : '';
  setText(err, msg || '');
  setHidden(err, !msg);

  setHidden($('out-of-date'), !(s && status === 'completed' && s.outOfDate));
  setDisabled($('out-of-date-regenerate'), !!genBusy);

  setText($('key-note'), s && s.keyLast4 ? `Kie.ai key: ${s.keyOwner === 'user' ? 'yours' : 'studio'} ··${s.keyLast4}` : '');

  const preview = $('preview');
  const ready = s && status === 'completed' && s.videoUrl;
  setHidden(preview, !ready);
  const ai = !!ready && s.aiGenerated !== false;
  setHidden($('preview-ai-badge'), !ai);
  $('preview-open').setAttribute('aria-label', ai ? 'Play the AI-generated clip fullscreen' : 'Play preview fullscreen');
  const video = $('preview-video');
  setMediaSrc(video, ready ? s.videoUrl : '');
  if (ready && video.paused && video.readyState === 0) video.load();
}

export function render() {
  renderHeader();
  renderTimeline();
  renderScript();
  renderSettings();
  renderHistory();
  renderStyle();
  renderPlan();
  renderMedia();
  renderTiming();
  renderSceneLayout();
  renderBottom();
}
