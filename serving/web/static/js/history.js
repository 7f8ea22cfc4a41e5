// Conversation history, kept in this browser's localStorage for now: the per-user store on the
// server is not built yet. Everything that reads or writes conversations goes through here, so
// moving them to the server changes this module only.

const STORE = 'kb.conversations';

function load() {
  try {
    return JSON.parse(localStorage.getItem(STORE) || '[]');
  } catch {
    return [];
  }
}

function store(all) {
  localStorage.setItem(STORE, JSON.stringify(all));
}

// Newest first.
export function list() {
  return load().sort((a, b) => b.updated - a.updated);
}

export function get(id) {
  return load().find((c) => c.id === id) || null;
}

export function create(kbs, web) {
  return { id: crypto.randomUUID(), title: '', kbs, web, messages: [], updated: Date.now() };
}

export function save(conversation) {
  conversation.updated = Date.now();
  if (!conversation.title) {
    const first = conversation.messages.find((m) => m.role === 'user');
    conversation.title = first ? first.content.slice(0, 60) : '';
  }
  store([...load().filter((c) => c.id !== conversation.id), conversation]);
}

export function rename(id, title) {
  const all = load();
  const found = all.find((c) => c.id === id);
  if (found) { found.title = title; store(all); }
}

export function remove(id) {
  store(load().filter((c) => c.id !== id));
}
