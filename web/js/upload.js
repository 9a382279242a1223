// Uploads a voice-over or avatar file straight to the media bucket: the API hands out a
// presigned S3 POST for this project's folder (key, type and size fixed by its policy), the
// browser sends the file there with XMLHttpRequest (fetch has no upload progress), and then
// tells the API the key so the media worker probes it. The file never passes through a Lambda.

import { api, ApiError } from './api.js';

// The allowlist the server takes (models/domain.py MEDIA_TYPES), and the type a file
// without one (some systems leave File.type empty) gets from its extension.
const TYPES = {
  voiceover: {
    'audio/mpeg': 'mp3', 'audio/wav': 'wav', 'audio/x-wav': 'wav', 'audio/wave': 'wav', 'audio/mp4': 'm4a',
    'audio/x-m4a': 'm4a', 'audio/aac': 'aac', 'audio/ogg': 'ogg', 'audio/flac': 'flac',
  },
  avatar: { 'video/mp4': 'mp4', 'video/quicktime': 'mov', 'video/webm': 'webm' },
};
const BY_EXT = {
  voiceover: { mp3: 'audio/mpeg', wav: 'audio/wav', m4a: 'audio/mp4', aac: 'audio/aac', ogg: 'audio/ogg', flac: 'audio/flac' },
  avatar: { mp4: 'video/mp4', mov: 'video/quicktime', webm: 'video/webm' },
};
const ALLOWED = {
  voiceover: 'The voice-over must be an MP3, WAV, M4A, AAC, OGG or FLAC file.',
  avatar: 'The avatar video must be an MP4, MOV or WebM file.',
};

/** The content type to declare for `file`, or throws a sentence when it is off the list. */
export function contentTypeFor(kind, file) {
  const type = (file.type || '').toLowerCase();
  if (TYPES[kind][type]) return type;
  const ext = (file.name.split('.').pop() || '').toLowerCase();
  if (BY_EXT[kind][ext]) return BY_EXT[kind][ext];
  throw new ApiError(ALLOWED[kind]);
}

/** S3 answers errors as XML: its <Message> is the readable part. */
function s3Message(xhr) {
  const m = /<Message>([^<]+)<\/Message>/.exec(xhr.responseText || '');
  if (xhr.status === 0) return 'The upload could not reach the storage. Check your connection.';
  return `The storage refused the file${m ? `: ${m[1]}` : ` (${xhr.status})`}.`;
}

/** POSTs `file` to a presigned form: every policy field first, the file last (S3's rule). */
function postForm(grant, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(grant.fields || {})) form.append(k, v);
    form.append('file', file);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', grant.url);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable && onProgress) onProgress((e.loaded / e.total) * 100);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(new ApiError(s3Message(xhr), { status: xhr.status }));
    });
    xhr.addEventListener('error', () => reject(new ApiError(s3Message(xhr), { network: true })));
    xhr.send(form);
  });
}

/**
 * Uploads `file` as the project's `kind` ("voiceover" | "avatar") and hands it to the probe.
 * onProgress(percent) follows the bytes sent. Resolves with the project (media "probing").
 */
export async function uploadMedia(projectId, kind, file, onProgress) {
  const contentType = contentTypeFor(kind, file);
  if (!file.size) throw new ApiError('The file is empty.');
  const grant = await api.requestUpload(projectId, { kind, contentType, size: file.size });
  if (grant.maxBytes && file.size > grant.maxBytes) {
    throw new ApiError(`The file is too large: at most ${Math.floor(grant.maxBytes / 1048576)} MB.`);
  }
  if (onProgress) onProgress(0);
  await postForm(grant, file, onProgress);
  if (onProgress) onProgress(100);
  return api.setMedia(projectId, kind, { key: grant.key });
}

/**
 * The length in seconds of an audio file or URL, read by the browser from its metadata
 * (an <audio> element needs no CORS for that); null when the browser cannot tell.
 */
export function audioDuration(fileOrUrl, timeoutMs = 8000) {
  return new Promise((resolve) => {
    const isFile = typeof fileOrUrl !== 'string';
    const src = isFile ? URL.createObjectURL(fileOrUrl) : fileOrUrl;
    const el = document.createElement('audio');
    el.preload = 'metadata';
    let timer = null;
    const done = (value) => {
      clearTimeout(timer);
      el.removeAttribute('src');
      el.load();
      if (isFile) URL.revokeObjectURL(src);
      resolve(value);
    };
    el.addEventListener('loadedmetadata', () => done(Number.isFinite(el.duration) ? el.duration : null), { once: true });
    el.addEventListener('error', () => done(null), { once: true });
    timer = setTimeout(() => done(null), timeoutMs);
    el.src = src;
  });
}
