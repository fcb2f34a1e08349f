import cf from 'cloudfront';
// runbook cloudfront.redirects, template 1. The redirect map lives in KeyValueStore
// __KVS_ID__: the key is an old path as browsers send it (percent-encoded), the value
// {"s": status, "l": location, "q": 1 to carry the query string}. A path that is not
// in the map, with or without a trailing slash, goes on to the origin untouched.
const kvs = cf.kvs('__KVS_ID__');
const TEXT = { 301: 'Moved Permanently', 302: 'Found', 307: 'Temporary Redirect',
               308: 'Permanent Redirect' };

async function find(uri) {
  try {
    return await kvs.get(uri, { format: 'json' });
  } catch (e) {
    return null;  // not in the map
  }
}

function query(qs) {
  var parts = [];
  for (var name in qs) {
    var entry = qs[name];
    var values = entry.multiValue ? entry.multiValue : [entry];
    for (var i = 0; i < values.length; i++) {
      parts.push(values[i].value === '' ? name : name + '=' + values[i].value);
    }
  }
  return parts.join('&');
}

async function handler(event) {
  var request = event.request;
  var uri = request.uri;
  var hit = await find(uri);
  if (!hit && uri.length > 1) {
    hit = await find(uri.endsWith('/') ? uri.slice(0, -1) : uri + '/');
  }
  if (!hit) {
    return request;
  }
  var location = hit.l;
  if (hit.q) {
    var q = query(request.querystring);
    if (q) {
      location += (location.indexOf('?') < 0 ? '?' : '&') + q;
    }
  }
  if (hit.m && navigation(request)) {
    return bookmarkPage(hit, location);
  }
  return { statusCode: hit.s, statusDescription: TEXT[hit.s] || 'Redirect',
           headers: { location: { value: location } } };
}

// A person's browser opening a page (not an image, a script or a crawler's HEAD).
function navigation(request) {
  var h = request.headers;
  if (request.method !== 'GET') {
    return false;
  }
  if (h['sec-fetch-mode']) {
    return h['sec-fetch-mode'].value === 'navigate';
  }
  return !!h.accept && h.accept.value.indexOf('text/html') >= 0;
}

function escape(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

// The bookmark message: a short page with the new link, forwarding after hit.t seconds.
function bookmarkPage(hit, location) {
  var to = escape(location);
  var html = '<!doctype html><html><head><meta charset="utf-8">' +
    '<meta http-equiv="refresh" content="' + hit.t + ';url=' + to + '">' +
    '<title>This page has moved</title></head><body><p>' + escape(hit.m) + '</p>' +
    '<p><a href="' + to + '">' + to + '</a></p></body></html>';
  return { statusCode: 200, statusDescription: 'OK',
           headers: { 'content-type': { value: 'text/html; charset=utf-8' },
                      'cache-control': { value: 'no-store' },
                      'vary': { value: 'Accept, Sec-Fetch-Mode' } },
           body: { encoding: 'text', data: html } };
}
