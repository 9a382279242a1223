// The home view (no ?project=): the signed-in person's projects, newest change first, each with
// its thumbnail, clips ready, step-7 status and when it last changed; opening one is a plain
// link to ?project=ID. Rename, Duplicate and Delete act on a card; "New project" opens the
// dialog of newproject.js (imported on first use: most visits never need it).

import { api } from './api.js';
import { $, setText, setHidden } from './dom.js';
import { agoLabel } from './format.js';
import { initModals, confirmDialog } from './modal.js';
import { toast } from './toast.js';

const REFRESH_MS = 3000; // while some project's media is still being fetched
let projects = null;
let refreshTimer = null;
let loadError = '';

const MEDIA_BADGE = { fetching: ['fetching media…', 'is-fetching'], failed: ['media failed', 'is-failed'] };

function projectHref(id) {
  return `?project=${encodeURIComponent(id)}`;
}

function facts(p) {
  const n = p.sceneCount || 0;
  const status = p.step7Status === 'completed' ? '✅ Completed' : 'In progress';
  const changed = agoLabel(p.updatedAt);
  return [`${p.clipsReady || 0} of ${n} clip${n === 1 ? '' : 's'} ready`, status, changed && `changed ${changed}`]
    .filter(Boolean).join(' · ');
}

function thumb(p) {
  const a = document.createElement('a');
  a.className = 'project-thumb';
  a.href = projectHref(p.projectId);
  a.tabIndex = -1; // the title link is the one stop for keyboards and screen readers
  a.setAttribute('aria-hidden', 'true');
  if (p.thumbnailUrl) {
    const v = document.createElement('video');
    v.muted = true;
    v.preload = 'metadata';
    v.playsInline = true;
    v.dataset.testid = `project-thumb-${p.projectId}`;
    // #t=1: the frame a second in, not the (often black) first one.
    v.src = `${p.thumbnailUrl}#t=1`;
    a.append(v);
  } else {
    const span = document.createElement('span');
    span.className = 'thumb-placeholder';
    span.dataset.testid = `project-thumb-${p.projectId}`;
    span.textContent = '🎬';
    a.append(span);
  }
  return a;
}

function button(label, action, aria) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = `btn btn-xs ${action === 'delete' ? 'btn-danger-ghost' : 'btn-ghost'}`;
  b.dataset.action = action;
  b.textContent = label;
  b.setAttribute('aria-label', aria);
  return b;
}

function buildCard(p) {
  const li = document.createElement('li');
  li.className = 'project-card';
  li.dataset.projectId = p.projectId;
  li.dataset.testid = `project-card-${p.projectId}`;
  const info = document.createElement('div');
  info.className = 'project-info';
  const h = document.createElement('h3');
  h.className = 'project-title';
  const link = document.createElement('a');
  link.href = projectHref(p.projectId);
  link.dataset.testid = `project-link-${p.projectId}`;
  link.textContent = p.name || p.projectId;
  h.append(link);
  const meta = document.createElement('p');
  meta.className = 'project-facts';
  meta.dataset.testid = `project-facts-${p.projectId}`;
  meta.textContent = facts(p);
  info.append(h, meta);
  const badge = MEDIA_BADGE[p.media];
  if (badge) {
    const b = document.createElement('span');
    b.className = `badge media-badge ${badge[1]}`;
    b.dataset.testid = `project-media-${p.projectId}`;
    b.textContent = badge[0];
    info.append(b);
  }
  const actions = document.createElement('div');
  actions.className = 'project-actions';
  const name = p.name || p.projectId;
  actions.append(
    button('Rename', 'rename', `Rename “${name}”`),
    button('Duplicate', 'duplicate', `Duplicate “${name}”`),
    button('Delete', 'delete', `Delete “${name}”`),
  );
  li.append(thumb(p), info, actions);
  return li;
}

function render() {
  const list = $('project-list');
  const loading = projects === null && !loadError;
  setText($('home-state'), loadError ? `Could not load your projects: ${loadError}` : loading ? 'Loading your projects…' : '');
  setHidden($('home-state'), !loadError && !loading);
  $('home-state').classList.toggle('is-error', !!loadError);
  const items = projects || [];
  const empty = !!projects && !items.length;
  setHidden($('home-empty'), !empty);
  setHidden($('new-project'), empty); // the empty state offers its own, in the middle
  setHidden(list, !items.length);
  setText($('home-count'), items.length ? `${items.length} project${items.length === 1 ? '' : 's'}` : '');
  // Thumbnails are videos: rebuild a card only when what it shows changed, so they never reload.
  const existing = new Map([...list.children].map((li) => [li.dataset.projectId, li]));
  items.forEach((p, i) => {
    const sig = JSON.stringify([p.name, p.clipsReady, p.sceneCount, p.step7Status, p.updatedAt, p.media,
      (p.thumbnailUrl || '').split('?')[0]]);
    let li = existing.get(p.projectId);
    existing.delete(p.projectId);
    if (!li || li.dataset.sig !== sig) {
      const fresh = buildCard(p);
      if (li) li.replaceWith(fresh);
      li = fresh;
      li.dataset.sig = sig;
    }
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
  });
  for (const li of existing.values()) li.remove();
  $('home').setAttribute('aria-busy', loading ? 'true' : 'false');
}

async function load() {
  clearTimeout(refreshTimer);
  try {
    const got = await api.listProjects();
    projects = (got && got.projects) || [];
    loadError = '';
  } catch (err) {
    loadError = err.message;
  }
  render();
  if (projects && projects.some((p) => p.media === 'fetching')) refreshTimer = setTimeout(load, REFRESH_MS);
}

const byId = (id) => (projects || []).find((p) => p.projectId === id);

/** After a reload rebuilt the card, focus goes back to the button that was used. */
function focusAction(pid, action) {
  const btn = document.querySelector(`[data-testid="project-card-${CSS.escape(pid)}"] [data-action="${action}"]`);
  if (btn) btn.focus();
}

async function rename(p) {
  const field = document.createElement('label');
  field.className = 'field';
  field.innerHTML = '<span class="field-label">Name</span><input class="text-input" data-testid="rename-input" maxlength="200" autocomplete="off">'
    + '<span class="field-error" data-testid="rename-error" role="alert" hidden></span>';
  const input = field.querySelector('input');
  const err = field.querySelector('.field-error');
  input.value = p.name || '';
  let name = '';
  const ok = await confirmDialog({
    title: 'Rename project', extra: field, okText: 'Rename',
    onOk: () => {
      name = input.value.trim();
      if (name) return true;
      err.textContent = 'Give the project a name.';
      err.hidden = false;
      input.focus();
      return false;
    },
  });
  if (!ok || name === p.name) return;
  try {
    await api.renameProject(p.projectId, name);
    toast(`Renamed to “${name}”.`, 'success', 3000);
  } catch (e) {
    toast(`Could not rename the project: ${e.message}`);
  }
  await load();
  focusAction(p.projectId, 'rename');
}

async function duplicate(p) {
  try {
    const copy = await api.duplicateProject(p.projectId, {});
    toast(`Made “${(copy && copy.name) || 'a copy'}”: the shot instructions, prompts and style, no clips.`, 'success', 4000);
  } catch (e) {
    toast(`Could not duplicate the project: ${e.message}`);
  }
  await load();
  focusAction(p.projectId, 'duplicate');
}

async function remove(p) {
  const n = p.clipsReady || 0;
  const name = p.name || p.projectId;
  const ok = await confirmDialog({
    title: `Delete “${name}”?`,
    body: 'This cannot be undone. These go with it:',
    list: [
      `the project “${name}” (${p.sceneCount || 0} scenes, their shot instructions, prompts and history)`,
      `${n} clip${n === 1 ? '' : 's'}`,
      'the composite video and the Download All ZIP',
      'the voice-over and avatar video files',
    ],
    okText: 'Delete project', tone: 'danger',
  });
  if (!ok) return;
  try {
    await api.deleteProject(p.projectId);
    toast(`Deleted “${name}”.`, 'success', 3000);
  } catch (e) {
    toast(`Could not delete the project: ${e.message}`);
  }
  await load();
  document.getElementById('home-heading').focus(); // the card and its button are gone: keep focus in the page
}

async function newProject(e) {
  const { openNewProject } = await import('./newproject.js');
  openNewProject(e.currentTarget);
}

export async function startHome() {
  initModals();
  $('new-project').addEventListener('click', newProject);
  $('new-project-empty').addEventListener('click', newProject);
  $('project-list').addEventListener('click', (e) => {
    const btn = e.target.closest('button[data-action]');
    const li = btn && btn.closest('.project-card');
    const p = li && byId(li.dataset.projectId);
    if (!p) return;
    if (btn.dataset.action === 'rename') rename(p);
    else if (btn.dataset.action === 'duplicate') duplicate(p);
    else if (btn.dataset.action === 'delete') remove(p);
  });
  document.title = 'Your projects · B-Roll Studio';
  render();
  await load();
}
