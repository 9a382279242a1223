// Shared labels, icons and formatting (used by the page and by the screenshot renderer).

export const TYPE_LABEL = { hook: 'Hook', main: 'Main', cta: 'Call to action', other: 'Scene' };

// 24×24 stroke icons, one per sceneType.
const PATHS = {
  hook: '<path d="M13 2 4 14h7l-1 8 9-12h-7z"/>',
  main: '<rect x="3" y="5" width="18" height="14" rx="2"/><path d="M7 5v14M17 5v14M3 9.5h4M3 14.5h4M17 9.5h4M17 14.5h4"/>',
  cta: '<path d="M3 10v4a1 1 0 0 0 1 1h3l6 4V5L7 9H4a1 1 0 0 0-1 1z"/><path d="M16.5 8.5a5 5 0 0 1 0 7M19.5 5.5a9 9 0 0 1 0 13"/>',
  other: '<path d="M12 3l2.6 5.9L21 9.7l-4.8 4.3 1.4 6.3L12 17l-5.6 3.3 1.4-6.3L3 9.7l6.4-.8z"/>',
};

export function sceneType(scene) {
  return PATHS[scene && scene.sceneType] ? scene.sceneType : 'other';
}

export function iconSvg(type) {
  return `<svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" stroke-width="1.9" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${PATHS[type] || PATHS.other}</svg>`;
}

function mmss(t) {
  const s = Math.max(0, Math.floor(Number(t) || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function rangeLabel(scene) {
  const tr = scene && scene.timeRange;
  if (!tr) return '';
  return tr.label || `${mmss(tr.start)}–${mmss(tr.end)}`;
}

export function sceneDuration(scene) {
  const tr = scene && scene.timeRange;
  return tr ? Math.max(0, (tr.end || 0) - (tr.start || 0)) : 0;
}

export function seconds(n) {
  return `${(Number(n) || 0).toFixed(1)} s`;
}

export function pct(scene) {
  return Math.max(0, Math.min(100, Math.round(Number(scene.progress) || 0)));
}

/** Status text shown on a timeline card (data-testid scene-status-<id>). */
export function cardStatusText(scene) {
  switch (scene.status) {
    case 'generating': return waitingText(scene) ? `⏳ ${waitingText(scene)}` : `⏳ Generating… ${pct(scene)} %`;
    case 'completed': return '✅ Ready';
    case 'failed': return `❌ Failed: ${scene.error || 'unknown error'}`;
    default: return 'No clip yet';
  }
}

export const STATUS_COLORS = {
  idle: '#5b6478',
  generating: '#f5a524',
  completed: '#2fbf71',
  failed: '#f0524f',
};

/* ---------- credits & scheduled Generate All ---------- */

/** plural(1, 'clip') → "1 clip"; plural(3, 'scene') → "3 scenes". */
export function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** 10000 → "10,000"; 80.5 → "80.5". */
export function credits(n) {
  return (Number(n) || 0).toLocaleString('en-US', { maximumFractionDigits: 1 });
}

// The person's own clock (their locale and time zone): every time on the page is local.
function clock(d) {
  return d.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
}

const NOTHING_CHARGED = 'starts by itself, nothing charged yet.';

/** A generating scene queued because of Kie.ai (scene.waiting), as a sentence with the time
 * in local time; the server's statusNote (no clock time) when the reason is unknown; '' when
 * the scene is not waiting. */
export function waitingText(scene) {
  if (!scene || scene.status !== 'generating') return '';
  const w = scene.waiting;
  if (w && (w.reason === 'rate_limited' || w.reason === 'busy')) return `Waiting for a free Kie.ai slot; ${NOTHING_CHARGED}`;
  if (w && w.reason === 'kie_down' && Number.isFinite(w.since)) {
    return `Waiting for Kie.ai (down since ${clock(new Date(w.since * 1000))}); ${NOTHING_CHARGED}`;
  }
  return scene.statusNote || '';
}

/** The line of a scene whose cancelled clips Kie.ai is still making (scene.lateClips); '' when none. */
export function lateText(scene) {
  const n = (scene && Number(scene.lateClips)) || 0;
  if (n <= 0) return '';
  return n === 1
    ? '1 cancelled clip is still being made at Kie.ai; it lands in History when done.'
    : `${n} cancelled clips are still being made at Kie.ai; they land in History when done.`;
}

/** Estimate.remainingCredits as its source says it: a system-key user's quota, or their own key's balance. */
export function remainingLabel(left, source) {
  if (source === 'daily_quota') return `your daily quota: ${credits(left)} credits left`;
  if (source === 'kie_balance') return `${credits(left)} credits left on your Kie.ai key`;
  return `${credits(left)} credits left`;
}

/** Project.spend in one line ('' before the first clip): "Spent: about 240 credits estimated · 232 charged (3 clips)". */
export function spendLabel(spend) {
  const n = (spend && spend.clips) || 0;
  if (!n) return '';
  const est = `Spent: about ${credits(spend.estimatedCredits)} credits estimated`;
  const charged = spend.chargedClips || 0;
  if (charged === n) return `${est} · ${credits(spend.chargedCredits)} charged (${plural(n, 'clip')})`;
  // Kie reports a charge after the clip, and not always: say how many are known.
  if (charged) return `${est} (${plural(n, 'clip')}) · ${credits(spend.chargedCredits)} charged for ${charged} so far`;
  return `${est} (${plural(n, 'clip')}) · no charge reported yet`;
}

/** Project.quota (system-key users only) in one line; '' for none. */
export function quotaLabel(quota) {
  if (!quota) return '';
  return `Daily quota: ${credits(quota.left)} of ${credits(quota.dailyCredits)} credits left · resets ${whenLabel(quota.resetsAt)}`;
}

/** An ISO time as the person reads it: "14:05", "tomorrow 09:30", "Tue 3 Dec 14:05". */
export function whenLabel(iso, now = new Date()) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso || '');
  if (d.toDateString() === now.toDateString()) return clock(d);
  const tomorrow = new Date(now);
  tomorrow.setDate(now.getDate() + 1);
  if (d.toDateString() === tomorrow.toDateString()) return `tomorrow ${clock(d)}`;
  return `${d.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' })} ${clock(d)}`;
}

/** The bottom bar's line for a schedule {at, whenCreditsAllow, maxClips}. */
export function scheduleLabel(sch) {
  const cap = sch.maxClips ? ` · at most ${plural(sch.maxClips, 'clip')}` : '';
  if (sch.at) {
    const due = new Date(sch.at).getTime() <= Date.now();
    const when = due ? 'is due — starts within 5 min' : `scheduled for ${whenLabel(sch.at)}`;
    return `Generate All ${when}${sch.whenCreditsAllow ? ' (when credits allow)' : ''}${cap}`;
  }
  return `Generate All waits until credits allow${cap}`;
}

/* ---------- prompts, history & style ---------- */

/** Who wrote a prompt: "Written by Claude" / "Local composer" / "Written by you"; '' when unknown. */
export function promptSourceLabel(src) {
  return { claude: 'Written by Claude', local: 'Local composer', person: 'Written by you' }[src] || '';
}

/** A history entry's kind as a short heading. */
export const HISTORY_KIND = {
  prompt: '✍ Prompt written',
  generation: '🎬 Sent to Kie.ai',
  clip: '🎞 Clip',
  failed: '❌ Failed',
  rewrite: '♻ Prompt rewritten',
  cancelled: '⏹ Cancelled',
  selected: '↩ Earlier clip chosen',
};

/** The style lock in one line: "film noir · teal and orange · 35 mm · 1970s · seed 12345"; '' for none. */
export function styleSummary(style) {
  if (!style) return '';
  const parts = ['look', 'colour', 'lens', 'era'].map((k) => (style[k] || '').trim()).filter(Boolean);
  if (style.seed != null) parts.push(`seed ${style.seed}`);
  return parts.join(' · ');
}

/* ---------- projects and their media (issue 14) ---------- */

/** "just now", "5 min ago", "3 h ago", "2 days ago", then the date. */
export function agoLabel(iso, now = Date.now()) {
  if (!iso) return ''; // unknown (new Date(null) would say 1970)
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '';
  const min = Math.floor((now - t) / 60000);
  if (min < 1) return 'just now';
  if (min < 60) return `${min} min ago`;
  const h = Math.floor(min / 60);
  if (h < 24) return `${h} h ago`;
  const d = Math.floor(h / 24);
  if (d < 7) return `${d} day${d === 1 ? '' : 's'} ago`;
  return new Date(t).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
}

/** A MediaView as one line: "fetching media…", "checking the file…", "✓ 6.0 s · 720×1280 · 9:16", "❌ why". */
export function mediaLine(m) {
  if (!m) return '';
  switch (m.status) {
    case 'fetching': return '⏳ Fetching media…';
    case 'probing': return '⏳ Checking the file…';
    case 'failed': return `❌ ${m.error || 'The file could not be used.'}`;
    case 'ready': {
      const parts = [];
      if (m.durationSec != null) parts.push(seconds(m.durationSec));
      if (m.width && m.height) parts.push(`${m.width}×${m.height}`);
      if (m.aspect) parts.push(m.aspect);
      return `✓ Ready${parts.length ? ` · ${parts.join(' · ')}` : ''}`;
    }
    default: return '';
  }
}
