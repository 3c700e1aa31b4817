import { useEffect, useState } from 'preact/hooks';

// Hash routes (#/approvals/<id>): the service serves one page at /ui, whatever the view.

export interface Route {
  path: string[];
  query: URLSearchParams;
}

function current(): Route {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?', 2);
  return {
    path: path
      .split('/')
      .filter((p) => p !== '')
      .map((p) => decodeURIComponent(p)),
    query: new URLSearchParams(query ?? ''),
  };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const changed = () => setRoute(current());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

/** `#/models/a%20b?x=1` from parts, each part encoded. */
export function href(parts: (string | number)[], query?: Record<string, string>): string {
  const path = parts.map((p) => encodeURIComponent(String(p))).join('/');
  const q = query === undefined ? '' : new URLSearchParams(query).toString();
  return `#/${path}${q === '' ? '' : `?${q}`}`;
}

export const navigate = (to: string): void => {
  location.hash = to.replace(/^#/, '');
};
