// What every page's HTML shell shares, written once: the import map (the vendored modules and
// their versions, in one place), the viewport, the icon and the stylesheet. Each page's
// index.html loads this classic script just before its one module, so the import map is in
// place before any module is fetched.
(() => {
  const add = (tag, props, text) => {
    const el = document.createElement(tag);
    Object.assign(el, props);
    if (text) el.textContent = text;
    document.head.appendChild(el);
  };
  add('meta', { name: 'viewport', content: 'width=device-width, initial-scale=1, user-scalable=no' });
  add('link', { rel: 'icon', href: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%23c8102e'/%3E%3C/svg%3E" });
  add('link', { rel: 'stylesheet', href: '/css/pos.css' });
  add('script', { type: 'importmap' }, JSON.stringify({
    imports: {
      preact: '/vendor/preact-10.27.2/preact.module.js',
      'preact/hooks': '/vendor/preact-10.27.2/hooks.module.js',
      htm: '/vendor/htm-3.1.1/htm.module.js',
      '@msgpack/msgpack': '/vendor/msgpack-3.1.3/index.mjs',
    },
  }));
})();
