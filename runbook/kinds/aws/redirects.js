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
  return { statusCode: hit.s, statusDescription: TEXT[hit.s] || 'Redirect',
           headers: { location: { value: location } } };
}
