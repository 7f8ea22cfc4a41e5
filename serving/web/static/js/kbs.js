// Knowledge bases: list, create, delete (after a confirmation).
import { api, kbPath } from './api.js';
import { confirmDelete } from './confirm.js';
import { clear, h, when } from './dom.js';
import { t } from './i18n.js';

export async function render(main) {
  const list = h('div', { id: 'kb-list' });
  const name = h('input', { id: 'kb-name', required: true, pattern: '[A-Za-z0-9._\\-]{1,64}', maxlength: 64 });
  const description = h('input', { id: 'kb-description', maxlength: 2000 });
  const message = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card', id: 'kb-create' },
    h('h2', {}, t('kbs.new')),
    h('div', { class: 'fields' },
      h('label', {}, t('kbs.name'), name),
      h('label', {}, t('kbs.description'), description),
      h('button', { type: 'submit' }, t('kbs.create'))),
    message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('/v1/knowledge-bases', { method: 'POST', json: { name: name.value, description: description.value } });
      form.reset();
      message.textContent = '';
      await refresh(list);
    } catch (error) {
      message.textContent = t('error.generic', { message: error.message });
    }
  });
  clear(main, h('h1', {}, t('kbs.title')), form, list);
  await refresh(list);
}

async function refresh(list) {
  const { data } = await api('/v1/knowledge-bases');
  if (!data.length) {
    clear(list, h('p', { class: 'empty' }, t('kbs.none')));
    return;
  }
  const rows = data.map((kb) => h('tr', { dataset: { kb: kb.name } },
    h('th', { scope: 'row' }, h('a', { href: `#/kbs/${encodeURIComponent(kb.name)}` }, kb.name)),
    h('td', {}, kb.description),
    h('td', { class: 'num' }, kb.documents),
    h('td', { class: 'num' }, kb.chunks),
    h('td', {}, when(kb.created_at)),
    h('td', {}, h('button', {
      type: 'button', class: 'danger small', 'aria-label': `${t('kbs.delete')} ${kb.name}`,
      onclick: async () => {
        if (!(await confirmDelete(t('kbs.confirmDelete', { name: kb.name })))) return;
        await api(kbPath(kb.name), { method: 'DELETE' });
        await refresh(list);
      },
    }, t('kbs.delete')))));
  clear(list, h('table', {},
    h('thead', {}, h('tr', {}, ['kbs.name', 'kbs.description', 'kbs.documents', 'kbs.chunks', 'kbs.created', null]
      .map((key) => h('th', { scope: 'col' }, key ? t(key) : '')))),
    h('tbody', {}, rows)));
}
