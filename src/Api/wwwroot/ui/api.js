// Calls to the service's API from the pages: the X-Api-Key (when the service has keys) is kept in
// this browser's localStorage and sent with every call; a 401 asks the person for a key.
const KEY = 'dsconv.apiKey';

export const apiKey = {
  get: () => localStorage.getItem(KEY),
  set: (k) => localStorage.setItem(KEY, k),
  clear: () => localStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export async function api(path, init = {}) {
  const headers = new Headers(init.headers || {});
  const key = apiKey.get();
  if (key) headers.set('X-Api-Key', key);
  const response = await fetch(path, { ...init, headers });
  if (!response.ok) {
    let problem = null;
    try { problem = await response.json(); } catch { /* not JSON */ }
    if (response.status === 401) askForKey(problem);
    throw new ApiError(response.status, problem);
  }
  return response;
}

export const json = async (path, init) => (await api(path, init)).json();

// Shows the key form (present on every page) and reloads once a key is given.
export function askForKey(problem) {
  const panel = document.getElementById('key-panel');
  if (!panel || !panel.hidden) return;
  panel.hidden = false;
  const message = panel.querySelector('.key-message');
  if (message) {
    message.textContent = apiKey.get()
      ? 'This key was refused: ' + (problem?.detail || 'unknown key') + ' Enter another one.'
      : 'This service needs an API key. Enter yours; it is kept in this browser only.';
  }
  panel.querySelector('form').addEventListener('submit', (e) => {
    e.preventDefault();
    const value = panel.querySelector('input').value.trim();
    if (value) { apiKey.set(value); location.reload(); }
  }, { once: true });
}

// The "forget key" control of the header.
export function wireKeyStatus() {
  const status = document.getElementById('key-status');
  if (!status) return;
  const key = apiKey.get();
  status.hidden = !key;
  status.querySelector('button').addEventListener('click', () => { apiKey.clear(); location.reload(); });
}

// Downloads through fetch so that the key header goes along; the file is then saved by the browser.
export async function download(path, fallbackName) {
  const response = await api(path);
  const disposition = response.headers.get('Content-Disposition') || '';
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = match ? decodeURIComponent(match[1]) : fallbackName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function problemText(error) {
  const p = error.problem;
  if (!p) return error.message;
  const errors = Array.isArray(p.errors) ? ' ' + p.errors.join(' ') : '';
  return `${p.title || 'Error'}: ${p.detail || ''}${errors}`;
}

export const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};
