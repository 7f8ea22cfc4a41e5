// Ask: pick knowledge bases (and the web), the answer streams in, sources beside it;
// conversations in the sidebar (history.js keeps them).
import { api, events, request } from './api.js';
import { renderSources, renderText, ratingForm } from './answer.js';
import { confirmDelete } from './confirm.js';
import { clear, h } from './dom.js';
import * as history from './history.js';
import { t } from './i18n.js';
import * as viewer from './viewer.js';

let conversation = null;

export async function render(main, id) {
  const { data: kbs } = await api('/v1/knowledge-bases');
  conversation = (id && history.get(id)) || history.create(kbs.length === 1 ? [kbs[0].name] : [], false);
  const picker = h('fieldset', { class: 'picker' }, h('legend', {}, t('ask.kbs')),
    kbs.map((kb) => h('label', {}, h('input', {
      type: 'checkbox', name: 'kb', value: kb.name, checked: conversation.kbs.includes(kb.name),
    }), ` ${kb.name}`)),
    h('label', { class: 'web' }, h('input', { type: 'checkbox', name: 'web', checked: conversation.web }), ` ${t('ask.web')}`));
  const turns = h('div', { class: 'turns', id: 'turns', 'aria-live': 'polite' });
  const sources = h('div', { id: 'sources' });
  const question = h('textarea', { id: 'question', rows: 2, required: true, 'aria-label': t('ask.question'), placeholder: t('ask.question') });
  const send = h('button', { type: 'submit', id: 'send' }, t('ask.send'));
  const message = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'ask-form' }, question, send);
  question.addEventListener('keydown', (e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); } });
  const sidebar = h('aside', { class: 'history', 'aria-label': t('ask.history') });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    conversation.kbs = [...picker.querySelectorAll('input[name=kb]:checked')].map((i) => i.value);
    conversation.web = picker.querySelector('input[name=web]').checked;
    if (!conversation.kbs.length) { message.textContent = t('ask.pickKb'); return; }
    message.textContent = '';
    const text = question.value.trim();
    if (!text) return;
    question.value = '';
    ask(text, turns, sources, send).then(() => renderHistory(sidebar));
  });
  clear(main, h('div', { class: 'ask' }, sidebar,
    h('section', { class: 'conversation' }, h('h1', { class: 'visually-hidden' }, t('ask.title')), picker, turns, message, form),
    h('aside', { class: 'sources-panel', 'aria-labelledby': 'sources-title' }, h('h2', { id: 'sources-title' }, t('ask.sources')), sources)));
  renderHistory(sidebar);
  for (const turn of conversation.messages.filter((m) => m.role === 'assistant')) showTurn(turns, sources, turn);
  question.focus();
}

function renderHistory(sidebar) {
  const items = history.list().map((c) => h('li', { class: c.id === conversation.id ? 'current' : '' },
    h('a', { href: `#/ask/${c.id}` }, c.title || '…'),
    h('button', { type: 'button', class: 'link small', onclick: () => {
      const title = prompt(t('ask.renamePrompt'), c.title);
      if (title) { history.rename(c.id, title); renderHistory(sidebar); }
    } }, t('ask.rename')),
    h('button', { type: 'button', class: 'link small', onclick: async () => {
      if (!(await confirmDelete(t('ask.confirmDelete', { name: c.title })))) return;
      history.remove(c.id);
      if (c.id === conversation.id) location.hash = '#/ask';
      else renderHistory(sidebar);
    } }, t('ask.delete'))));
  clear(sidebar, h('h2', {}, t('ask.history')), h('a', { href: '#/ask', class: 'button small', onclick: () => {
    if (location.hash === '#/ask') window.dispatchEvent(new Event('hashchange'));
  } }, t('ask.new')), h('ul', {}, items), h('p', { class: 'hint' }, t('ask.historyNote')));
}

function showTurn(turns, sources, turn) {
  const answer = h('div', { class: 'answer' });
  renderText(answer, turn.content, turn.citations);
  const el = h('article', { class: 'turn' }, h('p', { class: 'question' }, turn.question), answer,
    (turn.warnings || []).map((w) => h('p', { class: 'warning' }, w)),
    ratingForm(turn, () => history.save(conversation)));
  turns.append(el);
  renderSources(sources, turn.citations || []);
  return { el, answer };
}

async function ask(text, turns, sources, send) {
  const model = `kb/${conversation.kbs.join('+')}`;
  const messages = conversation.messages.map((m) => ({ role: m.role, content: m.content }));
  messages.push({ role: 'user', content: text });
  const turn = { role: 'assistant', question: text, content: '', citations: [], warnings: [], model };
  const { el, answer } = showTurn(turns, sources, turn);
  el.classList.add('streaming');
  const stop = new AbortController();
  send.textContent = t('ask.stop');
  const onStop = (e) => { e.preventDefault(); stop.abort(); };
  send.addEventListener('click', onStop);
  try {
    const response = await request('/v1/chat/completions', {
      method: 'POST', signal: stop.signal, accept: 'text/event-stream',
      json: { model, messages, stream: true, web_search: conversation.web },
    });
    for await (const { data } of events(response)) {
      if (data === '[DONE]') break;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      for (const choice of chunk.choices || []) turn.content += choice.delta?.content || '';
      if (chunk.citations) turn.citations = chunk.citations;
      if (chunk.warnings) turn.warnings = chunk.warnings;
      renderText(answer, turn.content, turn.citations);
    }
  } catch (error) {
    if (error.name !== 'AbortError') answer.append(h('p', { class: 'error' }, t('ask.failed', { message: error.message })));
  } finally {
    send.removeEventListener('click', onStop);
    send.textContent = t('ask.send');
    el.classList.remove('streaming');
  }
  el.querySelectorAll('.warning').forEach((w) => w.remove());
  answer.after(...turn.warnings.map((w) => h('p', { class: 'warning' }, w)));
  renderSources(sources, turn.citations);
  viewer.prefetch(turn.citations);
  if (turn.content) {
    conversation.messages.push({ role: 'user', content: text }, turn);
    history.save(conversation);
  }
}
