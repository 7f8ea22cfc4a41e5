// The sign-in screen (what it sends is auth.js's business).
import * as auth from './auth.js';
import { clear, h } from './dom.js';
import { t } from './i18n.js';

export function render(main, onSignedIn) {
  const key = h('input', { id: 'api-key', type: 'password', autocomplete: 'current-password', required: true });
  const message = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card narrow', id: 'signin' },
    h('h1', {}, t('signin.title')),
    h('label', { for: 'api-key' }, t('signin.key')), key,
    h('p', { class: 'hint' }, t('signin.help')), message,
    h('button', { type: 'submit' }, t('signin.submit')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (await auth.signIn(key.value.trim())) onSignedIn();
    else message.textContent = t('signin.wrong');
  });
  clear(main, form);
  key.focus();
}
