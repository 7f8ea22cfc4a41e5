// Start-up and the screens by address: #/ask[/<conversation>], #/kbs, #/kbs/<name>.
import * as auth from './auth.js';
import * as chat from './chat.js';
import * as documents from './documents.js';
import { clear, h } from './dom.js';
import { lang, t } from './i18n.js';
import * as kbs from './kbs.js';
import * as signin from './signin.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');

function labels() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.getElementById('nav-ask').textContent = t('nav.ask');
  document.getElementById('nav-kbs').textContent = t('nav.kbs');
  document.getElementById('sign-out').textContent = t('nav.signOut');
}

async function route() {
  const [, screen, arg] = location.hash.split('/').map((part) => decodeURIComponent(part || ''));
  for (const link of nav.querySelectorAll('a')) {
    link.toggleAttribute('aria-current', link.getAttribute('href') === `#/${screen || 'ask'}`);
  }
  try {
    if (screen === 'kbs' && arg) await documents.render(main, arg);
    else if (screen === 'kbs') await kbs.render(main);
    else await chat.render(main, arg);
  } catch (error) {
    clear(main, h('p', { class: 'error', role: 'alert' }, t('error.generic', { message: error.message })));
  }
}

async function start() {
  labels();
  if ((await auth.probe()) === 'sign-in') {
    nav.hidden = true;
    signin.render(main, start);
    return;
  }
  nav.hidden = false;
  document.getElementById('sign-out').hidden = !auth.signedInWithKey();
  await route();
}

window.addEventListener('hashchange', route);
window.addEventListener('kb:signed-out', () => { auth.signOut(); start(); });
document.getElementById('sign-out').addEventListener('click', () => { auth.signOut(); start(); });
start();
