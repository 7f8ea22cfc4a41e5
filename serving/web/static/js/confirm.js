// A confirmation asked in the page's own dialog (keyboard: Tab between buttons, Esc cancels).
import { clear, h } from './dom.js';
import { t } from './i18n.js';

export function confirmDelete(message) {
  const dialog = document.getElementById('confirm');
  return new Promise((resolve) => {
    const done = (answer) => { dialog.close(); resolve(answer); };
    const no = h('button', { type: 'button', onclick: () => done(false) }, t('confirm.no'));
    const yes = h('button', { type: 'button', class: 'danger', onclick: () => done(true) }, t('confirm.yes'));
    clear(dialog, h('p', { id: 'confirm-text' }, message), h('div', { class: 'row' }, no, yes));
    dialog.setAttribute('aria-describedby', 'confirm-text');
    dialog.addEventListener('cancel', () => resolve(false), { once: true });
    dialog.showModal();
    no.focus();
  });
}
