// router.js — tiny hash router: maps "#/path?query" to route definitions (exact paths, or
// patterns with ":name" segments such as "/devices/:uid"), runs a guard that may redirect, and
// calls back with the matched route. Pages are loaded lazily by app.js.

/** Parses a location hash ("#/me/sessions?x=1") into `{ path, query }`. */
export function parseHash(hash = location.hash) {
  const raw = (hash || '').replace(/^#/, '');
  const [pathPart, queryPart = ''] = raw.split('?');
  let path = pathPart || '/';
  if (!path.startsWith('/')) path = `/${path}`;
  if (path.length > 1) path = path.replace(/\/+$/, '');
  return { path, query: new URLSearchParams(queryPart) };
}

/**
 * Finds the route for `path`: an exact key first, else a pattern key whose ":name" segments
 * each match one non-empty path segment. Returns `{ route, params }` or null.
 */
export function matchRoute(routes, path) {
  if (Object.hasOwn(routes, path)) return { route: routes[path], params: {} };
  const parts = path.split('/');
  for (const [pattern, route] of Object.entries(routes)) {
    if (!pattern.includes('/:')) continue;
    const want = pattern.split('/');
    if (want.length !== parts.length) continue;
    const params = {};
    const ok = want.every((seg, i) => {
      if (!seg.startsWith(':')) return seg === parts[i];
      if (!parts[i]) return false;
      try {
        params[seg.slice(1)] = decodeURIComponent(parts[i]);
      } catch {
        return false;
      }
      return true;
    });
    if (ok) return { route, params };
  }
  return null;
}

/** Navigates to a hash route, e.g. navigate('#/login'). `replace` avoids a history entry. */
export function navigate(hash, { replace = false } = {}) {
  const target = hash.startsWith('#') ? hash : `#${hash}`;
  if (location.hash === target) {
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else if (replace) {
    history.replaceState(history.state, '', target);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    location.hash = target;
  }
}

/**
 * Starts routing. `routes` maps a path (or a ":name" pattern) to a route object; the matched
 * pattern's values are in `location.params`. `guard(route, location)` returns
 * a hash to redirect to, or null to proceed. `onRoute(route, location)` renders it.
 * `fallback` is the hash for unknown paths. Returns a function that re-runs the current route.
 */
export function startRouter({ routes, guard, onRoute, fallback }) {
  let generation = 0;
  const run = async () => {
    const gen = ++generation;
    const loc = parseHash();
    const found = matchRoute(routes, loc.path);
    if (!found) {
      navigate(fallback, { replace: true });
      return;
    }
    const { route } = found;
    loc.params = found.params;
    const redirect = guard(route, loc);
    if (redirect) {
      navigate(redirect, { replace: true });
      return;
    }
    await onRoute(route, loc, () => gen === generation);
  };
  window.addEventListener('hashchange', run);
  run();
  return run;
}
