// router.js — tiny hash router: maps "#/path?query" to route definitions, runs a guard that may
// redirect, and calls back with the matched route. Pages are loaded lazily by app.js.

/** Parses a location hash ("#/me/sessions?x=1") into `{ path, query }`. */
export function parseHash(hash = location.hash) {
  const raw = (hash || '').replace(/^#/, '');
  const [pathPart, queryPart = ''] = raw.split('?');
  let path = pathPart || '/';
  if (!path.startsWith('/')) path = `/${path}`;
  if (path.length > 1) path = path.replace(/\/+$/, '');
  return { path, query: new URLSearchParams(queryPart) };
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
 * Starts routing. `routes` maps a path to a route object. `guard(route, location)` returns
 * a hash to redirect to, or null to proceed. `onRoute(route, location)` renders it.
 * `fallback` is the hash for unknown paths. Returns a function that re-runs the current route.
 */
export function startRouter({ routes, guard, onRoute, fallback }) {
  let generation = 0;
  const run = async () => {
    const gen = ++generation;
    const loc = parseHash();
    const route = routes[loc.path];
    if (!route) {
      navigate(fallback, { replace: true });
      return;
    }
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
