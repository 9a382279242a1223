// "New project" (issue 14): a dialog with two tabs. "Form": a name, the scenes (title, type,
// narration) and the voice-over and avatar video, as files to upload or as URLs the server
// fetches. "Paste JSON": the same body POST /api/projects takes (stage 3/4/5), pasted or read
// from a .json file. Errors are shown beside the field they are about: required fields are
// checked here first, then the API's 422 details ({field: "stage3.editedScenes.0.text"}) and
// its 400 sentences about a URL are mapped back onto the inputs.

import { api } from './api.js';
import { trapTab, restoreFocus } from './modal.js';
import { setProgress } from './dom.js';
import { uploadMedia, audioDuration, contentTypeFor } from './upload.js';

const TYPES = [['hook', 'Hook'], ['main', 'Main'], ['cta', 'Call to action'], ['other', 'Other']];

let dialog = null;
let opener = null;
let busy = false;
let created = null; // the project made by a submit whose uploads then failed: open it anyway

const q = (sel) => dialog.querySelector(sel);
const tid = (id) => dialog.querySelector(`[data-testid="${id}"]`);

const TEMPLATE = `
<div class="confirm-card np-card">
  <h2 id="np-title">New project</h2>
  <div class="np-tabs" role="tablist" aria-label="How to make the project">
    <button type="button" role="tab" id="np-tab-form" aria-controls="np-form" aria-selected="true" data-testid="np-tab-form">Form</button>
    <button type="button" role="tab" id="np-tab-json" aria-controls="np-json" aria-selected="false" tabindex="-1" data-testid="np-tab-json">Paste JSON</button>
  </div>

  <form id="np-form" class="np-form" role="tabpanel" aria-labelledby="np-tab-form" data-testid="np-form" novalidate>
    <label class="field"><span class="field-label">Name</span>
      <input class="text-input" name="name" data-testid="np-name" maxlength="200" autocomplete="off" required
        placeholder="e.g. Night trains are back"></label>

    <fieldset class="np-fieldset">
      <legend class="field-label">Scenes</legend>
      <ol class="np-scenes" data-testid="np-scenes"></ol>
      <p class="field-error" data-testid="np-scenes-error" role="alert" hidden></p>
      <button type="button" class="btn btn-xs btn-secondary" data-testid="np-add-scene">+ Add scene</button>
    </fieldset>

    <fieldset class="np-fieldset">
      <legend class="field-label">Voice-over</legend>
      <label class="field"><span class="hint">A file (MP3, WAV, M4A, AAC, OGG, FLAC)</span>
        <input type="file" name="audioFile" data-testid="np-voiceover-file"
          accept="audio/mpeg,audio/wav,audio/x-wav,audio/wave,audio/mp4,audio/x-m4a,audio/aac,audio/ogg,audio/flac,.mp3,.wav,.m4a,.aac,.ogg,.flac"></label>
      <label class="field"><span class="hint">or its address (https://…), fetched by the server</span>
        <input class="text-input" name="audioUrl" type="url" inputmode="url" data-testid="np-voiceover-url" autocomplete="off" placeholder="https://…"></label>
      <label class="field np-duration"><span class="field-label">Length (s)</span>
        <input class="num-input" name="audioDurationSec" type="number" min="0.5" max="3600" step="0.001" inputmode="decimal"
          data-testid="np-duration" required>
        <span class="hint" data-testid="np-duration-hint">Read from the file when you pick one.</span></label>
      <div class="progress upload-progress" data-testid="upload-progress-voiceover" hidden><div class="progress-fill"></div></div>
    </fieldset>

    <fieldset class="np-fieldset">
      <legend class="field-label">Avatar video <span class="optional">(optional, needed to render)</span></legend>
      <label class="field"><span class="hint">A file (MP4, MOV, WebM)</span>
        <input type="file" name="avatarFile" data-testid="np-avatar-file" accept="video/mp4,video/quicktime,video/webm,.mp4,.mov,.webm"></label>
      <label class="field"><span class="hint">or its address (https://…), fetched by the server</span>
        <input class="text-input" name="avatarVideoUrl" type="url" inputmode="url" data-testid="np-avatar-url" autocomplete="off" placeholder="https://…"></label>
      <div class="progress upload-progress" data-testid="upload-progress-avatar" hidden><div class="progress-fill"></div></div>
    </fieldset>

    <p class="form-error" data-testid="np-error" role="alert" hidden></p>
    <p class="np-status" data-testid="np-status" role="status"></p>
    <div class="confirm-actions">
      <button type="button" class="btn btn-ghost" data-testid="np-cancel">Cancel</button>
      <button type="submit" class="btn btn-primary" data-testid="np-create">Create project</button>
    </div>
  </form>

  <form id="np-json" class="np-form" role="tabpanel" aria-labelledby="np-tab-json" data-testid="np-json-form" novalidate hidden>
    <label class="field"><span class="field-label">Project JSON <span class="optional">(the body of POST /api/projects)</span></span>
      <textarea name="json" class="np-json" data-testid="np-json" rows="10" spellcheck="false"
        placeholder='{"name": "…", "stage3": {"editedScenes": [{"sceneTitle": "Hook", "sceneType": "hook", "text": "…"}]}, "stage4": {"audioDurationSec": 24, "audioUrl": "https://…"}, "stage5": {"avatarVideoUrl": "https://…"}}'></textarea></label>
    <label class="field"><span class="hint">or read it from a .json file</span>
      <input type="file" name="jsonFile" data-testid="np-json-file" accept="application/json,.json"></label>
    <div class="form-error" data-testid="np-json-error" role="alert" hidden></div>
    <div class="confirm-actions">
      <button type="button" class="btn btn-ghost" data-testid="np-json-cancel">Cancel</button>
      <button type="submit" class="btn btn-primary" data-testid="np-json-create">Create project</button>
    </div>
  </form>
</div>`;

/* ---------- scenes ---------- */

let rowSeq = 0;

function addScene(values = {}, focus = false) {
  const n = ++rowSeq;
  const li = document.createElement('li');
  li.className = 'np-scene';
  li.innerHTML = `
    <div class="np-scene-head">
      <span class="np-scene-n" aria-hidden="true"></span>
      <label class="field np-title"><span class="field-label">Title</span>
        <input class="text-input" data-role="sceneTitle" maxlength="200" autocomplete="off" required></label>
      <label class="field np-type"><span class="field-label">Type</span>
        <select data-role="sceneType">${TYPES.map(([v, l]) => `<option value="${v}">${l}</option>`).join('')}</select></label>
      <button type="button" class="btn btn-xs btn-danger-ghost np-remove" data-role="remove">Remove</button>
    </div>
    <label class="field"><span class="field-label">Narration</span>
      <textarea data-role="text" rows="2" maxlength="5000" required></textarea></label>`;
  li.querySelector('[data-role="sceneTitle"]').value = values.sceneTitle || '';
  li.querySelector('[data-role="sceneType"]').value = values.sceneType || 'main';
  li.querySelector('[data-role="text"]').value = values.text || '';
  for (const el of li.querySelectorAll('input, select, textarea')) el.id = `np-s${n}-${el.dataset.role}`;
  tid('np-scenes').append(li);
  renumber();
  if (focus) li.querySelector('input').focus();
}

function renumber() {
  const rows = [...tid('np-scenes').children];
  rows.forEach((li, i) => {
    li.dataset.testid = `np-scene-${i}`;
    li.querySelector('.np-scene-n').textContent = String(i + 1);
    li.querySelector('[data-role="remove"]').setAttribute('aria-label', `Remove scene ${i + 1}`);
    li.querySelector('[data-role="remove"]').disabled = rows.length === 1;
    for (const role of ['sceneTitle', 'sceneType', 'text']) li.querySelector(`[data-role="${role}"]`).dataset.testid = `np-scene-${i}-${role}`;
  });
}

/* ---------- field errors ---------- */

function clearErrors() {
  for (const el of dialog.querySelectorAll('.field-error.np-err')) el.remove();
  for (const el of dialog.querySelectorAll('[aria-invalid="true"]')) {
    el.removeAttribute('aria-invalid');
    el.removeAttribute('aria-describedby');
  }
  for (const id of ['np-error', 'np-scenes-error', 'np-json-error']) {
    tid(id).hidden = true;
    tid(id).textContent = '';
  }
}

/** Shows `message` right under `input` (aria-describedby ties it to the field). */
function fieldError(input, message) {
  const label = input.closest('label') || input.parentElement;
  let p = label.querySelector('.np-err');
  if (!p) {
    p = document.createElement('span');
    p.className = 'field-error np-err';
    p.id = `${input.id || input.name}-err`;
    p.dataset.testid = `${input.dataset.testid}-error`;
    label.append(p);
  }
  p.textContent = p.textContent ? `${p.textContent} ${message}` : message;
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', p.id);
}

function formError(message) {
  const el = tid('np-error');
  el.textContent = el.textContent ? `${el.textContent} ${message}` : message;
  el.hidden = false;
}

/** The input a server field path is about, or null ("stage3.editedScenes.1.text" → row 2's narration). */
function inputFor(field) {
  const f = String(field || '');
  const form = tid('np-form');
  const m = /^stage3\.editedScenes\.(\d+)\.(sceneTitle|sceneType|text)/.exec(f);
  if (m) {
    const row = tid('np-scenes').children[Number(m[1])];
    return row ? row.querySelector(`[data-role="${m[2]}"]`) : null;
  }
  if (f === 'name') return form.elements.name;
  if (f.startsWith('stage4.audioDurationSec')) return form.elements.audioDurationSec;
  if (f.startsWith('stage4.audioUrl') || f.startsWith('stage4.audioKey')) return form.elements.audioUrl;
  if (f.startsWith('stage5.avatarVideoUrl') || f.startsWith('stage5.avatarVideoKey')) return form.elements.avatarVideoUrl;
  return null;
}

/** The field a 400 sentence names (the URL checks answer without details). */
function inputForSentence(message) {
  const form = tid('np-form');
  if (/audioUrl|voice-over/i.test(message)) return form.elements.audioUrl;
  if (/avatarVideoUrl|avatar/i.test(message)) return form.elements.avatarVideoUrl;
  return null;
}

function showApiErrors(err) {
  const details = Array.isArray(err.details) ? err.details : [];
  let placed = 0;
  for (const d of details) {
    const field = d && (d.field || (Array.isArray(d.loc) ? d.loc.filter((x) => x !== 'body').join('.') : d.loc));
    const msg = (d && (d.message || d.msg)) || 'invalid';
    if (field === 'stage3.editedScenes') {
      tid('np-scenes-error').textContent = msg;
      tid('np-scenes-error').hidden = false;
      placed += 1;
      continue;
    }
    const input = inputFor(field);
    if (input) { fieldError(input, msg); placed += 1; } else formError(`${field}: ${msg}`);
  }
  if (!details.length) {
    const input = inputForSentence(err.message);
    // "stage4.audioUrl: The address …": beside its field the sentence needs no field name.
    if (input) fieldError(input, err.message.replace(/^stage\d\.\w+:\s*/, '')); else formError(err.message);
  } else if (placed) {
    formError('Some fields need fixing (shown beside each).');
  }
  const first = dialog.querySelector('[aria-invalid="true"]');
  if (first) first.focus();
}

/* ---------- the form → a body ---------- */

function readForm() {
  const form = tid('np-form');
  const el = form.elements;
  let ok = true;
  const need = (input, message) => { fieldError(input, message); ok = false; };
  const name = el.name.value.trim();
  if (!name) need(el.name, 'Give the project a name.');
  const scenes = [...tid('np-scenes').children].map((li) => {
    const title = li.querySelector('[data-role="sceneTitle"]');
    const text = li.querySelector('[data-role="text"]');
    if (!title.value.trim()) need(title, 'Give the scene a title.');
    if (!text.value.trim()) need(text, 'Write what is said in this scene.');
    return { sceneTitle: title.value.trim(), sceneType: li.querySelector('[data-role="sceneType"]').value, text: text.value.trim() };
  });
  const audioFile = el.audioFile.files[0] || null;
  const avatarFile = el.avatarFile.files[0] || null;
  const audioUrl = el.audioUrl.value.trim();
  const avatarUrl = el.avatarVideoUrl.value.trim();
  if (audioFile && audioUrl) need(el.audioUrl, 'Pick a file or give an address, not both.');
  if (avatarFile && avatarUrl) need(el.avatarVideoUrl, 'Pick a file or give an address, not both.');
  for (const [url, input] of [[audioUrl, el.audioUrl], [avatarUrl, el.avatarVideoUrl]]) {
    if (url && !/^https?:\/\//i.test(url)) need(input, 'The address must start with https://.');
  }
  for (const [kind, file, input] of [['voiceover', audioFile, el.audioFile], ['avatar', avatarFile, el.avatarFile]]) {
    if (!file) continue;
    try { contentTypeFor(kind, file); } catch (e) { need(input, e.message); }
  }
  const duration = Number(el.audioDurationSec.value);
  if (!el.audioDurationSec.value.trim() || !Number.isFinite(duration) || duration < 0.5 || duration > 3600) {
    need(el.audioDurationSec, 'Give the voice-over’s length in seconds (0.5 to 3600).');
  }
  if (!ok) return null;
  const stage4 = { audioDurationSec: Math.round(duration * 1000) / 1000 };
  if (audioUrl) stage4.audioUrl = audioUrl;
  const stage5 = avatarUrl ? { avatarVideoUrl: avatarUrl } : {};
  return { body: { name, stage3: { editedScenes: scenes }, stage4, stage5 }, audioFile, avatarFile };
}

/* ---------- submit ---------- */

function setBusyUi(on, label) {
  busy = on;
  for (const id of ['np-create', 'np-json-create']) tid(id).disabled = on;
  tid('np-status').textContent = label || '';
}

function openProject(id) {
  location.assign(`?project=${encodeURIComponent(id)}`);
}

async function uploadAll(pid, files) {
  for (const [kind, file] of files) {
    if (!file) continue;
    const bar = tid(`upload-progress-${kind}`);
    bar.hidden = false;
    setProgress(bar, 0, `Uploading the ${kind === 'voiceover' ? 'voice-over' : 'avatar video'}`);
    setBusyUi(true, `Uploading the ${kind === 'voiceover' ? 'voice-over' : 'avatar video'}…`);
    await uploadMedia(pid, kind, file, (p) => setProgress(bar, p));
  }
}

async function submitForm(e) {
  e.preventDefault();
  if (busy) return;
  if (created) { openProject(created); return; }
  clearErrors();
  const read = readForm();
  if (!read) {
    formError('Some fields need fixing (shown beside each).');
    dialog.querySelector('[aria-invalid="true"]').focus();
    return;
  }
  setBusyUi(true, 'Creating the project…');
  let project;
  try {
    project = await api.createProject(read.body);
  } catch (err) {
    setBusyUi(false);
    showApiErrors(err);
    return;
  }
  try {
    await uploadAll(project.projectId, [['voiceover', read.audioFile], ['avatar', read.avatarFile]]);
  } catch (err) {
    // The project exists; the studio has Upload / Retry on each card, so it can be finished there.
    created = project.projectId;
    setBusyUi(false);
    formError(`The project was made, but an upload failed: ${err.message}`);
    tid('np-create').textContent = 'Open the project';
    return;
  }
  setBusyUi(true, 'Opening the project…');
  openProject(project.projectId);
}

async function submitJson(e) {
  e.preventDefault();
  if (busy) return;
  clearErrors();
  const err = tid('np-json-error');
  const show = (lines) => {
    err.replaceChildren(...[].concat(lines).map((t) => Object.assign(document.createElement('p'), { textContent: t })));
    err.hidden = false;
    tid('np-json').setAttribute('aria-invalid', 'true');
    tid('np-json').setAttribute('aria-describedby', 'np-json-err');
    tid('np-json').focus();
  };
  err.id = 'np-json-err';
  let body;
  try {
    body = JSON.parse(tid('np-json').value);
  } catch (x) {
    show(`This is not valid JSON: ${x.message}`);
    return;
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) { show('The JSON must be an object, as POST /api/projects takes.'); return; }
  setBusyUi(true, '');
  try {
    const project = await api.createProject(body);
    openProject(project.projectId);
  } catch (x) {
    setBusyUi(false);
    const details = Array.isArray(x.details) ? x.details : [];
    show(details.length
      ? [x.message.replace(/ \(.*\)$/, ''), ...details.map((d) => `${d.field || d.loc || 'body'}: ${d.message || d.msg || 'invalid'}`)]
      : x.message);
  }
}

/* ---------- tabs, open, close ---------- */

function selectTab(which, focus = false) {
  for (const [tab, panel] of [['np-tab-form', 'np-form'], ['np-tab-json', 'np-json-form']]) {
    const on = tab === `np-tab-${which}`;
    tid(tab).setAttribute('aria-selected', on ? 'true' : 'false');
    tid(tab).tabIndex = on ? 0 : -1;
    tid(panel).hidden = !on;
    if (on && focus) tid(tab).focus();
  }
}

function close() {
  if (!dialog.open || busy) return;
  dialog.close();
  document.body.classList.remove('modal-open');
  restoreFocus(opener, '[data-testid="new-project"]');
}

async function onAudioPicked() {
  const form = tid('np-form');
  const file = form.elements.audioFile.files[0];
  const hint = tid('np-duration-hint');
  if (!file) return;
  hint.textContent = 'Reading the file’s length…';
  const d = await audioDuration(file);
  if (d) {
    form.elements.audioDurationSec.value = String(Math.round(d * 1000) / 1000);
    hint.textContent = 'Read from the file.';
  } else {
    hint.textContent = 'The browser could not read this file’s length: type it in.';
  }
}

async function onAudioUrl() {
  const form = tid('np-form');
  const url = form.elements.audioUrl.value.trim();
  if (!/^https?:\/\//i.test(url) || form.elements.audioDurationSec.value) return;
  const d = await audioDuration(url);
  if (d && !form.elements.audioDurationSec.value) {
    form.elements.audioDurationSec.value = String(Math.round(d * 1000) / 1000);
    tid('np-duration-hint').textContent = 'Read from the address.';
  }
}

function build() {
  dialog = document.createElement('dialog');
  dialog.className = 'modal modal-confirm modal-new';
  dialog.dataset.testid = 'new-project-dialog';
  dialog.setAttribute('aria-labelledby', 'np-title');
  dialog.innerHTML = TEMPLATE;
  document.body.append(dialog);
  addScene({ sceneType: 'hook' });
  tid('np-add-scene').addEventListener('click', () => addScene({}, true));
  tid('np-scenes').addEventListener('click', (e) => {
    const btn = e.target.closest('[data-role="remove"]');
    if (!btn || btn.disabled) return;
    const li = btn.closest('li');
    const next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    renumber();
    if (next) next.querySelector('input').focus();
  });
  tid('np-tab-form').addEventListener('click', () => selectTab('form'));
  tid('np-tab-json').addEventListener('click', () => selectTab('json'));
  q('[role="tablist"]').addEventListener('keydown', (e) => {
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      e.preventDefault();
      selectTab(tid('np-tab-form').getAttribute('aria-selected') === 'true' ? 'json' : 'form', true);
    }
  });
  tid('np-form').addEventListener('submit', submitForm);
  tid('np-json-form').addEventListener('submit', submitJson);
  tid('np-voiceover-file').addEventListener('change', onAudioPicked);
  tid('np-voiceover-url').addEventListener('change', onAudioUrl);
  tid('np-json-file').addEventListener('change', async () => {
    const file = tid('np-json-file').files[0];
    if (file) tid('np-json').value = await file.text();
  });
  tid('np-cancel').addEventListener('click', close);
  tid('np-json-cancel').addEventListener('click', close);
  dialog.addEventListener('cancel', (e) => { e.preventDefault(); close(); });
  dialog.addEventListener('keydown', (e) => trapTab(dialog, e));
}

/** Opens the dialog (built on first use); focus returns to `from` when it closes. */
export function openNewProject(from = document.activeElement) {
  if (!dialog) build();
  opener = from;
  selectTab('form');
  dialog.showModal();
  document.body.classList.add('modal-open');
  tid('np-name').focus();
}
