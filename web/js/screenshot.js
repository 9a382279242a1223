// "Save Screenshot": draws the timeline and the script, as shown on the page, onto a canvas
// with our own small renderer and downloads it as <projectId>-timeline.png.

import { TYPE_LABEL, sceneType, rangeLabel, sceneDuration, seconds, pct, cardStatusText, STATUS_COLORS } from './format.js';

const W = 1200;
const PAD = 40;
const FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
const C = {
  bg: '#0f1320', card: '#171c2c', cardSel: '#1d2540', border: '#2a3147', text: '#e8ebf4',
  muted: '#9aa3b8', faint: '#6b7489', accent: '#7c8cff',
  type: { hook: '#b58cff', main: '#5aa9ff', cta: '#ff8a5b', other: '#4fd1c5' },
};

function font(size, weight = 400) {
  return `${weight} ${size}px ${FONT}`;
}

function wrap(ctx, text, maxWidth) {
  const lines = [];
  for (const para of String(text || '').split('\n')) {
    const words = para.split(/\s+/).filter(Boolean);
    let line = '';
    for (const w of words) {
      const test = line ? `${line} ${w}` : w;
      if (ctx.measureText(test).width > maxWidth && line) {
        lines.push(line);
        line = w;
      } else line = test;
    }
    lines.push(line);
  }
  return lines;
}

function roundRect(ctx, x, y, w, h, r) {
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}

const GLYPH = { hook: 'H', main: 'M', cta: 'C', other: 'S' };

/** Lays out (measure=true) or draws the picture; returns its height. */
function paint(ctx, state, draw) {
  const p = state.project;
  const scenes = p.scenes || [];
  const total = (p.audio && p.audio.durationSec) || scenes.reduce((m, s) => Math.max(m, s.timeRange ? s.timeRange.end : 0), 0) || 1;
  let y = PAD;
  const inner = W - PAD * 2;

  // Header
  if (draw) {
    ctx.fillStyle = C.accent;
    ctx.font = font(13, 600);
    ctx.fillText('B-ROLL STUDIO · STAGE 7: FINAL EXPORT & B-ROLL GENERATION', PAD, y + 12);
    ctx.fillStyle = C.text;
    ctx.font = font(28, 700);
    ctx.fillText(p.name || p.projectId, PAD, y + 48);
    ctx.font = font(14);
    ctx.fillStyle = C.muted;
    const ready = scenes.filter((s) => s.status === 'completed').length;
    const meta = `${scenes.length} scenes · ${seconds(total)} · ${ready}/${scenes.length} clips ready${p.step7 && p.step7.status === 'completed' ? ' · ✅ Completed' : ''}`;
    ctx.fillText(meta, PAD, y + 74);
    ctx.textAlign = 'right';
    ctx.fillStyle = C.faint;
    ctx.fillText(new Date().toLocaleString(), W - PAD, y + 12);
    ctx.textAlign = 'left';
  }
  y += 100;

  // Ribbon
  if (draw) {
    let x = PAD;
    const gap = 4;
    const usable = inner - gap * (scenes.length - 1);
    const weights = scenes.map((s) => Math.max(sceneDuration(s), total * 0.04));
    const sum = weights.reduce((a, b) => a + b, 0) || 1;
    scenes.forEach((s, i) => {
      const w = (weights[i] / sum) * usable;
      roundRect(ctx, x, y, w, 30, 6);
      ctx.fillStyle = '#232a3f';
      ctx.fill();
      const color = STATUS_COLORS[s.status] || STATUS_COLORS.idle;
      const fillW = s.status === 'generating' ? (w * pct(s)) / 100 : s.status === 'idle' ? 0 : w;
      if (fillW > 0) {
        ctx.save();
        roundRect(ctx, x, y, w, 30, 6);
        ctx.clip();
        ctx.globalAlpha = 0.35;
        ctx.fillStyle = color;
        ctx.fillRect(x, y, fillW, 30);
        ctx.restore();
      }
      if (s.sceneId === state.selectedId) {
        roundRect(ctx, x + 0.5, y + 0.5, w - 1, 29, 6);
        ctx.strokeStyle = C.accent;
        ctx.lineWidth = 2;
        ctx.stroke();
      }
      ctx.fillStyle = C.text;
      ctx.font = font(12, 600);
      ctx.fillText(rangeLabel(s), x + 10, y + 20, w - 16);
      x += w + gap;
    });
  }
  y += 50;

  // Scene rows
  const rowTextW = inner - 32 - 48 - 260;
  for (const s of scenes) {
    ctx.font = font(14);
    const lines = wrap(ctx, s.text || '', rowTextW).slice(0, 3);
    const h = Math.max(84, 64 + lines.length * 20);
    if (draw) {
      const sel = s.sceneId === state.selectedId;
      roundRect(ctx, PAD, y, inner, h, 12);
      ctx.fillStyle = sel ? C.cardSel : C.card;
      ctx.fill();
      ctx.strokeStyle = sel ? C.accent : C.border;
      ctx.lineWidth = sel ? 2 : 1;
      ctx.stroke();
      // status stripe
      ctx.save();
      roundRect(ctx, PAD, y, inner, h, 12);
      ctx.clip();
      ctx.fillStyle = STATUS_COLORS[s.status] || STATUS_COLORS.idle;
      ctx.fillRect(PAD, y, 4, h);
      ctx.restore();
      // icon
      const type = sceneType(s);
      ctx.beginPath();
      ctx.arc(PAD + 36, y + 34, 18, 0, Math.PI * 2);
      ctx.fillStyle = C.type[type];
      ctx.globalAlpha = 0.18;
      ctx.fill();
      ctx.globalAlpha = 1;
      ctx.fillStyle = C.type[type];
      ctx.font = font(15, 700);
      ctx.textAlign = 'center';
      ctx.fillText(GLYPH[type], PAD + 36, y + 39);
      ctx.textAlign = 'left';
      // titles
      const tx = PAD + 68;
      ctx.fillStyle = C.type[type];
      ctx.font = font(11, 700);
      ctx.fillText(TYPE_LABEL[type].toUpperCase(), tx, y + 24);
      ctx.fillStyle = C.text;
      ctx.font = font(17, 650);
      ctx.fillText(s.sceneTitle || s.sceneId, tx, y + 45);
      ctx.fillStyle = C.muted;
      ctx.font = font(14);
      lines.forEach((ln, i) => ctx.fillText(ln, tx, y + 68 + i * 20));
      // right side: time + status
      const rx = W - PAD - 20;
      ctx.textAlign = 'right';
      ctx.fillStyle = C.text;
      ctx.font = font(15, 600);
      ctx.fillText(`${rangeLabel(s)}  ·  ${seconds(sceneDuration(s))}`, rx, y + 28);
      const status = s.status === 'generating' ? `⏳ Generating… ${pct(s)} %` : cardStatusText(s);
      ctx.fillStyle = STATUS_COLORS[s.status] || C.muted;
      ctx.font = font(14, 600);
      const statusLines = wrap(ctx, status, 250).slice(0, 2);
      statusLines.forEach((ln, i) => ctx.fillText(ln, rx, y + 52 + i * 18));
      ctx.textAlign = 'left';
    }
    y += h + 12;
  }

  // Script
  y += 16;
  if (draw) {
    ctx.fillStyle = C.text;
    ctx.font = font(20, 700);
    ctx.fillText('Script', PAD, y + 8);
  }
  y += 30;
  ctx.font = font(16);
  const paras = String(p.script || '').split(/\n{2,}/);
  for (const para of paras) {
    const lines = wrap(ctx, para.replace(/\n/g, ' '), inner);
    if (draw) {
      ctx.fillStyle = C.text;
      ctx.font = font(16);
      lines.forEach((ln, i) => ctx.fillText(ln, PAD, y + 16 + i * 25));
    }
    y += lines.length * 25 + 14;
  }
  return y + PAD;
}

export function renderTimelineCanvas(state, scale = Math.min(2, Math.max(1, window.devicePixelRatio || 1))) {
  const measure = document.createElement('canvas').getContext('2d');
  const h = Math.ceil(paint(measure, state, false));
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(W * scale);
  canvas.height = Math.round(h * scale);
  const ctx = canvas.getContext('2d');
  ctx.scale(scale, scale);
  ctx.fillStyle = C.bg;
  ctx.fillRect(0, 0, W, h);
  ctx.textBaseline = 'alphabetic';
  paint(ctx, state, true);
  return canvas;
}

export async function saveScreenshot(state) {
  if (!state.project) throw new Error('The project is not loaded yet.');
  const canvas = renderTimelineCanvas(state, 2);
  const blob = await new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('The browser could not create the image.'))), 'image/png'));
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = `${state.projectId}-timeline.png`;
  a.dataset.testid = 'screenshot-link';
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  setTimeout(() => { a.remove(); URL.revokeObjectURL(href); }, 10000);
  return blob;
}
