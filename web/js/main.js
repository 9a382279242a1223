// Entry point: reads config, finishes a sign-in, then routes. ?project=ID opens the studio;
// no project named opens the home view (the person's projects and "New project"). Each view
// is its own module, imported only when shown, so neither pays for the other's code.

import { loadConfig } from './api.js';
import { finishSignIn } from './auth.js';
import { initUserSwitcher } from './userswitch.js';

function projectIdFromUrl() {
  const id = new URLSearchParams(window.location.search).get('project');
  return id && id.trim() ? id.trim() : null;
}

function showView(view) {
  document.body.classList.toggle('view-home', view === 'home');
  document.body.classList.toggle('view-studio', view === 'studio');
}

async function boot() {
  // Decide the view before anything loads, so the home view never flashes the studio's skeleton.
  // A hosted sign-in's return (?code=) is decided again once finishSignIn has put the path back.
  if (!/[?&](code|state|error)=/.test(location.search)) showView(projectIdFromUrl() ? 'studio' : 'home');
  await loadConfig();
  // Back from the hosted sign-in at the site root (?code=&state=): this puts back the path and
  // query the person opened (?project=…), so the project is read from the URL only after it.
  await finishSignIn();
  initUserSwitcher();
  const projectId = projectIdFromUrl();
  showView(projectId ? 'studio' : 'home');
  if (projectId) {
    const { startStudio } = await import('./studio.js');
    await startStudio(projectId);
  } else {
    const { startHome } = await import('./home.js');
    await startHome();
  }
}

boot();
