import { api, json, el, problemText, wireKeyStatus, ApiError } from '/ui/api.js';

const form = document.getElementById('upload');
const $ = (id) => document.getElementById(id);
const numberFields = ['weightBits', 'blockSize', 'activationBits'];
const preprocessingNumbers = ['width', 'height', 'scale'];

wireKeyStatus();

// The form starts from the options the service would infer for the chosen model.
$('model').addEventListener('change', async () => {
  const file = $('model').files[0];
  if (!file) return;
  $('defaults-status').textContent = `Reading ${file.name}…`;
  const body = new FormData();
  body.append('model', file);
  try {
    const o = await json('/quantize/defaults', { method: 'POST', body });
    for (const f of numberFields) $('opt-' + f).value = o[f];
    $('opt-kds').value = o.kds;
    $('opt-adapt').checked = o.adapt;
    $('opt-task').value = o.task;
    const p = o.preprocessing;
    for (const f of preprocessingNumbers) $('opt-' + f).value = p[f];
    $('opt-resize').value = p.resize;
    $('opt-colorMode').value = p.colorMode;
    $('opt-mean').value = p.mean.join(', ');
    $('opt-std').value = p.std.join(', ');
    $('defaults-status').textContent = `Defaults for ${file.name}: ${p.width}×${p.height} ${p.colorMode}, ${o.task === 'features' ? 'a feature model (its output is not class scores)' : 'a classifier'}. Change what you need.`;
    $('defaults-status').dataset.model = file.name;
  } catch (e) {
    $('defaults-status').textContent = 'This model cannot be used: ' + problemText(e);
  }
});

function numbers(text) {
  return text.split(/[\s,]+/).filter((s) => s.length > 0).map(Number);
}

function options() {
  const o = {};
  for (const f of numberFields) if ($('opt-' + f).value !== '') o[f] = Number($('opt-' + f).value);
  o.kds = $('opt-kds').value;
  o.adapt = $('opt-adapt').checked;
  if ($('opt-task').value) o.task = $('opt-task').value;
  const p = {};
  for (const f of preprocessingNumbers) if ($('opt-' + f).value !== '') p[f] = Number($('opt-' + f).value);
  if ($('opt-resize').value) p.resize = $('opt-resize').value;
  if ($('opt-colorMode').value) p.colorMode = $('opt-colorMode').value;
  if ($('opt-mean').value.trim()) p.mean = numbers($('opt-mean').value);
  if ($('opt-std').value.trim()) p.std = numbers($('opt-std').value);
  if (Object.keys(p).length > 0) o.preprocessing = p;
  return o;
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = new FormData();
  for (const name of ['model', 'calibration', 'evaluation', 'labels']) {
    const file = $(name).files[0];
    if (file) body.append(name, file);
  }
  body.append('options', JSON.stringify(options()));
  $('submit').disabled = true;
  $('submit-error').hidden = true;
  $('submit-status').textContent = 'Uploading…';
  try {
    const job = await json('/quantize', { method: 'POST', body });
    $('submit-status').textContent = `Job ${job.id} queued.`;
    refresh();
  } catch (err) {
    $('submit-status').textContent = '';
    $('submit-error').textContent = problemText(err);
    $('submit-error').hidden = false;
  } finally {
    $('submit').disabled = false;
  }
});

const active = (status) => status === 'queued' || status === 'running';

function row(job) {
  const actions = el('td', { className: 'actions' });
  actions.append(el('a', { href: `/ui/jobs/${job.id}`, className: 'open', textContent: job.status === 'succeeded' ? 'report' : 'open' }));
  const button = el('button', { type: 'button', className: active(job.status) ? 'cancel' : 'delete', textContent: active(job.status) ? 'cancel' : 'delete' });
  button.addEventListener('click', async () => {
    button.disabled = true;
    try { await api(`/jobs/${job.id}`, { method: 'DELETE' }); } catch (err) { alert(problemText(err)); }
    refresh();
  });
  actions.append(' ', button);
  const progress = el('progress', { max: 1, value: job.progress });
  const tr = el('tr', {},
    el('td', { className: 'model', textContent: job.modelFileName || job.id, title: job.id }),
    el('td', { textContent: new Date(job.createdAt).toLocaleString() }),
    el('td', {}, el('span', { className: 'status ' + job.status, textContent: job.status })),
    el('td', {}, progress, ` ${Math.round(job.progress * 100)} %`),
    el('td', { className: 'stage', textContent: job.status === 'failed' ? job.error || 'failed' : job.stage || '' }),
    actions);
  tr.dataset.id = job.id;
  tr.dataset.status = job.status;
  return tr;
}

let timer = null;
async function refresh() {
  clearTimeout(timer);
  let next = 4000;
  try {
    const page = await json('/jobs?page=1&pageSize=50');
    const body = document.querySelector('#jobs tbody');
    body.replaceChildren(...page.items.map(row));
    $('jobs-empty').hidden = page.items.length > 0;
    if (page.items.some((j) => active(j.status))) next = 700;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return; // the key form is shown
    next = 5000;
  }
  timer = setTimeout(refresh, next);
}
refresh();
