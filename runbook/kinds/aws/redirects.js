import cf from 'cloudfront';
// runbook cloudfront.redirects, template 2. The redirect map lives in KeyValueStore
// __KVS_ID__: the key is an old path as browsers send it (percent-encoded), the value
// {"s": status, "l": location, "q": 1 to carry the query string, "m"/"t": the bookmark
// page's message and seconds, "o": 1 to let other requests reach the origin}. A key
// ending in /* is a prefix: every path under it, the location's trailing * replaced by
// the rest of the path. Exact paths win, then the longest prefix. Key DEPTHS lists the
// depths that hold prefixes, longest first, so a miss reads only those ancestors (at
// most 9: bounded reads whatever the path's depth). A path the map does not cover goes
// on to the origin untouched.
const kvs = cf.kvs('__KVS_ID__');
const DEPTHS = 'runbook:prefix-depths';
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

// The longest prefix entry over uri: [entry, rest of the path], or null.
async function prefix(uri) {
  var depths = await find(DEPTHS);
  if (!depths) {
    return null;
  }
  var parts = uri.slice(1).split('/');
  for (var i = 0; i < depths.length; i++) {
    var d = depths[i];
    if (parts.length < d) {
      continue;
    }
    var head = parts.slice(0, d).join('/');
    var hit = await find(d === 0 ? '/*' : '/' + head + '/*');
    if (hit) {
      // leading slashes dropped: '//evil.example' after a path target ('/*') would be
      // a protocol-relative Location, another host
      return [hit, parts.slice(d).join('/').replace(/^\/+/, '')];
    }
  }
  return null;
}

async function handler(event) {
  var request = event.request;
  var uri = request.uri;
  var hit = await find(uri);
  if (!hit && uri.length > 1) {
    hit = await find(uri.endsWith('/') ? uri.slice(0, -1) : uri + '/');
  }
  var rest = '';
  if (!hit) {
    var found = await prefix(uri);
    if (!found) {
      return request;
    }
    hit = found[0];
    rest = found[1];
  }
  var location = hit.l.endsWith('*') ? hit.l.slice(0, -1) + rest : hit.l;
  if (hit.q) {
    var q = query(request.querystring);
    if (q) {
      location += (location.indexOf('?') < 0 ? '?' : '&') + q;
    }
  }
  if (hit.m && navigation(request)) {
    return bookmarkPage(hit, location);
  }
  if (hit.m && hit.o) {
    return request;  // the origin redirects it (an S3 website redirect, say)
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
