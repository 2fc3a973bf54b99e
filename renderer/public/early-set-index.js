// `dlens serve --set DIR` opens the page with ?set=DIR. This classic script, before the app's bundle in index.html,
// asks for each named set's index at once, so that it travels while the bundle is parsed and evaluated (a quarter of
// a second on a slow machine); renderer/src/host/early-set-index.ts takes the answers. The server has already put
// the token into a cookie with the page. Nothing here runs in the desktop app, whose page is not served over HTTP.
if (location.protocol === 'http:' || location.protocol === 'https:') {
  const early = new Map();
  for (const dir of new URLSearchParams(location.search).getAll('set'))
    early.set(dir, fetch('/api/set-index?dir=' + encodeURIComponent(dir)));
  window.__dlensEarlySetIndex = early;
}
