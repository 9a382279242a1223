// "Render video": one composite — the avatar video with every ready clip cut in over its
// scene — rendered by the API in the background. The poller follows it through the project
// read (it carries `render`); ▶ plays the result in the fullscreen video modal.

import { api } from './api.js';
import { store, renderState, setRender } from './state.js';
import { guarded } from './actions.js';
import { openVideoModal } from './modal.js';
import { kick } from './poller.js';

export function startRender() {
  return guarded('render', async () => {
    const res = await api.startRender(store.projectId);
    if (res && res.render) setRender(res.render);
    kick();
    return res;
  }, { label: 'Could not render the video' });
}

export function playComposite(opener) {
  const r = renderState();
  if (!r.videoUrl) return;
  const name = (store.project && (store.project.name || store.project.projectId)) || '';
  openVideoModal(r.videoUrl, `Composite${r.outOfDate ? ' (out of date)' : ''} · ${name}`, opener);
}
