import { api, json, el, problemText, wireKeyStatus, download } from '/ui/api.js';

const $ = (id) => document.getElementById(id);
const id = decodeURIComponent(location.pathname.split('/').pop());
let task = 'classify';

wireKeyStatus();

async function poll() {
  let job;
  try {
    job = await json(`/jobs/${encodeURIComponent(id)}`);
  } catch (e) {
    if (e.status !== 401) { $('job-error').textContent = problemText(e); $('job-error').hidden = false; }
    return;
  }
  $('job-title').textContent = job.modelFileName || `Job ${job.id}`;
  document.title = `DSConv · ${job.modelFileName || job.id}`;
  $('status').textContent = job.status;
  $('status').className = 'status ' + job.status;
  $('progress').value = job.progress;
  $('stage').textContent = job.stage || '';
  const running = job.status === 'queued' || job.status === 'running';
  $('cancel').hidden = !running;
  if (running) { setTimeout(poll, 700); return; }
  $('progress').hidden = true;
  if (job.status === 'failed') { $('job-error').textContent = job.error || 'The job failed.'; $('job-error').hidden = false; }
  if (job.status === 'succeeded') {
    task = job.report?.task || job.options?.task || 'classify';
    await showReport();
    $('try').hidden = false;
  }
}

// The report is the service's standalone HTML (one renderer for both): its style and <main> are taken over.
async function showReport() {
  const html = await (await api(`/jobs/${encodeURIComponent(id)}/report.html`)).text();
  const doc = new DOMParser().parseFromString(html, 'text/html');
  const style = doc.querySelector('style');
  if (style) document.head.append(style);
  const main = doc.querySelector('main');
  $('report-slot').replaceChildren(document.adoptNode(main));
  // Links of the report go through fetch so that an API key goes along.
  for (const [linkId, name] of [['artifact-link', 'model.dsconv.onnx'], ['json-link', 'report.json']]) {
    const link = $(linkId);
    if (!link) continue;
    link.addEventListener('click', (e) => { e.preventDefault(); download(new URL(link.href).pathname, name).catch((err) => alert(problemText(err))); });
  }
  const standalone = $('standalone');
  standalone.hidden = false;
  standalone.href = `/jobs/${encodeURIComponent(id)}/report.html`;
  standalone.addEventListener('click', (e) => { e.preventDefault(); download(standalone.getAttribute('href'), 'report.html').catch((err) => alert(problemText(err))); });
}

$('cancel').addEventListener('click', async () => {
  try { await api(`/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' }); } catch (e) { alert(problemText(e)); }
});

async function infer(file) {
  $('infer-error').hidden = true;
  $('predictions').replaceChildren();
  $('feature-result').hidden = true;
  $('infer-summary').textContent = `Running ${file.name}…`;
  $('preview').src = URL.createObjectURL(file);
  $('preview').hidden = false;
  const body = new FormData();
  body.append('image', file);
  try {
    const answer = await json(`/infer?model=${encodeURIComponent(id)}&topk=5`, { method: 'POST', body });
    const latency = `${answer.latencyMs.toFixed(2)} ms on ${answer.engine}`;
    if (answer.task === 'features') {
      $('infer-summary').textContent = `Feature model: ${answer.features.length} values, norm ${answer.norm.toFixed(4)} · ${latency}`;
      const first = answer.features.slice(0, 8).map((v) => v.toFixed(4)).join(', ');
      $('feature-result').replaceChildren(el('p', { textContent: `First values: ${first}${answer.features.length > 8 ? ', …' : ''}` }));
      $('feature-result').hidden = false;
      return;
    }
    const name = (p) => p.label ?? `class ${p.index}`;
    $('infer-summary').replaceChildren('Top-1: ', el('strong', { id: 'top1', textContent: name(answer.predictions[0]) }), ` · ${latency}`);
    $('predictions').replaceChildren(...answer.predictions.map((p) => el('li', { className: 'prediction' },
      el('span', { className: 'label', textContent: name(p) }),
      el('meter', { min: 0, max: 1, value: p.score }),
      el('span', { className: 'score', textContent: `${(p.score * 100).toFixed(1)} %` }))));
  } catch (e) {
    $('infer-summary').textContent = '';
    $('infer-error').textContent = problemText(e);
    $('infer-error').hidden = false;
  }
}

$('image').addEventListener('change', () => { if ($('image').files[0]) infer($('image').files[0]); });
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = e.dataTransfer.files[0];
  if (file) infer(file);
});

poll();
