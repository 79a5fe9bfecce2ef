/**
 * The REST API under /api/v1, with the token the person pasted. The token lives in sessionStorage only: it ends
 * with the tab, is never written to localStorage or a cookie, and never goes into a URL (the server refuses tokens
 * in URLs: TOKEN_IN_URL). Every call sends it as `Authorization: Bearer`.
 */
const KEY = 'vespera.token';

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (value) => sessionStorage.setItem(KEY, value),
  clear: () => sessionStorage.removeItem(KEY),
};

/** A refusal: the problem+json answer's `code` (TASK_NOT_FOUND, MISSING_CAPABILITY, …) and message. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code ?? `HTTP_${status}`;
    this.problem = problem;
  }
}

/**
 * `minPosition` goes as `X-Vespera-Min-Position` (the routes whose input has no `minPosition` field read only the
 * header): the server waits until its read model has applied that log position.
 */
export const api = async (method, path, { query, body, bearer = token.get(), minPosition } = {}) => {
  const url = new URL(`/api/v1${path}`, location.origin);
  for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
  const headers = { accept: 'application/json' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (minPosition !== undefined) headers['x-vespera-min-position'] = String(minPosition);
  const response = await fetch(url, {
    method,
    headers,
    cache: 'no-store',
    credentials: 'omit',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let data;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = { detail: text };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
};

/** Every item of a paged list (200 a page), up to `max`. */
export const allPages = async (path, query = {}, max = 20000) => {
  const items = [];
  let cursor;
  do {
    const page = await api('GET', path, { query: { ...query, limit: 200, cursor } });
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && items.length < max);
  return items;
};

/** `admin` holds every capability (as on the server: events/vocabulary.ts). */
export const holds = (capabilities, capability) => capabilities.includes(capability) || capabilities.includes('admin');
