// Upload: drop several files (or pick files or a folder); a bar for the job and one per file,
// fed live by the server's progress events for the job.
import { events, kbPath, request, upload } from './api.js';
import { h } from './dom.js';
import { t } from './i18n.js';

export function area(kb, onDone) {
  const jobs = h('div', { class: 'jobs', 'aria-live': 'polite' });
  const files = h('input', { type: 'file', multiple: true, id: 'upload-files', class: 'visually-hidden' });
  const folder = h('input', { type: 'file', multiple: true, webkitdirectory: true, id: 'upload-folder', class: 'visually-hidden' });
  const send = (list) => list.length && start(kb, [...list], jobs, onDone);
  files.addEventListener('change', () => { send(files.files); files.value = ''; });
  folder.addEventListener('change', () => { send(folder.files); folder.value = ''; });
  const zone = h('div', { class: 'dropzone', id: 'dropzone' },
    h('span', {}, t('upload.drop')), ' ',
    h('label', { for: 'upload-files', class: 'button', tabindex: 0 }, t('upload.choose')), ' ',
    h('label', { for: 'upload-folder', class: 'button secondary', tabindex: 0 }, t('upload.folder')),
    files, folder);
  for (const label of zone.querySelectorAll('label')) {
    label.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); label.click(); } });
  }
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    send(e.dataTransfer.files);
  });
  return h('section', { class: 'card' }, zone, jobs);
}

async function start(kb, list, jobs, onDone) {
  const bar = h('progress', { max: 1, value: 0, class: 'job-bar' });
  const status = h('span', { class: 'job-status' });
  const rows = list.map((file) => fileRow(file.name));
  const box = h('div', { class: 'job' }, h('div', { class: 'row' }, bar, status), h('ul', { class: 'files' }, rows.map((r) => r.li)));
  jobs.prepend(box);
  const form = new FormData();
  for (const file of list) form.append('files', file, file.name);
  try {
    const job = await upload(`${kbPath(kb)}/documents`, form, (part) => {
      bar.value = part;
      status.textContent = t('upload.sending', { pct: Math.round(part * 100) });
    });
    box.dataset.job = job.id;
    show(job, bar, status, rows);
    const response = await request(`/v1/jobs/${encodeURIComponent(job.id)}/events`, { accept: 'text/event-stream' });
    for await (const { event, data } of events(response)) {
      show(JSON.parse(data), bar, status, rows);
      if (event === 'done') break;
    }
    box.classList.add('finished');
    onDone();
  } catch (error) {
    status.textContent = t('upload.lost', { message: error.message });
    box.classList.add('failed');
  }
}

function fileRow(name) {
  const bar = h('progress', { max: 1 });
  const state = h('span', { class: 'state' }, t('upload.waiting'));
  const reason = h('span', { class: 'reason' });
  const li = h('li', { dataset: { name } }, h('span', { class: 'name' }, name), bar, state, reason);
  return { li, bar, state, reason };
}

function show(job, bar, status, rows) {
  const { files_total: total, files_done: done } = job.progress;
  bar.value = total ? done / total : 0;
  status.textContent = job.status === 'done' ? `${t('upload.done')}: ${t('upload.files', { done, total })}` : t('upload.files', { done, total });
  job.files.forEach((file, i) => {
    const row = rows[i];
    if (!row) return;
    row.li.dataset.outcome = file.outcome || '';
    if (file.outcome) {
      row.bar.value = 1;
      row.state.textContent = t(`upload.${file.outcome}`);
      if (file.outcome === 'failed' || file.outcome === 'duplicate') {
        row.reason.textContent = t(`reason.${file.reason}`) === `reason.${file.reason}` ? file.message : t(`reason.${file.reason}`);
        row.reason.title = file.message || '';
      }
    } else if (file.worker) {
      row.bar.removeAttribute('value'); // indeterminate: the page count is not known before
      row.state.textContent = t('upload.reading', { pages: file.pages, chunks: file.chunks });
    }
  });
}
