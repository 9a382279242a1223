// The studio's voice-over and avatar cards (issue 14): what the media worker found out about
// each file (fetching, checking, ready with its length and shape, or failed with the reason
// and Retry), an upload / replace button per card, and the notice when the voice-over's real
// length differs from the one the project was made with.

import { api } from './api.js';
import { store, setProject, setBusy, isBusy } from './state.js';
import { $, setText, setHidden, setDisabled, setProgress } from './dom.js';
import { mediaLine, seconds } from './format.js';
import { kick } from './poller.js';
import { toast } from './toast.js';

const KINDS = { voiceover: 'audio', avatar: 'avatarVideo' };
const LABEL = { voiceover: 'voice-over', avatar: 'avatar video' };
const errors = { voiceover: '', avatar: '' };
const progress = { voiceover: null, avatar: null }; // percent while uploading, else null

function mediaOf(kind) {
  const part = store.project && store.project[KINDS[kind]];
  return (part && part.media) || null;
}

function showError(kind, message) {
  errors[kind] = message || '';
  renderMedia();
}

async function upload(kind, file) {
  if (!file || isBusy(`upload:${kind}`)) return;
  showError(kind, '');
  setBusy(`upload:${kind}`, true);
  progress[kind] = 0;
  try {
    const { uploadMedia } = await import('./upload.js');
    const project = await uploadMedia(store.projectId, kind, file, (p) => { progress[kind] = p; renderMedia(); });
    if (project && project.scenes) setProject(project);
    toast(`The ${LABEL[kind]} is uploaded; checking the file…`, 'success', 3000);
  } catch (err) {
    showError(kind, `Could not upload the ${LABEL[kind]}: ${err.message}`);
  } finally {
    progress[kind] = null;
    setBusy(`upload:${kind}`, false);
    kick();
  }
}

async function retry(kind) {
  if (isBusy(`media:${kind}`)) return;
  showError(kind, '');
  setBusy(`media:${kind}`, true);
  try {
    const project = await api.setMedia(store.projectId, kind, {});
    if (project && project.scenes) setProject(project);
  } catch (err) {
    showError(kind, `Could not retry: ${err.message}`);
  } finally {
    setBusy(`media:${kind}`, false);
    kick();
  }
}

async function useFileDuration() {
  if (isBusy('use-file-duration')) return;
  setBusy('use-file-duration', true);
  try {
    const project = await api.useFileDuration(store.projectId);
    if (project && project.scenes) setProject(project);
    toast('The project now follows the voice-over file’s length.', 'success', 3500);
  } catch (err) {
    showError('voiceover', `Could not use the file’s length: ${err.message}`);
  } finally {
    setBusy('use-file-duration', false);
  }
}

export function initMedia() {
  for (const kind of Object.keys(KINDS)) {
    const input = $(`media-file-${kind}`);
    $(`media-upload-${kind}`).addEventListener('click', () => input.click());
    input.addEventListener('change', () => {
      const file = input.files && input.files[0];
      input.value = ''; // picking the same file again must fire change again
      upload(kind, file);
    });
    $(`media-retry-${kind}`).addEventListener('click', () => retry(kind));
  }
  $('use-file-duration').addEventListener('click', useFileDuration);
}

export function renderMedia() {
  const p = store.project;
  for (const kind of Object.keys(KINDS)) {
    const part = p && p[KINDS[kind]];
    const m = mediaOf(kind);
    const has = !!(part && (part.url || m));
    let line = mediaLine(m);
    if (!line && p && !has) line = kind === 'voiceover' ? 'No voice-over yet.' : 'No avatar video yet.';
    const status = $(`media-status-${kind}`);
    setText(status, line);
    status.className = `media-status${m ? ` is-${m.status}` : ''}`;
    const uploading = progress[kind] !== null;
    // A refused upload is gone: only Replace helps then (the server says canRetry).
    setHidden($(`media-retry-${kind}`), !(m && m.status === 'failed' && m.canRetry) || uploading);
    setDisabled($(`media-retry-${kind}`), isBusy(`media:${kind}`));
    const up = $(`media-upload-${kind}`);
    setText(up, uploading ? `Uploading… ${Math.round(progress[kind])} %`
      : `⬆ ${has ? 'Replace' : 'Upload'} ${kind === 'voiceover' ? 'voice-over' : 'avatar'}`);
    setDisabled(up, !p || uploading);
    const bar = $(`upload-progress-${kind}`);
    setHidden(bar, !uploading);
    if (uploading) setProgress(bar, progress[kind], `Uploading the ${LABEL[kind]}`);
    const err = $(`media-error-${kind}`);
    setText(err, errors[kind]);
    setHidden(err, !errors[kind]);
  }
  // The voice-over file's own length against the one the project was made with.
  const m = mediaOf('voiceover');
  const diff = m && m.status === 'ready' ? m.durationMismatchSec : null;
  const box = $('duration-mismatch');
  setHidden(box, diff == null);
  if (diff != null) {
    const declared = p.audio && p.audio.durationSec;
    setText($('duration-mismatch-text'),
      `The voice-over file lasts ${seconds(m.durationSec)}, the project says ${seconds(declared)}.`);
    setDisabled($('use-file-duration'), isBusy('use-file-duration'));
  }
}
