// The render dialog (issue 15), opened by "Render Video" and loaded only then: the layout as four
// radio cards with a sketch each, the cutaway share, the caption settings, and which scenes have
// their own layout. "Render" saves the settings (PUT …/layout) and starts the render; a refusal
// of either is said inside the dialog, which stays open.

import { api } from './api.js';
import { store, scenes, setBusy, isBusy, setRender } from './state.js';
import { trapTab, restoreFocus } from './modal.js';
import { kick } from './poller.js';
import { toast } from './toast.js';
import { LAYOUTS, layoutSettings, layoutLabel, saveLayout } from './layout.js';

/* ---------------- the sketches: presenter (violet) and B-roll (teal) regions ---------------- */

function presenter(x, y, w, h, r = 0) {
  const cx = x + w / 2;
  const head = Math.min(w, h) * 0.17;
  const top = y + h * 0.32;
  return `<g class="sk-presenter"><rect x="${x}" y="${y}" width="${w}" height="${h}" rx="${r}"/>`
    + `<circle class="sk-fig" cx="${cx}" cy="${top}" r="${head}"/>`
    + `<path class="sk-fig" d="M${cx - w * 0.34} ${y + h} Q${cx - w * 0.34} ${top + head * 1.4} ${cx} ${top + head * 1.4}`
    + ` Q${cx + w * 0.34} ${top + head * 1.4} ${cx + w * 0.34} ${y + h}Z"/></g>`;
}

function broll(x, y, w, h) {
  const base = y + h;
  return `<g class="sk-broll"><rect x="${x}" y="${y}" width="${w}" height="${h}"/>`
    + `<circle class="sk-sun" cx="${x + w * 0.72}" cy="${y + h * 0.28}" r="${Math.min(w, h) * 0.1}"/>`
    + `<path class="sk-hill" d="M${x} ${base} L${x + w * 0.32} ${y + h * 0.52} L${x + w * 0.55} ${y + h * 0.74}`
    + ` L${x + w * 0.74} ${y + h * 0.58} L${x + w} ${y + h * 0.84} L${x + w} ${base}Z"/></g>`;
}

let clips = 0;
function frame(inner, x = 0) {
  clips += 1;
  return `<g transform="translate(${x} 0)"><clipPath id="sk-clip-${clips}"><rect width="36" height="64" rx="5"/></clipPath>`
    + `<g clip-path="url(#sk-clip-${clips})">${inner}</g><rect class="sk-edge" x="0.5" y="0.5" width="35" height="63" rx="5"/></g>`;
}

const SKETCH = {
  cutaway: `<svg viewBox="0 0 84 64">${frame(presenter(0, 0, 36, 64))}`
    + '<path class="sk-arrow" d="M40 32h6m-3-3 3 3-3 3"/>'
    + `${frame(broll(0, 0, 36, 64), 48)}</svg>`,
  split: `<svg viewBox="0 0 36 64">${frame(broll(0, 0, 36, 32) + presenter(0, 32, 36, 32))}</svg>`,
  pip: `<svg viewBox="0 0 36 64">${frame(broll(0, 0, 36, 64) + presenter(17, 36, 16, 22, 3) + '<rect class="sk-pip" x="17" y="36" width="16" height="22" rx="3"/>')}</svg>`,
  full: `<svg viewBox="0 0 36 64">${frame(broll(0, 0, 36, 64))}</svg>`,
};

/* ---------------- the dialog ---------------- */

let dialog = null;
let opener = null;

function choice(name, value, label, testid) {
  return `<label class="choice seg-choice"><input type="radio" name="${name}" value="${value}" data-testid="${testid}"><span>${label}</span></label>`;
}

function build() {
  const d = document.createElement('dialog');
  d.className = 'modal modal-confirm render-dialog';
  d.dataset.testid = 'render-dialog';
  d.setAttribute('aria-labelledby', 'render-dialog-title');
  const cards = LAYOUTS.map((l) => `
      <label class="layout-card" data-testid="layout-card-${l.value}">
        <input type="radio" name="layout" value="${l.value}" data-testid="layout-${l.value}" aria-describedby="layout-hint-${l.value}">
        <span class="layout-sketch" aria-hidden="true">${SKETCH[l.value]}</span>
        <span class="layout-name">${l.label}</span>
        <span class="layout-hint" id="layout-hint-${l.value}">${l.hint}</span>
      </label>`).join('');
  d.innerHTML = `
    <form class="confirm-card render-form" data-testid="render-form" novalidate>
      <h2 id="render-dialog-title">Render the video</h2>
      <p class="hint">How the B-roll is cut in with the presenter, and the captions burned into the video.</p>
      <fieldset class="layout-set">
        <legend class="field-label">Layout</legend>
        <div class="layout-cards">${cards}</div>
      </fieldset>
      <div class="field share-field" data-testid="share-field">
        <div class="label-row">
          <label class="field-label" for="layout-share">B-roll share of each scene (cutaway)</label>
          <output class="share-value" for="layout-share" data-testid="layout-share-value"></output>
        </div>
        <input id="layout-share" class="range-input" type="range" min="20" max="100" step="5" name="share"
          data-testid="layout-share" aria-describedby="share-hint">
        <p class="hint" id="share-hint" data-testid="share-hint"></p>
      </div>
      <fieldset class="caption-set">
        <legend class="field-label">Captions</legend>
        <label class="choice"><input type="checkbox" name="captionsEnabled" data-testid="caption-enabled"> Burn captions into the video</label>
        <fieldset class="caption-options" data-testid="caption-options">
          <div class="seg-row" role="radiogroup" aria-labelledby="caption-position-label">
            <span class="seg-label" id="caption-position-label">Position</span>
            ${choice('position', 'lower', 'Lower third', 'caption-position-lower')}
            ${choice('position', 'centre', 'Centre', 'caption-position-centre')}
          </div>
          <div class="seg-row" role="radiogroup" aria-labelledby="caption-size-label">
            <span class="seg-label" id="caption-size-label">Size</span>
            ${choice('size', 'small', 'Small', 'caption-size-small')}
            ${choice('size', 'medium', 'Medium', 'caption-size-medium')}
            ${choice('size', 'large', 'Large', 'caption-size-large')}
          </div>
          <label class="choice"><input type="checkbox" name="highlight" data-testid="caption-highlight"> Highlight the word being spoken</label>
        </fieldset>
      </fieldset>
      <p class="hint overrides-note" data-testid="render-overrides" hidden></p>
      <p class="form-error" data-testid="render-dialog-error" role="alert" hidden></p>
      <div class="confirm-actions">
        <button type="button" class="btn btn-ghost" data-testid="render-dialog-cancel">Cancel</button>
        <button type="button" class="btn btn-secondary" data-testid="render-dialog-save">Save</button>
        <button type="submit" class="btn btn-primary" data-testid="render-start">🎞 Render</button>
      </div>
    </form>`;
  document.body.append(d);
  const f = d.querySelector('form');
  f.addEventListener('submit', (e) => { e.preventDefault(); submit(true); });
  f.addEventListener('input', syncForm);
  f.addEventListener('change', syncForm);
  d.querySelector('[data-testid="render-dialog-save"]').addEventListener('click', () => submit(false));
  d.querySelector('[data-testid="render-dialog-cancel"]').addEventListener('click', close);
  d.addEventListener('cancel', (e) => { e.preventDefault(); close(); });
  d.addEventListener('keydown', (e) => trapTab(d, e));
  d.addEventListener('click', (e) => { if (e.target === d) close(); });
  return d;
}

const q = (id) => dialog.querySelector(`[data-testid="${id}"]`);

function showError(msg) {
  const err = q('render-dialog-error');
  err.textContent = msg || '';
  err.hidden = !msg;
}

/** Shows what depends on other fields: the share's figures, the caption options' state. */
function syncForm() {
  const f = dialog.querySelector('form');
  const layout = f.elements.layout.value;
  const share = Number(f.elements.share.value);
  q('layout-share-value').textContent = `${share} %`;
  const cutaway = layout === 'cutaway';
  f.elements.share.disabled = !cutaway;
  q('share-field').classList.toggle('is-off', !cutaway);
  q('share-hint').textContent = cutaway
    ? `The presenter for the first ${100 - share} % of each scene, then B-roll. Scenes under ${layoutSettings().minSceneSec} s stay on the presenter.`
    : `Only for cutaway: ${layoutLabel(layout)} shows the B-roll for the whole scene.`;
  q('caption-options').disabled = !f.elements.captionsEnabled.checked;
}

function fill() {
  const f = dialog.querySelector('form');
  const s = layoutSettings();
  f.elements.layout.value = s.layout;
  f.elements.share.value = String(Math.round(s.share * 100));
  f.elements.captionsEnabled.checked = !!s.captions.enabled;
  f.elements.position.value = s.captions.position;
  f.elements.size.value = s.captions.size;
  f.elements.highlight.checked = !!s.captions.highlight;
  const own = scenes().filter((sc) => s.overrides[sc.sceneId]);
  const note = q('render-overrides');
  note.textContent = own.length
    ? `Own layout: ${own.map((sc) => `${sc.sceneTitle || sc.sceneId} (${layoutLabel(s.overrides[sc.sceneId])})`).join(', ')}. Change it in Scene settings.`
    : '';
  note.hidden = !own.length;
  syncForm();
}

function readForm() {
  const f = dialog.querySelector('form');
  const share = Number(f.elements.share.value);
  if (!Number.isFinite(share) || share < 20 || share > 100) {
    return { error: 'The B-roll share must be from 20 to 100 %.' };
  }
  return {
    body: {
      layout: f.elements.layout.value || 'cutaway',
      share: Math.round(share) / 100,
      captions: {
        enabled: f.elements.captionsEnabled.checked,
        position: f.elements.position.value || 'lower',
        size: f.elements.size.value || 'medium',
        highlight: f.elements.highlight.checked,
      },
    },
  };
}

function setButtons(busy, label) {
  const start = q('render-start');
  start.textContent = busy === 'render' ? label : '🎞 Render';
  start.disabled = !!busy;
  const save = q('render-dialog-save');
  save.textContent = busy === 'save' ? label : 'Save';
  save.disabled = !!busy;
}

async function submit(render) {
  if (isBusy('render') || isBusy('layout')) return;
  const { body, error } = readForm();
  if (error) { showError(error); return; }
  showError('');
  setBusy('layout', true);
  setButtons(render ? 'render' : 'save', 'Saving…');
  try {
    try {
      await saveLayout(body);
    } catch (err) {
      showError(`Could not save the settings: ${err.message}`);
      return;
    }
    if (!render) {
      close();
      toast('Render settings saved.', 'success', 3000);
      return;
    }
    setButtons('render', '⏳ Starting…');
    setBusy('render', true);
    try {
      const res = await api.startRender(store.projectId);
      if (res && res.render) setRender(res.render);
      close();
    } catch (err) {
      showError(`Could not start the render: ${err.message}`);
    } finally {
      setBusy('render', false);
      kick();
    }
  } finally {
    setBusy('layout', false);
    if (dialog.open) setButtons(null);
  }
}

function close() {
  if (!dialog || !dialog.open) return;
  dialog.close();
  document.body.classList.remove('modal-open');
  restoreFocus(opener, '[data-testid="render-video"]');
  opener = null;
}

export function openRenderDialog(from = document.activeElement) {
  if (!dialog) dialog = build();
  opener = from;
  showError('');
  setButtons(null);
  fill();
  dialog.showModal();
  document.body.classList.add('modal-open');
  const checked = dialog.querySelector('input[name="layout"]:checked');
  if (checked) checked.focus();
}
