// One knowledge base: its documents (pages, passages, status, when) and the upload area.
import { api, docPath, kbPath } from './api.js';
import { confirmDelete } from './confirm.js';
import { clear, h, when } from './dom.js';
import { t } from './i18n.js';
import * as upload from './upload.js';

export async function render(main, kb) {
  const list = h('div', { id: 'doc-list' });
  const refreshList = () => refresh(list, kb);
  clear(main,
    h('p', {}, h('a', { href: '#/kbs' }, `← ${t('docs.back')}`)),
    h('h1', {}, t('docs.title', { kb })),
    upload.area(kb, refreshList),
    list);
  await refreshList();
}

async function refresh(list, kb) {
  const { data } = await api(`${kbPath(kb)}/documents`);
  if (!data.length) {
    clear(list, h('p', { class: 'empty' }, t('docs.none')));
    return;
  }
  const rows = data.map((doc) => h('tr', { dataset: { doc: doc.id, source: doc.source } },
    h('th', { scope: 'row' }, h('span', { class: 'title' }, doc.title), h('br'), h('small', {}, doc.source)),
    h('td', { class: 'num' }, doc.pages),
    h('td', { class: 'num' }, doc.chunks),
    h('td', {}, doc.status),
    h('td', {}, when(doc.ingested_at)),
    h('td', {}, h('button', {
      type: 'button', class: 'danger small', 'aria-label': `${t('docs.delete')} ${doc.source}`,
      onclick: async () => {
        if (!(await confirmDelete(t('docs.confirmDelete', { name: doc.source })))) return;
        await api(docPath(kb, doc.id), { method: 'DELETE' });
        await refresh(list, kb);
      },
    }, t('docs.delete')))));
  clear(list, h('table', {},
    h('thead', {}, h('tr', {}, ['docs.doc', 'docs.pages', 'docs.chunks', 'docs.status', 'docs.when', null]
      .map((key) => h('th', { scope: 'col' }, key ? t(key) : '')))),
    h('tbody', {}, rows)));
}
