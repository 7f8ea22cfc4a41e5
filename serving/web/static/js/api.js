// The API with the sign-in header, and its errors (the OpenAI error envelope) as exceptions.
import * as auth from './auth.js';

export class ApiError extends Error {
  constructor(status, message, type) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

export async function request(path, { method = 'GET', json, body, signal, accept } = {}) {
  const headers = { ...auth.headers() };
  if (json !== undefined) headers['Content-Type'] = 'application/json';
  if (accept) headers.Accept = accept;
  const response = await fetch(path, {
    method, headers, signal, body: json !== undefined ? JSON.stringify(json) : body,
  });
  if (!response.ok) throw await failure(response);
  return response;
}

export async function api(path, options) {
  return (await request(path, options)).json();
}

export async function failure(response) {
  let message = response.statusText;
  let type = 'error';
  try {
    const body = await response.json();
    message = body.error?.message || message;
    type = body.error?.type || type;
  } catch { /* not JSON: keep the status text */ }
  if (response.status === 401) window.dispatchEvent(new Event('kb:signed-out'));
  return new ApiError(response.status, message, type);
}

// Server-sent events from a fetch response (EventSource cannot send the sign-in header).
export async function* events(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replaceAll('\r\n', '\n');
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) yield { event, data: data.join('\n') };
    }
  }
}

// An upload with its bytes' progress (fetch cannot report an upload's progress).
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    for (const [name, value] of Object.entries(auth.headers())) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener('progress', (e) => e.lengthComputable && onProgress(e.loaded / e.total));
    xhr.addEventListener('load', () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* keep null */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body?.error?.message || xhr.statusText, body?.error?.type));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'network error', 'network')));
    xhr.send(form);
  });
}

export const kbPath = (kb) => `/v1/knowledge-bases/${encodeURIComponent(kb)}`;
export const docPath = (kb, doc) => `${kbPath(kb)}/documents/${encodeURIComponent(doc)}`;
