// The project's style lock (issue 8): one look / colour / lens / era (and an optional Veo
// seed) for every scene. Prompts written afterwards end with it; clips made before it are
// shown as out of date. Edited in a small dialog opened from the timeline's "🎨 Style".

import { api } from './api.js';
import { store, setBusy, isBusy, setProject, scenes } from './state.js';
import { $, setText, setDisabled, setTitle } from './dom.js';
import { styleSummary } from './format.js';
import { trapTab, restoreFocus } from './modal.js';
import { kick } from './poller.js';
import { toast } from './toast.js';

const FIELDS = ['look', 'colour', 'lens', 'era'];
let opener = null;

function form() {
  return $('style-form');
}

function showError(msg) {
  const err = $('style-error');
  err.textContent = msg || '';
  err.hidden = !msg;
}

export function openStyle() {
  const dialog = $('style-dialog');
  const f = form();
  const style = (store.project && store.project.style) || {};
  for (const k of FIELDS) f.elements[k].value = style[k] || '';
  f.elements.seed.value = style.seed != null ? String(style.seed) : '';
  showError('');
  opener = document.activeElement;
  dialog.showModal();
  document.body.classList.add('modal-open');
  f.elements.look.focus();
}

function closeStyle() {
  const dialog = $('style-dialog');
  if (!dialog.open) return;
  dialog.close();
  document.body.classList.remove('modal-open');
  restoreFocus(opener, '[data-testid="edit-style"]');
  opener = null;
}

/** The form as the API's body, or a sentence saying what is wrong. */
function readForm() {
  const f = form();
  const body = {};
  for (const k of FIELDS) body[k] = f.elements[k].value.trim();
  const raw = f.elements.seed.value.trim();
  if (raw) {
    const seed = Number(raw);
    if (!Number.isInteger(seed) || seed < 10000 || seed > 99999) {
      return { error: 'The seed must be a whole number from 10000 to 99999, or empty.' };
    }
    body.seed = seed;
  } else {
    body.seed = null;
  }
  return { body };
}

async function save() {
  if (isBusy('style')) return;
  const { body, error } = readForm();
  if (error) { showError(error); return; }
  showError('');
  setBusy('style', true);
  renderStyleDialog();
  kick();
  try {
    const project = await api.setStyle(store.projectId, body);
    if (project && project.scenes) setProject(project);
    closeStyle();
    const stale = scenes().filter((s) => s.outOfDate).length;
    toast(stale ? `Style saved. ${stale} clip${stale === 1 ? ' predates' : 's predate'} it: regenerate to match.` : 'Style saved.', 'success', 4000);
  } catch (err) {
    showError(`Could not save the style: ${err.message}`);
  } finally {
    setBusy('style', false);
    renderStyleDialog();
  }
}

function renderStyleDialog() {
  const busy = isBusy('style');
  const ok = $('style-save');
  setText(ok, busy ? 'Saving…' : 'Save style');
  setDisabled(ok, busy);
}

export function initStyle() {
  const dialog = $('style-dialog');
  $('edit-style').addEventListener('click', openStyle);
  form().addEventListener('submit', (e) => { e.preventDefault(); save(); });
  $('style-cancel').addEventListener('click', closeStyle);
  $('style-clear').addEventListener('click', () => {
    const f = form();
    for (const k of [...FIELDS, 'seed']) f.elements[k].value = '';
    showError('');
    f.elements.look.focus();
  });
  dialog.addEventListener('cancel', (e) => { e.preventDefault(); closeStyle(); });
  dialog.addEventListener('keydown', (e) => trapTab(dialog, e));
  dialog.addEventListener('click', (e) => { if (e.target === dialog) closeStyle(); });
}

/** The timeline's style line: the current lock and how many clips predate it. */
export function renderStyle() {
  const style = store.project && store.project.style;
  const summary = styleSummary(style);
  setText($('style-summary'), summary || 'Default look (no style lock)');
  setTitle($('style-summary'), summary);
  $('style-summary').classList.toggle('is-default', !summary);
  const stale = scenes().filter((s) => s.outOfDate).length;
  const note = $('style-stale');
  setText(note, stale ? `${stale} clip${stale === 1 ? '' : 's'} out of date` : '');
  note.hidden = !stale;
  setDisabled($('edit-style'), !store.project);
}
