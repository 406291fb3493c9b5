// Times npm `atlassian-jwt` (Atlassian's JavaScript library) for run.py, in Node itself.
//
// run.py starts `node node_worker.js <folder>`, where <folder> holds
// node_modules/atlassian-jwt, and drives it over a pipe exactly as it drives old_worker.py:
// one JSON command per line on stdin, one JSON answer per line on stdout. The timing is done
// here, with process.hrtime.bigint() around a loop over the same requests, so that no pipe or
// JSON crossing is billed to Node.
//
// Each operation is what an app on atlassian-connect-express (ACE) runs:
//
// hash_url          createQueryStringHash(fromMethodAndUrl(method, url), false, baseUrl)
// encode_token      encodeSymmetric of iss, iat, exp, a fresh qsh and aud (ACE's outgoing calls)
// authenticate      what ACE's authentication middleware does with a request: the token from
//                   the `jwt` query parameter or `Authorization: JWT`, decodeSymmetric
//                   unverified to read `iss`, the tenant's secret looked up, decodeSymmetric
//                   verified, then the `exp` and `qsh` checks (the clock read with Date.now()
//                   where ACE uses moment, and the query parsed once by fromMethodAndUrl where
//                   ACE reuses Express's parse: if anything, Node's side is the lighter)
// authenticate_bad  the same, for tokens that must be rejected (a pass fails if one is not)
// outbound_qsh      untimed: decodeSymmetric of a token another library signed, and whether
//                   its qsh is the one Node computes for the request (answers true or false)
//
// Commands: {"op": "setup", "secrets": {...}, "operations": {name: {"kind": K, "items": [...]}}}
// answers the versions and, per operation, what Node makes of every item; {"op": "time",
// "name": N, "chunk": C} answers {"ns": [...]}, each chunk's nanoseconds in one pass;
// {"op": "quit"} ends the worker.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');

const folder = process.argv[2];
const packageFolder = path.join(folder, 'node_modules', 'atlassian-jwt');
const jwt = require(packageFolder);

const LIFETIME = 180;

let secrets = new Map();
let operations = new Map();

function versionOf(name) {
  const file = path.join(folder, 'node_modules', name, 'package.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')).version;
}

function hashUrl(method, url, baseUrl) {
  return jwt.createQueryStringHash(jwt.fromMethodAndUrl(method, url), false, baseUrl);
}

function encodeToken(method, url, info) {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: info.key,
    iat: now,
    exp: now + LIFETIME,
    qsh: hashUrl(method, url, info.baseUrl),
    aud: info.clientKey,
  };
  return jwt.encodeSymmetric(claims, info.sharedSecret, jwt.SymmetricAlgorithm.HS256);
}

// ACE's order of checks; every failure throws, as ACE answers 401 for each.
function authenticate(method, url, headers) {
  const request = jwt.fromMethodAndUrl(method, url);
  let token = request.query.jwt;
  if (!token) {
    const header = headers.authorization;
    if (header && header.startsWith('JWT ')) {
      token = header.substring(4);
    }
  }
  if (!token || typeof token !== 'string') {
    throw new Error('no token');
  }
  const unverified = jwt.decodeSymmetric(token, '', jwt.SymmetricAlgorithm.HS256, true);
  const secret = unverified.iss && secrets.get(unverified.iss);
  if (!secret) {
    throw new Error('unknown issuer');
  }
  const claims = jwt.decodeSymmetric(token, secret, jwt.SymmetricAlgorithm.HS256);
  if (!claims.exp || Math.floor(Date.now() / 1000) >= claims.exp) {
    throw new Error('expired');
  }
  if (claims.qsh !== jwt.createQueryStringHash(request, false, undefined)) {
    throw new Error('qsh mismatch');
  }
  return claims;
}

function reject(method, url, headers) {
  try {
    authenticate(method, url, headers);
  } catch (error) {
    return;
  }
  throw new Error('a token that should be rejected was accepted');
}

function accepted(method, url, headers) {
  try {
    authenticate(method, url, headers);
    return true;
  } catch (error) {
    return false;
  }
}

function outboundQsh(token, secret, method, url, baseUrl) {
  try {
    const claims = jwt.decodeSymmetric(token, secret, jwt.SymmetricAlgorithm.HS256);
    return claims.qsh === hashUrl(method, url, baseUrl);
  } catch (error) {
    return false;
  }
}

const KINDS = {
  hash_url: { call: hashUrl, answer: hashUrl },
  encode_token: { call: encodeToken, answer: encodeToken },
  authenticate: { call: authenticate, answer: accepted },
  authenticate_bad: { call: reject, answer: accepted },
  outbound_qsh: { call: outboundQsh, answer: outboundQsh },
};

function setup(command) {
  secrets = new Map(Object.entries(command.secrets || {}));
  operations = new Map();
  const answers = {};
  for (const [name, operation] of Object.entries(command.operations)) {
    const kind = KINDS[operation.kind];
    if (!kind) {
      throw new Error(`unknown kind ${operation.kind}`);
    }
    // Header names as Node's HTTP server hands them to an app: lower-case.
    const items = operation.items.map((args) =>
      operation.kind.startsWith('authenticate') ? [args[0], args[1], lowerCase(args[2])] : args,
    );
    operations.set(name, { call: kind.call, items });
    answers[name] = items.map((args) => kind.answer(...args));
  }
  return {
    node: process.versions.node,
    v8: process.versions.v8,
    packages: {
      'atlassian-jwt': versionOf('atlassian-jwt'),
      jsuri: versionOf('jsuri'),
      lodash: versionOf('lodash'),
    },
    answers,
  };
}

function lowerCase(headers) {
  const lowered = {};
  for (const [name, value] of Object.entries(headers || {})) {
    lowered[name.toLowerCase()] = value;
  }
  return lowered;
}

// One pass over the operation's items, as timing.py's time_pass does it: the items in chunks
// of CHUNK, the clock read between two chunks; answers each chunk's nanoseconds. Without a
// forced collection first: a full collection in V8 (gc() under --expose-gc) made the passes
// after it two to five times slower on this benchmark, a cost no server pays per request;
// V8's own collections of a pass's garbage are part of what Node's calls cost, as reference
// counting is part of what Python's cost.
function timePass(name, chunk) {
  const operation = operations.get(name);
  if (!operation) {
    throw new Error(`unknown operation ${name}`);
  }
  const { call, items } = operation;
  const batches = [];
  for (let start = 0; start < items.length; start += chunk) {
    batches.push(items.slice(start, start + chunk));
  }
  const times = [];
  for (const batch of batches) {
    const start = process.hrtime.bigint();
    for (const args of batch) {
      call(...args);
    }
    times.push(Number(process.hrtime.bigint() - start));
  }
  return times;
}

const input = readline.createInterface({ input: process.stdin, terminal: false });
input.on('line', (line) => {
  const command = JSON.parse(line);
  let answer;
  try {
    if (command.op === 'setup') {
      answer = setup(command);
    } else if (command.op === 'time') {
      answer = { ns: timePass(command.name, command.chunk) };
    } else if (command.op === 'quit') {
      input.close();
      return;
    } else {
      answer = { error: `unknown op ${JSON.stringify(command.op)}` };
    }
  } catch (error) {
    answer = { error: String(error && error.message) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
});
