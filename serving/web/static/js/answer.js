// One answer: its text with the markers [n] as links, its sources, and the rating form.
import { api } from './api.js';
import { clear, h, safeUrl } from './dom.js';
import { t } from './i18n.js';
import * as viewer from './viewer.js';

const MARKER = /\[(\d+)\]/g;

// The answer's text with each [n] as a link to its citation (once citations are known).
export function renderText(el, text, citations = []) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(MARKER)) {
    parts.push(text.slice(last, match.index));
    const citation = citations.find((c) => c.number === Number(match[1]));
    parts.push(citation ? citationLink(citation, `[${match[1]}]`, 'marker') : match[0]);
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  clear(el, parts);
}

function citationLink(citation, label, className) {
  if (citation.type === 'web') {
    const href = safeUrl(citation.url);
    if (!href) return label;
    return h('a', { href, target: '_blank', rel: 'noopener noreferrer', class: className, dataset: { number: citation.number } }, label);
  }
  return h('a', {
    href: '#', class: className, dataset: { number: citation.number },
    onclick: (event) => { event.preventDefault(); viewer.open(citation); },
  }, label);
}

export function renderSources(el, citations) {
  if (!citations.length) {
    clear(el, h('p', { class: 'empty' }, t('ask.noSources')));
    return;
  }
  clear(el, h('ol', { class: 'sources' }, citations.map((c) => h('li', { value: c.number, dataset: { number: c.number } },
    citationLink(c, c.title || c.source || c.url, 'source-title'),
    c.type === 'document' ? h('span', { class: 'where' }, ` · ${c.source} · ${t('ask.page', { page: c.page })}`) : h('span', { class: 'where' }, ` · ${safeUrl(c.url) ? new URL(c.url).hostname : ''}`),
    h('p', { class: 'snippet' }, c.snippet)))));
}

// Thumbs up or down with an optional comment, sent to POST /v1/feedback.
export function ratingForm(turn, onRated = () => {}) {
  const comment = h('input', { type: 'text', class: 'comment', 'aria-label': t('rate.comment'), placeholder: t('rate.comment'), maxlength: 4000 });
  const status = h('span', { class: 'rated', role: 'status' });
  let rating = turn.rating || null;
  const thumb = (value, label, symbol) => h('button', {
    type: 'button', class: 'thumb', 'aria-label': label, title: label, 'aria-pressed': String(rating === value),
    dataset: { rating: value },
    onclick: (event) => {
      rating = value;
      for (const b of form.querySelectorAll('.thumb')) b.setAttribute('aria-pressed', String(b === event.currentTarget));
    },
  }, symbol);
  const form = h('form', { class: 'rate' }, thumb(5, t('rate.good'), `▲ ${t('rate.up')}`), thumb(1, t('rate.bad'), `▼ ${t('rate.down')}`), comment,
    h('button', { type: 'submit', class: 'small' }, t('rate.send')), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!rating) return;
    try {
      await api('/v1/feedback', {
        method: 'POST',
        json: { question: turn.question, answer: turn.content, citations: turn.citations || [], rating, comment: comment.value, model: turn.model },
      });
      turn.rating = rating;
      onRated();
      status.textContent = t('rate.thanks');
    } catch (error) {
      status.textContent = t('error.generic', { message: error.message });
    }
  });
  return form;
}
