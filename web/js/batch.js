// "Generate All" with its cost. The confirm dialog shows what the batch starts and what it
// costs (GET …/broll/estimate), takes an optional cap ("Start at most N clips", sent as
// maxClips), and can queue the batch for later instead (PUT …/broll/schedule: at a time
// and/or when credits allow). A queued batch shows in the bottom bar until it runs or is
// cancelled (DELETE …/broll/schedule).

import { api } from './api.js';
import { store, isBusy, mergeScene, pendingScenes, setSchedule } from './state.js';
import { guarded, flushAllDrafts } from './actions.js';
import { confirmDialog } from './modal.js';
import { toast } from './toast.js';
import { rangeLabel, credits, scheduleLabel } from './format.js';

const MAX_CLIPS = 60;
const MAX_AHEAD_MS = 30 * 86400 * 1000;

const FORM = `
  <p class="estimate" data-testid="generate-all-estimate" aria-live="polite">Checking the cost…</p>
  <p class="estimate-warn" data-testid="generate-all-warning" hidden></p>
  <label class="inline-field">Start at most
    <input type="number" class="num-input" data-testid="generate-all-max" min="1" step="1" inputmode="numeric">
    clips</label>
  <div class="when-choice" role="radiogroup" aria-label="When">
    <label class="choice"><input type="radio" name="batch-when" value="now" data-testid="generate-all-now" checked> Start now</label>
    <label class="choice"><input type="radio" name="batch-when" value="later" data-testid="generate-all-later"> Later…</label>
  </div>
  <div class="later-fields" data-testid="later-fields" hidden>
    <label class="inline-field">At
      <input type="datetime-local" class="dt-input" data-testid="schedule-at"></label>
    <label class="choice"><input type="checkbox" data-testid="schedule-when-credits"> When credits allow</label>
    <p class="hint">Give a time, tick “when credits allow”, or both. The studio checks every 5 minutes.</p>
  </div>
  <p class="form-error" data-testid="generate-all-error" role="alert" hidden></p>`;

/** "2026-11-25T14:05" for a datetime-local input, in local time. */
function localInputValue(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function buildForm(n) {
  const form = document.createElement('div');
  form.className = 'batch-form';
  form.innerHTML = FORM;
  const q = (id) => form.querySelector(`[data-testid="${id}"]`);
  const el = {
    estimate: q('generate-all-estimate'), warn: q('generate-all-warning'), max: q('generate-all-max'),
    later: q('generate-all-later'), laterFields: q('later-fields'), at: q('schedule-at'),
    credits: q('schedule-when-credits'), error: q('generate-all-error'),
  };
  el.max.max = String(Math.min(MAX_CLIPS, Math.max(n, 1)));
  el.max.placeholder = String(n);
  el.at.min = localInputValue(new Date());
  el.at.max = localInputValue(new Date(Date.now() + MAX_AHEAD_MS));
  return { form, el };
}

/** Reads the form: {later, cap, at, whenCreditsAllow} or {error}. */
function readForm(el) {
  const raw = el.max.value.trim();
  let cap = null;
  if (raw) {
    cap = Number(raw);
    if (!Number.isInteger(cap) || cap < 1 || cap > MAX_CLIPS) {
      return { error: `“Start at most” takes a whole number from 1 to ${MAX_CLIPS}.`, field: el.max };
    }
  }
  const later = el.later.checked;
  if (!later) return { later, cap };
  let at = null;
  if (el.at.value) {
    const d = new Date(el.at.value);
    if (Number.isNaN(d.getTime())) return { error: 'That time is not valid.', field: el.at };
    if (d.getTime() < Date.now() - 60000) return { error: 'Pick a time that is still to come.', field: el.at };
    if (d.getTime() > Date.now() + MAX_AHEAD_MS) return { error: 'Pick a time in the next 30 days.', field: el.at };
    at = d.toISOString();
  }
  const whenCreditsAllow = el.credits.checked;
  if (!at && !whenCreditsAllow) {
    return { error: 'Give a time, tick “when credits allow”, or both.', field: el.at };
  }
  return { later, cap, at, whenCreditsAllow };
}

export async function generateAll() {
  if (isBusy('all')) return;
  const pending = pendingScenes();
  if (!pending.length) {
    toast('Every scene already has a clip or is generating.', 'info');
    return;
  }
  const n = pending.length;
  const { form, el } = buildForm(n);
  const ok = document.querySelector('[data-testid="confirm-ok"]');
  let est = null;
  let choice = null;

  const refresh = () => {
    if (!form.isConnected) return; // the dialog moved on (an estimate that came back late)
    const cap = Number(el.max.value);
    const k = Number.isInteger(cap) && cap >= 1 ? Math.min(cap, est ? est.clips : n) : (est ? est.clips : n);
    if (est) {
      const parts = [`${plural(k, 'clip')} will start`, `about ${credits(k * est.creditsPerClip)} credits (${credits(est.creditsPerClip)} each)`];
      if (est.remainingCredits != null) parts.push(`${credits(est.remainingCredits)} credits left`);
      else if (est.note) parts.push(est.note);
      el.estimate.textContent = parts.join(' · ');
      const short = est.remainingCredits != null && k * est.creditsPerClip > est.remainingCredits;
      el.warn.hidden = !short;
      el.warn.textContent = short
        ? 'Kie.ai has fewer credits than this needs: start fewer clips, or choose Later… → when credits allow.'
        : '';
    }
    el.laterFields.hidden = !el.later.checked;
    ok.textContent = el.later.checked ? '⏰ Schedule' : `Start ${plural(k, 'clip')}`;
  };
  form.addEventListener('input', () => { el.error.hidden = true; refresh(); });
  form.addEventListener('change', refresh);
  form.addEventListener('keydown', (e) => {
    // Enter in the cap or the time means OK, as in any form.
    if (e.key === 'Enter' && e.target.matches('.num-input, .dt-input')) {
      e.preventDefault();
      ok.click();
    }
  });

  api.estimate(store.projectId).then((e) => { est = e; refresh(); }).catch((err) => {
    el.estimate.textContent = `${plural(n, 'clip')} will start · the cost is unknown: ${err.message}`;
  });

  const confirmed = confirmDialog({
    title: `Generate ${n} B-roll clip${n === 1 ? '' : 's'}?`,
    body: `Starts ${n === 1 ? 'the clip' : 'these clips'} with Veo 3 — each one uses generation credits. Scenes that are ready or already generating are left alone.`,
    list: pending.map((s) => `${s.sceneTitle} (${rangeLabel(s)})`),
    extra: form,
    okText: `Start ${plural(n, 'clip')}`,
    onOk: () => {
      const read = readForm(el);
      if (read.error) {
        el.error.textContent = read.error;
        el.error.hidden = false;
        read.field.focus();
        return false;
      }
      choice = read;
      return true;
    },
  });
  if (!(await confirmed) || !choice) return;
  if (choice.later) await scheduleBatch(choice);
  else await startBatch(choice.cap);
}

function startBatch(cap) {
  return guarded('all', async () => {
    await flushAllDrafts();
    const res = await api.generateAll(store.projectId, cap ? { maxClips: cap } : {});
    const started = (res && res.started) || [];
    const skipped = (res && res.skipped) || [];
    for (const s of started) mergeScene(s);
    const capped = skipped.filter((s) => /budget cap/i.test(s.reason || '')).length;
    const other = skipped.length - capped;
    let msg = `Started ${plural(started.length, 'clip')}`;
    if (capped) msg += ` · ${capped} held back by the cap`;
    if (other) msg += ` · ${other} skipped`;
    toast(`${msg}.`, 'success');
    return res;
  }, { label: 'Could not start all clips' });
}

function scheduleBatch({ cap, at, whenCreditsAllow }) {
  return guarded('schedule', async () => {
    await flushAllDrafts();
    const body = { whenCreditsAllow };
    if (at) body.at = at;
    if (cap) body.maxClips = cap;
    const sch = await api.setSchedule(store.projectId, body);
    setSchedule(sch);
    toast(`${scheduleLabel(sch)}.`, 'success');
    return sch;
  }, { label: 'Could not schedule Generate All' });
}

export function cancelSchedule() {
  return guarded('schedule', async () => {
    await api.clearSchedule(store.projectId);
    setSchedule(null);
    toast('Scheduled Generate All cancelled.', 'info', 2500);
    return true;
  }, { label: 'Could not cancel the scheduled Generate All' });
}
