// The modules of the CloudFront Functions runtime as the twin offers them to a function's
// code: `cloudfront` (key value stores, origin modification), `crypto` (md5, sha1, sha256
// hashes and HMACs), `querystring`, and `console.log` into the execution logs. Written for
// runbook from the documented behaviour; the Python side (runtime.py) loads it once per
// V8 context, then calls __run(event) for each request.

var __stores = {};      // store id -> {keys: {k: v}, created: iso, updated: iso}
var __default = null;   // the id of the store associated with the function
var __logs = [];
var __origin = null;    // what an origin modification helper asked for
var __runtime = '2.0';  // cloudfront-js-X: set by __install

// ---- bytes ------------------------------------------------------------------------

function __utf8(text) {
  var raw = unescape(encodeURIComponent(String(text)));
  var out = new Array(raw.length);
  for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
  return out;
}

var __B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function __base64(bytes, url) {
  var out = '';
  for (var i = 0; i < bytes.length; i += 3) {
    var n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
    out += __B64[(n >> 18) & 63] + __B64[(n >> 12) & 63];
    out += i + 1 < bytes.length ? __B64[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.length ? __B64[n & 63] : '=';
  }
  if (url) { out = out.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''); }
  return out;
}

function __hex(bytes) {
  var out = '';
  for (var i = 0; i < bytes.length; i++) { out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16); }
  return out;
}

function __latin1(bytes) {
  var out = '';
  for (var i = 0; i < bytes.length; i += 4096) {
    out += String.fromCharCode.apply(null, Array.prototype.slice.call(bytes, i, i + 4096));
  }
  return out;
}

function __encode(bytes, encoding) {
  if (encoding === 'hex') { return __hex(bytes); }
  if (encoding === 'base64') { return __base64(bytes, false); }
  if (encoding === 'base64url') { return __base64(bytes, true); }
  if (encoding === undefined) {  // 2.0: a Buffer; 1.0: a byte string
    return __runtime === '1.0' ? __latin1(bytes) : __Buffer.from(bytes);
  }
  throw new Error('Digest encoding ' + encoding + ' is not supported');
}

function __unbase64(text) {
  var out = [], bits = 0, n = 0;
  text = String(text).replace(/-/g, '+').replace(/_/g, '/');
  for (var i = 0; i < text.length; i++) {
    var v = __B64.indexOf(text[i]);
    if (v < 0) { continue; }
    n = (n << 6) | v; bits += 6;
    if (bits >= 8) { bits -= 8; out.push((n >> bits) & 255); }
  }
  return out;
}

function __unhex(text) {
  var out = [];
  for (var i = 0; i + 1 < text.length; i += 2) {
    var v = parseInt(text.substr(i, 2), 16);
    if (isNaN(v)) { break; }
    out.push(v);
  }
  return out;
}

function __fromutf8(bytes) {  // UTF-8 decoding; a malformed sequence is U+FFFD
  var out = '';
  for (var i = 0; i < bytes.length;) {
    var b = bytes[i], need = b < 0x80 ? 0 : b >= 0xF0 && b < 0xF8 ? 3 : b >= 0xE0 ? 2 : b >= 0xC2 ? 1 : -1;
    var cp = need === 0 ? b : need === 1 ? b & 31 : need === 2 ? b & 15 : b & 7, ok = need >= 0;
    for (var k = 1; ok && k <= need; k++) {
      if (i + k >= bytes.length || (bytes[i + k] & 0xC0) !== 0x80) { ok = false; break; }
      cp = (cp << 6) | (bytes[i + k] & 63);
    }
    if (!ok) { out += '\uFFFD'; i += 1; continue; }
    out += String.fromCodePoint(cp); i += need + 1;
  }
  return out;
}

function __decode(text, encoding) {
  var enc = String(encoding || 'utf8').toLowerCase();
  if (enc === 'utf8' || enc === 'utf-8') { return __utf8(text); }
  if (enc === 'hex') { return __unhex(String(text)); }
  if (enc === 'base64' || enc === 'base64url') { return __unbase64(text); }
  if (enc === 'latin1' || enc === 'binary') {
    return Array.prototype.map.call(String(text), function (c) { return c.charCodeAt(0) & 255; });
  }
  throw new TypeError('Unknown encoding: ' + encoding);
}

// ---- Buffer (cloudfront-js-2.0) ----------------------------------------------------

class __Buffer extends Uint8Array {
  static from(value, encoding) {
    if (typeof value === 'string') { return new __Buffer(__decode(value, encoding)); }
    if (value instanceof ArrayBuffer) { return new __Buffer(value); }
    if (value && typeof value.length === 'number') { return new __Buffer(Array.prototype.slice.call(value)); }
    throw new TypeError('The first argument must be a string, Buffer, ArrayBuffer or Array');
  }
  static alloc(size, fill, encoding) {
    var buf = new __Buffer(size);
    if (fill !== undefined) { buf.fill(fill, 0, size, encoding); }
    return buf;
  }
  static allocUnsafe(size) { return new __Buffer(size); }
  static byteLength(value, encoding) {
    return typeof value === 'string' ? __decode(value, encoding).length : value.byteLength;
  }
  static concat(list, total) {
    var length = 0, i;
    for (i = 0; i < list.length; i++) { length += list[i].length; }
    var out = new __Buffer(total === undefined ? length : total), at = 0;
    for (i = 0; i < list.length && at < out.length; i++) {
      out.set(list[i].subarray(0, out.length - at), at); at += list[i].length;
    }
    return out;
  }
  static isBuffer(value) { return value instanceof __Buffer; }
  static isEncoding(encoding) {
    return ['utf8', 'utf-8', 'hex', 'base64', 'base64url', 'latin1', 'binary']
      .indexOf(String(encoding).toLowerCase()) >= 0;
  }
  static compare(a, b) { return a.compare(b); }
  toString(encoding, start, end) {
    var bytes = this.subarray(start || 0, end === undefined ? this.length : end);
    var enc = String(encoding || 'utf8').toLowerCase();
    if (enc === 'utf8' || enc === 'utf-8') { return __fromutf8(bytes); }
    if (enc === 'latin1' || enc === 'binary') { return __latin1(bytes); }
    return __encode(bytes, enc);
  }
  fill(value, start, end, encoding) {
    if (typeof value === 'string') {
      var bytes = __decode(value, encoding), from = start || 0, to = end === undefined ? this.length : end;
      for (var i = from; bytes.length && i < to; i++) { this[i] = bytes[(i - from) % bytes.length]; }
      return this;
    }
    return super.fill(value, start, end);
  }
  equals(other) { return this.compare(other) === 0; }
  compare(other) {
    for (var i = 0; i < Math.min(this.length, other.length); i++) {
      if (this[i] !== other[i]) { return this[i] < other[i] ? -1 : 1; }
    }
    return this.length === other.length ? 0 : this.length < other.length ? -1 : 1;
  }
  slice(start, end) { return this.subarray(start, end); }
  write(text, offset, encoding) {
    var bytes = __decode(text, encoding), at = offset || 0, n = Math.min(bytes.length, this.length - at);
    this.set(bytes.slice(0, n), at);
    return n;
  }
  toJSON() { return { type: 'Buffer', data: Array.prototype.slice.call(this) }; }
}

globalThis.Buffer = __Buffer;

// ---- byte strings (cloudfront-js-1.0) ------------------------------------------------

function __strings() {
  String.bytesFrom = function (value, encoding) {
    if (typeof value === 'string') { return __latin1(__decode(value, encoding || 'utf8')); }
    return __latin1(Array.prototype.map.call(value, function (b) { return b & 255; }));
  };
  String.prototype.fromBytes = function (start, end) { return String(this).slice(start, end); };
  String.prototype.toBytes = function (start, end) {
    var text = String(this).slice(start, end);
    return /[^\u0000-\u00ff]/.test(text) ? null : text;
  };
  String.prototype.toUTF8 = function (start, end) { return __latin1(__utf8(String(this).slice(start, end))); };
  String.prototype.fromUTF8 = function (start, end) {
    var text = String(this).slice(start, end);
    try { return decodeURIComponent(escape(text)); } catch (e) { return null; }
  };
}

function __install(runtime, store) {  // before the function's code is evaluated
  __runtime = runtime; __default = store;
  if (runtime === '1.0') { __strings(); delete globalThis.Buffer; }
}

// ---- hashes -----------------------------------------------------------------------

function __rol(x, n) { return (x << n) | (x >>> (32 - n)); }
function __ror(x, n) { return (x >>> n) | (x << (32 - n)); }

function __pad(bytes, littleEndian) {
  var msg = bytes.slice();
  var bits = bytes.length * 8;
  msg.push(0x80);
  while (msg.length % 64 !== 56) { msg.push(0); }
  var high = Math.floor(bits / 4294967296), low = bits >>> 0;
  var words = littleEndian ? [low, high] : [high, low];
  for (var w = 0; w < 2; w++) {
    for (var b = 0; b < 4; b++) {
      var shift = littleEndian ? 8 * b : 24 - 8 * b;
      msg.push((words[w] >>> shift) & 255);
    }
  }
  return msg;
}

function __words(H, littleEndian) {
  var out = [];
  for (var i = 0; i < H.length; i++) {
    for (var b = 0; b < 4; b++) {
      out.push((H[i] >>> (littleEndian ? 8 * b : 24 - 8 * b)) & 255);
    }
  }
  return out;
}

function __fraction(x) { return Math.floor((x - Math.floor(x)) * 4294967296) | 0; }

var __PRIMES = (function () {
  var found = [];
  for (var n = 2; found.length < 64; n++) {
    var prime = true;
    for (var d = 2; d * d <= n; d++) { if (n % d === 0) { prime = false; break; } }
    if (prime) { found.push(n); }
  }
  return found;
})();
var __K256 = __PRIMES.map(function (p) { return __fraction(Math.cbrt(p)); });
var __H256 = __PRIMES.slice(0, 8).map(function (p) { return __fraction(Math.sqrt(p)); });
var __KMD5 = [];
for (var __i = 0; __i < 64; __i++) { __KMD5.push(Math.floor(Math.abs(Math.sin(__i + 1)) * 4294967296) | 0); }
var __SMD5 = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

function __sha256(bytes) {
  var H = __H256.slice(), msg = __pad(bytes, false), w = new Array(64);
  for (var o = 0; o < msg.length; o += 64) {
    var i;
    for (i = 0; i < 16; i++) {
      w[i] = (msg[o + 4 * i] << 24) | (msg[o + 4 * i + 1] << 16) | (msg[o + 4 * i + 2] << 8) | msg[o + 4 * i + 3];
    }
    for (i = 16; i < 64; i++) {
      var s0 = __ror(w[i - 15], 7) ^ __ror(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      var s1 = __ror(w[i - 2], 17) ^ __ror(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    var a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
    for (i = 0; i < 64; i++) {
      var t1 = (h + (__ror(e, 6) ^ __ror(e, 11) ^ __ror(e, 25)) + ((e & f) ^ (~e & g)) + __K256[i] + w[i]) | 0;
      var t2 = ((__ror(a, 2) ^ __ror(a, 13) ^ __ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    var next = [a, b, c, d, e, f, g, h];
    for (i = 0; i < 8; i++) { H[i] = (H[i] + next[i]) | 0; }
  }
  return __words(H, false);
}

function __sha1(bytes) {
  var H = [0x67452301, 0xEFCDAB89 | 0, 0x98BADCFE | 0, 0x10325476, 0xC3D2E1F0 | 0];
  var msg = __pad(bytes, false), w = new Array(80);
  for (var o = 0; o < msg.length; o += 64) {
    var i;
    for (i = 0; i < 16; i++) {
      w[i] = (msg[o + 4 * i] << 24) | (msg[o + 4 * i + 1] << 16) | (msg[o + 4 * i + 2] << 8) | msg[o + 4 * i + 3];
    }
    for (i = 16; i < 80; i++) { w[i] = __rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1); }
    var a = H[0], b = H[1], c = H[2], d = H[3], e = H[4];
    for (i = 0; i < 80; i++) {
      var f, k;
      if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
      else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
      else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC | 0; }
      else { f = b ^ c ^ d; k = 0xCA62C1D6 | 0; }
      var t = (__rol(a, 5) + f + e + k + w[i]) | 0;
      e = d; d = c; c = __rol(b, 30); b = a; a = t;
    }
    H[0] = (H[0] + a) | 0; H[1] = (H[1] + b) | 0; H[2] = (H[2] + c) | 0;
    H[3] = (H[3] + d) | 0; H[4] = (H[4] + e) | 0;
  }
  return __words(H, false);
}

function __md5(bytes) {
  var H = [0x67452301, 0xEFCDAB89 | 0, 0x98BADCFE | 0, 0x10325476];
  var msg = __pad(bytes, true), M = new Array(16);
  for (var o = 0; o < msg.length; o += 64) {
    var i;
    for (i = 0; i < 16; i++) {
      M[i] = msg[o + 4 * i] | (msg[o + 4 * i + 1] << 8) | (msg[o + 4 * i + 2] << 16) | (msg[o + 4 * i + 3] << 24);
    }
    var a = H[0], b = H[1], c = H[2], d = H[3];
    for (i = 0; i < 64; i++) {
      var f, g;
      if (i < 16) { f = (b & c) | (~b & d); g = i; }
      else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) % 16; }
      else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) % 16; }
      else { f = c ^ (b | ~d); g = (7 * i) % 16; }
      f = (f + a + __KMD5[i] + M[g]) | 0;
      a = d; d = c; c = b;
      b = (b + __rol(f, __SMD5[(i >> 4) * 4 + (i % 4)])) | 0;
    }
    H[0] = (H[0] + a) | 0; H[1] = (H[1] + b) | 0; H[2] = (H[2] + c) | 0; H[3] = (H[3] + d) | 0;
  }
  return __words(H, true);
}

var __HASHES = { md5: __md5, sha1: __sha1, sha256: __sha256 };

function __hasher(algorithm) {
  var fn = __HASHES[String(algorithm).toLowerCase()];
  if (!fn) { throw new Error('Digest method not supported: ' + algorithm); }
  return fn;
}

function __input(data) {
  if (typeof data === 'string') { return __utf8(data); }
  if (data && typeof data.length === 'number') { return Array.prototype.slice.call(data); }
  throw new TypeError('The data to hash must be a string');
}

var __crypto = {
  createHash: function (algorithm) {
    var fn = __hasher(algorithm), data = [];
    return {
      update: function (chunk) { data = data.concat(__input(chunk)); return this; },
      digest: function (encoding) { return __encode(fn(data), encoding); }
    };
  },
  createHmac: function (algorithm, key) {
    var fn = __hasher(algorithm), data = [];
    var k = __input(key);
    if (k.length > 64) { k = fn(k); }
    while (k.length < 64) { k.push(0); }
    return {
      update: function (chunk) { data = data.concat(__input(chunk)); return this; },
      digest: function (encoding) {
        var inner = fn(k.map(function (x) { return x ^ 0x36; }).concat(data));
        return __encode(fn(k.map(function (x) { return x ^ 0x5c; }).concat(inner)), encoding);
      }
    };
  }
};

// ---- querystring ------------------------------------------------------------------

function __unescape(text) {
  try { return decodeURIComponent(text.replace(/\+/g, ' ')); } catch (e) { return text; }
}

function __escape(text) { return encodeURIComponent(text); }

var __querystring = {
  escape: __escape,
  unescape: __unescape,
  parse: function (text, sep, eq, options) {
    sep = sep || '&'; eq = eq || '=';
    var decode = (options && options.decodeURIComponent) || __unescape;
    var max = options && typeof options.maxKeys === 'number' ? options.maxKeys : 1000;
    var out = {};
    if (typeof text !== 'string' || text.length === 0) { return out; }
    var parts = text.split(sep);
    if (max > 0 && parts.length > max) { parts = parts.slice(0, max); }
    for (var i = 0; i < parts.length; i++) {
      if (parts[i] === '') { continue; }
      var at = parts[i].indexOf(eq);
      var key = decode(at >= 0 ? parts[i].slice(0, at) : parts[i]);
      var value = at >= 0 ? decode(parts[i].slice(at + eq.length)) : '';
      if (!Object.prototype.hasOwnProperty.call(out, key)) { out[key] = value; }
      else if (Array.isArray(out[key])) { out[key].push(value); }
      else { out[key] = [out[key], value]; }
    }
    return out;
  },
  stringify: function (obj, sep, eq, options) {
    sep = sep || '&'; eq = eq || '=';
    var encode = (options && options.encodeURIComponent) || __escape;
    var parts = [];
    function one(v) {
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
    }
    for (var key in obj) {
      if (!Object.prototype.hasOwnProperty.call(obj, key)) { continue; }
      var values = Array.isArray(obj[key]) ? obj[key] : [obj[key]];
      for (var i = 0; i < values.length; i++) { parts.push(encode(key) + eq + encode(one(values[i]))); }
    }
    return parts.join(sep);
  }
};
__querystring.decode = __querystring.parse;
__querystring.encode = __querystring.stringify;

// ---- cloudfront ---------------------------------------------------------------------

function __store(id) {
  var sid = id === undefined || id === null ? __default : String(id).split('/').pop();
  var store = sid === null ? undefined : __stores[sid];
  if (!store) {
    throw new Error(sid === null ? 'No KeyValueStore is associated with this function'
      : 'KeyValueStore ' + sid + ' is not associated with this function');
  }
  return store;
}

var __cf = {
  kvs: function (id) {
    // as CloudFront: with no store associated, cf.kvs() itself throws (at the code's top
    // level too: that error is the error of every run)
    if ((id === undefined || id === null) && __default === null) {
      throw new Error('No KeyValueStore is associated with this function');
    }
    return {
      get: async function (key, options) {
        var store = __store(id);
        if (!Object.prototype.hasOwnProperty.call(store.keys, key)) { throw new Error('Key ' + key + ' not found'); }
        var value = store.keys[key];
        var format = options && options.format ? options.format : 'string';
        if (format === 'json') { return JSON.parse(value); }
        if (format === 'bytes') { return new Uint8Array(__utf8(value)); }
        if (format === 'string') { return value; }
        throw new Error('Unknown format ' + format);
      },
      exists: async function (key) {
        return Object.prototype.hasOwnProperty.call(__store(id).keys, key);
      },
      meta: async function () {
        var store = __store(id);
        return { creationDateTime: store.created, lastUpdatedDateTime: store.updated,
                 keyCount: Object.keys(store.keys).length };
      }
    };
  },
  updateRequestOrigin: function (params) { __origin = { update: params || {} }; },
  selectRequestOriginById: function (id, params) { __origin = { select: String(id), params: params || {} }; },
  createRequestOriginGroup: function (params) { __origin = { group: params || {} }; }
};

var __modules = { cloudfront: __cf, crypto: __crypto, querystring: __querystring };

function require(name) {
  if (!Object.prototype.hasOwnProperty.call(__modules, name)) { throw new Error('Cannot find module ' + name); }
  return __modules[name];
}

function __show(value) {
  if (typeof value === 'string') { return value; }
  if (value instanceof Error) { return String(value); }  // its name and message, not {}
  try { return JSON.stringify(value); } catch (e) { return String(value); }
}

var console = { log: function () {
  __logs.push(Array.prototype.map.call(arguments, __show).join(' '));
} };

// ---- one run ------------------------------------------------------------------------

function __idle(text) {  // __run's own cost (the event in and out), without a handler
  return JSON.stringify({ done: true, result: JSON.parse(text), logs: [], origin: null });
}

function __run(text) {
  __logs = []; __origin = null;
  var outcome = { done: false };
  var event = JSON.parse(text);
  Promise.resolve().then(function () { return handler(event); }).then(
    function (result) { outcome.done = true; outcome.result = result === undefined ? null : result; },
    function (error) {
      outcome.done = true;
      outcome.error = error && error.name && error.message !== undefined ? error.name + ': ' + error.message : String(error);
    });
  %PerformMicrotaskCheckpoint();
  outcome.logs = __logs; outcome.origin = __origin;
  return JSON.stringify(outcome);
}
