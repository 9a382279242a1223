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
import { rangeLabel, credits, scheduleLabel, plural, remainingLabel } from './format.js';

const MAX_CLIPS = 60;
const MAX_AHEAD_MS = 30 * 86400 * 1000;

const FORM = `
  <p class="estimate" data-testid="generate-all-estimate" aria-live="polite">Checking the cost…</p>
  <p class="estimate-warn" data-testid="generate-all-warning" hidden></p>
  <label class="inline-field">Start at most
    <input type="number" class="num-input" data-testid="generate-all-max" min="1" step="1" inputmode="numeric">
    clips <span class="hint">(a scene's clips start together)</span></label>
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

/** Clips (Kie tasks, credits) a scene's next generation makes, as the server counts them
 * (plan.clips_to_make): a sub-shot plan still in force keeps its finished sub-shots. */
function clipsOf(scene) {
  const planned = scene.plannedShots || 1;
  const shots = scene.plan || [];
  return shots.length > 1 && shots.length === planned ? shots.filter((x) => x.status !== 'ready').length : planned;
}

/** What starts under a clip limit: whole scenes in timeline order up to the first that does not
 * fit (the server's rule for the cap and for the credits left). */
function within(counts, limit) {
  let scenes = 0;
  let clips = 0;
  for (const c of counts) {
    if (clips + c > limit) break;
    scenes += 1;
    clips += c;
  }
  return { scenes, clips };
}

function buildForm(clips) {
  const form = document.createElement('div');
  form.className = 'batch-form';
  form.innerHTML = FORM;
  const q = (id) => form.querySelector(`[data-testid="${id}"]`);
  const el = {
    estimate: q('generate-all-estimate'), warn: q('generate-all-warning'), max: q('generate-all-max'),
    later: q('generate-all-later'), laterFields: q('later-fields'), at: q('schedule-at'),
    credits: q('schedule-when-credits'), error: q('generate-all-error'),
  };
  el.max.max = String(MAX_CLIPS);
  el.max.placeholder = String(clips);
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
      return { error: `“Start at most” takes a whole number of clips from 1 to ${MAX_CLIPS}.`, field: el.max };
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

/** The batch the dialog describes: {scenes, clips} of all, what starts, and why fewer do. */
function batchOf(counts, est, cap) {
  const all = {
    scenes: (est && est.scenes) || counts.length,
    clips: est ? est.clips : counts.reduce((a, b) => a + b, 0),
  };
  // remainingSource is set once the remaining credits are known: then startableClips is what they cover.
  const afford = est && est.remainingSource ? est.startableClips : Infinity;
  const wanted = Math.min(cap == null ? Infinity : cap, all.clips);
  const short = afford < wanted;
  if (Math.min(wanted, afford) >= all.clips) return { all, start: all, short };
  // Only the credits hold it back: the server's count of what fits; else whole scenes under the cap.
  const start = cap == null ? { scenes: est.startableScenes, clips: afford } : within(counts, Math.min(wanted, afford));
  return { all, start, short };
}

/** "2 scenes · 3 clips", or "1 of 2 scenes · 2 of 3 clips" when fewer start. */
function counted(start, all) {
  const part = (n, of, word) => (n === of ? plural(n, word) : `${n} of ${plural(of, word)}`);
  return `${part(start.scenes, all.scenes, 'scene')} · ${part(start.clips, all.clips, 'clip')}`;
}

/** The estimate line: what starts, its price (and Kie's measured mean), what is left. */
function costLine(est, p) {
  const price = est.price || {};
  const measured = price.measured != null
    ? ` (measured: ${credits(price.measured)} per clip over ${plural(price.samples, 'clip')})` : '';
  const parts = [`${counted(p.start, p.all)} · about ${credits(p.start.clips * est.creditsPerClip)} credits (${credits(est.creditsPerClip)} each)${measured}`];
  // The note says why the credits left are unknown; a cap they make is said by warning(), in local terms.
  if (est.remainingCredits != null) parts.push(remainingLabel(est.remainingCredits, est.remainingSource));
  else if (est.note) parts.push(est.note);
  return parts.join(' · ');
}

/** Said before Start: the credits left cover fewer clips than asked for, or a cap no scene fits in. */
function warning(est, p, counts) {
  if (p.short && !p.start.clips) {
    return `None of the ${plural(p.all.clips, 'clip')} fit in what is left (${remainingLabel(est.remainingCredits, est.remainingSource)}): `
      + 'choose Later… → when credits allow, or try again tomorrow.';
  }
  if (p.short) {
    return `Only ${p.start.clips} of ${plural(p.all.clips, 'clip')} fit in what is left; Start will begin those ${p.start.clips}.`;
  }
  if (!p.start.clips && counts.length) {
    return `The first scene needs ${plural(counts[0], 'clip')}: raise “Start at most” to start it.`;
  }
  return '';
}

export async function generateAll() {
  if (isBusy('all')) return;
  const pending = pendingScenes();
  if (!pending.length) {
    toast('Every scene already has a clip or is generating.', 'info');
    return;
  }
  const counts = pending.map(clipsOf);
  const { form, el } = buildForm(counts.reduce((a, b) => a + b, 0));
  const ok = document.querySelector('[data-testid="confirm-ok"]');
  let est = null;
  let choice = null;

  const refresh = () => {
    if (!form.isConnected) return; // the dialog moved on (an estimate that came back late)
    const raw = Number(el.max.value);
    const p = batchOf(counts, est, el.max.value.trim() && Number.isInteger(raw) && raw >= 1 ? raw : null);
    const warn = est ? warning(est, p, counts) : '';
    if (est) el.estimate.textContent = costLine(est, p);
    el.warn.hidden = !warn;
    el.warn.textContent = warn;
    el.laterFields.hidden = !el.later.checked;
    const later = el.later.checked;
    const of = p.start.clips < p.all.clips ? ` of ${p.all.clips}` : '';
    ok.textContent = later ? '⏰ Schedule' : `Start ${p.start.clips}${of} clip${p.all.clips === 1 ? '' : 's'}`;
    // Nothing affordable (or nothing under the cap): Start would start nothing; Later… still can.
    ok.disabled = !later && !!est && !p.start.clips;
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
    const { all } = batchOf(counts, null, null);
    el.estimate.textContent = `${counted(all, all)} · the cost is unknown: ${err.message}`;
  });

  const n = pending.length;
  const confirmed = confirmDialog({
    title: `Generate B-roll for ${plural(n, 'scene')}?`,
    body: 'Each clip is made with Veo 3 and uses generation credits; a long scene takes several clips. Scenes that are ready or already generating are left alone.',
    list: pending.map((s, i) => `${s.sceneTitle} (${rangeLabel(s)})${counts[i] > 1 ? ` · ${counts[i]} clips` : ''}`),
    extra: form,
    okText: 'Start',
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
  refresh();
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
    const count = (re) => skipped.filter((s) => re.test(s.reason || '')).length;
    const capped = count(/budget cap/i);
    const poor = count(/not enough credits/i);
    const other = skipped.length - capped - poor;
    const clips = started.reduce((sum, s) => sum + clipsOf(s), 0);
    let msg = `Started ${plural(started.length, 'scene')} (${plural(clips, 'clip')})`;
    if (capped) msg += ` · ${plural(capped, 'scene')} held back by the cap`;
    if (poor) msg += ` · ${plural(poor, 'scene')} left for lack of credits`;
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
