// Sign-in: the one module that knows how a person proves who they are.
// Today an API key, sent as `Authorization: Bearer <key>`; nothing at all when the server runs
// without access control (its loopback mode). An OIDC sign-in (authorization code with PKCE)
// belongs here too: it would keep its access token where the key is kept, and `headers()`
// would send it the same way.

const STORE = 'kb.apiKey';

export function headers() {
  const key = localStorage.getItem(STORE);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

// 'ok' when the server answers with the current credentials (or needs none), 'sign-in' when
// it wants some.
export async function probe() {
  const response = await fetch('/v1/knowledge-bases', { headers: headers() });
  if (response.status === 401 || response.status === 403) return 'sign-in';
  return 'ok';
}

export async function signIn(key) {
  const response = await fetch('/v1/knowledge-bases', {
    headers: { Authorization: `Bearer ${key}` },
  });
  if (!response.ok) return false;
  localStorage.setItem(STORE, key);
  return true;
}

export function signOut() {
  localStorage.removeItem(STORE);
}

export function signedInWithKey() {
  return localStorage.getItem(STORE) !== null;
}
