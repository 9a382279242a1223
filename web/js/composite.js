// "Render video": one composite — the avatar video with the ready clips cut in by the chosen
// layout (renderdialog.js) — rendered by the API in the background. The poller follows it
// through the project read (it carries `render`); ▶ plays the result in the fullscreen modal.

import { api } from './api.js';
import { store, renderState, setRender } from './state.js';
import { guarded } from './actions.js';
import { openVideoModal } from './modal.js';
import { kick } from './poller.js';
import { toast } from './toast.js';

export function startRender() {
  return guarded('render', async () => {
    const res = await api.startRender(store.projectId);
    if (res && res.render) setRender(res.render);
    kick();
    return res;
  }, { label: 'Could not render the video' });
}

/** "Render Video": the render dialog (its module is fetched on the first click). */
export async function openRender(opener) {
  try {
    const { openRenderDialog } = await import('./renderdialog.js');
    openRenderDialog(opener);
  } catch (err) {
    toast(`Could not open the render settings: ${err.message}`, 'error');
  }
}

export function playComposite(opener) {
  const r = renderState();
  if (!r.videoUrl) return;
  const name = (store.project && (store.project.name || store.project.projectId)) || '';
  openVideoModal(r.videoUrl, `Composite${r.outOfDate ? ' (out of date)' : ''} · ${name}`, opener);
}
