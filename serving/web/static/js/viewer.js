// The document viewer: the cited PDF page rendered by the server with the cited characters
// boxed, next/previous page; for other documents the passage highlighted in its text.
import { api, docPath, request } from './api.js';
import { clear, h } from './dom.js';
import { t } from './i18n.js';

let state = null;
let objectUrl = null;
// Pages (image and boxes) fetched or being fetched, newest last: cited pages are fetched as
// soon as an answer is complete, so that following a citation shows its page at once.
const pages = new Map();
const KEEP = 24;

const isPdf = (citation) => citation.type === 'document' && citation.source.toLowerCase().endsWith('.pdf');

function fetchPage(citation, page) {
  const base = docPath(citation.kb, citation.document_id);
  const cited = page === citation.page;
  const key = `${base}/${page}/${cited ? `${citation.char_start}-${citation.char_end}` : ''}`;
  if (!pages.has(key)) {
    const fetched = Promise.all([
      request(`${base}/pages/${page}/image`).then((r) => r.blob()),
      cited ? api(`${base}/pages/${page}/highlight?char_start=${citation.char_start}&char_end=${citation.char_end}`) : null,
    ]);
    fetched.catch(() => pages.delete(key));
    pages.set(key, fetched);
    if (pages.size > KEEP) pages.delete(pages.keys().next().value);
  }
  return pages.get(key);
}

// Fetch the cited pages of an answer in the background (the first few PDF citations).
export function prefetch(citations) {
  return Promise.all(citations.filter(isPdf).slice(0, 4).map((c) => fetchPage(c, c.page).catch(() => null)));
}

export async function open(citation) {
  const dialog = document.getElementById('viewer');
  state = { citation, page: citation.page, pages: 0 };
  const title = h('h2', { id: 'viewer-title' }, citation.title);
  const body = h('div', { class: 'viewer-body', id: 'viewer-body' });
  const pageLabel = h('span', { class: 'page-label', id: 'viewer-page', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', id: 'viewer-prev', onclick: () => go(-1) }, `‹ ${t('viewer.prev')}`);
  const next = h('button', { type: 'button', id: 'viewer-next', onclick: () => go(1) }, `${t('viewer.next')} ›`);
  const close = h('button', { type: 'button', class: 'close', onclick: () => dialog.close() }, t('viewer.close'));
  clear(dialog, h('header', { class: 'row' }, title, close), body,
    h('footer', { class: 'row' }, isPdf(citation) ? [prev, pageLabel, next] : pageLabel));
  Object.assign(state, { body, pageLabel, prev, next });
  if (!dialog.open) dialog.showModal();
  close.focus();
  await (isPdf(citation) ? showPage() : showPassage());
}

async function go(step) {
  const page = state.page + step;
  if (page < 1 || (state.pages && page > state.pages)) return;
  state.page = page;
  await showPage();
}

async function showPage() {
  const { citation, page, body } = state;
  const [image, mark] = await fetchPage(citation, page);
  if (state.page !== page) return; // another page was asked for meanwhile
  if (objectUrl) URL.revokeObjectURL(objectUrl);
  objectUrl = URL.createObjectURL(image);
  const img = h('img', { src: objectUrl, alt: t('viewer.page', { page, pages: state.pages || '…' }), class: 'page-image' });
  const sheet = h('div', { class: 'page-sheet', dataset: { page } }, img);
  if (mark) {
    state.pages = mark.pages;
    for (const box of mark.boxes) {
      const el = h('div', { class: 'highlight' });
      // Percentages of the page: the boxes follow the image at any size (CSSOM, not markup,
      // so the Content-Security-Policy allows it).
      el.style.left = `${(box.left / mark.width) * 100}%`;
      el.style.top = `${(box.top / mark.height) * 100}%`;
      el.style.width = `${((box.right - box.left) / mark.width) * 100}%`;
      el.style.height = `${((box.bottom - box.top) / mark.height) * 100}%`;
      sheet.append(el);
    }
  }
  const notes = mark && !mark.boxes.length ? h('p', { class: 'hint' }, t('viewer.noBox'), h('br'), citation.snippet) : null;
  clear(body, sheet, notes);
  await img.decode().catch(() => {});
  sheet.querySelector('.highlight')?.scrollIntoView({ block: 'center' });
  label();
}

async function showPassage() {
  const { citation, body } = state;
  const query = `page=${citation.page}&char_start=${citation.char_start}&char_end=${citation.char_end}`;
  const found = await api(`${docPath(citation.kb, citation.document_id)}/passage?${query}`);
  state.pages = found.pages;
  const mark = h('mark', { class: 'passage' }, found.text);
  clear(body, h('div', { class: 'passage-text', dataset: { page: found.page } }, found.before, mark, found.after));
  mark.scrollIntoView({ block: 'center' });
  label();
}

function label() {
  const { page, pages, prev, next, pageLabel } = state;
  pageLabel.textContent = t('viewer.page', { page, pages: pages || '…' });
  prev.disabled = page <= 1;
  next.disabled = Boolean(pages) && page >= pages;
  state.body.dataset.page = page;
}
