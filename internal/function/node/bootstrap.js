// Portcullis's runtime client for Node.js functions, written for Portcullis.
// Portcullis runs it as `node -e <this file>` in the function's code folder.
// It speaks the Lambda Runtime API that Portcullis serves: it loads the
// handler named by _HANDLER once (CommonJS or ES module), then for each
// invocation fetches the event, calls handler(event, context[, callback])
// and posts the result or the error, in the shapes AWS Lambda's Node.js
// runtime uses. See README.md.
'use strict';
const net = require('net');
const path = require('path');
const fs = require('fs');
const util = require('util');
const { pathToFileURL } = require('url');
const { createRequire } = require('module');

const API_BASE = '/2018-06-01/runtime';
const env = process.env;
const nodeMajor = (() => {
  const m = /^AWS_Lambda_nodejs(\d+)/.exec(env.AWS_EXECUTION_ENV || '');
  return m ? Number(m[1]) : Number(process.versions.node.split('.')[0]);
})();

// One kept-alive HTTP/1.1 connection to the Runtime API, one request at a
// time. Requests are written by hand: only Portcullis's Runtime API is
// spoken to, whose answers always carry Content-Length.
class RuntimeAPI {
  constructor(address) {
    const i = address.lastIndexOf(':');
    this.host = address.slice(0, i).replace(/^\[|\]$/g, '');
    this.port = Number(address.slice(i + 1));
    this.hostHeader = address;
    this.sock = null;
    this.buf = Buffer.alloc(0);
    this.pending = null;
  }

  connect() {
    const sock = net.connect({ host: this.host, port: this.port });
    sock.setNoDelay(true);
    sock.on('data', (d) => this.onData(d));
    const gone = (err) => {
      if (this.sock !== sock) return;
      this.sock = null;
      this.buf = Buffer.alloc(0);
      const p = this.pending;
      this.pending = null;
      if (p) p.reject(err || new Error('the Runtime API closed the connection'));
    };
    sock.on('error', gone);
    sock.on('close', () => gone(null));
    this.sock = sock;
  }

  onData(d) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0 || !this.pending) return;
    const lines = this.buf.toString('latin1', 0, end).split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = {};
    for (let i = 1; i < lines.length; i++) {
      const c = lines[i].indexOf(':');
      if (c > 0) headers[lines[i].slice(0, c).trim().toLowerCase()] = lines[i].slice(c + 1).trim();
    }
    const n = Number(headers['content-length'] || 0);
    if (this.buf.length < end + 4 + n) return;
    const body = this.buf.subarray(end + 4, end + 4 + n);
    this.buf = this.buf.subarray(end + 4 + n);
    const p = this.pending;
    this.pending = null;
    if ((headers.connection || '').toLowerCase() === 'close') {
      const s = this.sock;
      this.sock = null;
      this.buf = Buffer.alloc(0);
      s.destroy();
    }
    p.resolve({ status, headers, body });
  }

  call(method, urlPath, body, extra) {
    if (!this.sock) this.connect();
    let head = `${method} ${urlPath} HTTP/1.1\r\nHost: ${this.hostHeader}\r\n${extra || ''}`;
    if (method === 'POST') head += `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.sock.write(head + '\r\n' + (body || ''));
    });
  }

  next() { return this.call('GET', API_BASE + '/invocation/next'); }
  respond(id, body) { return this.call('POST', `${API_BASE}/invocation/${id}/response`, body); }
  fail(id, report) { return this.call('POST', `${API_BASE}/invocation/${id}/error`, reportJSON(report), errorTypeHeader(report)); }
  initError(report) { return this.call('POST', API_BASE + '/init/error', reportJSON(report), errorTypeHeader(report)); }
}

function errorTypeHeader(report) {
  return `Lambda-Runtime-Function-Error-Type: ${String(report.errorType).replace(/[^\x20-\x7e]/g, '?')}\r\n`;
}

function reportJSON(report) {
  try {
    return JSON.stringify(report);
  } catch (e) {
    return JSON.stringify({ errorType: String(report.errorType), errorMessage: String(report.errorMessage), trace: [] });
  }
}

// An error as Lambda's Node.js runtime reports it: an Error by its name,
// message and stack; anything else thrown by its type and text.
function toReport(err) {
  if (err instanceof Error) {
    return { errorType: err.name, errorMessage: err.message, trace: err.stack ? String(err.stack).split('\n') : [] };
  }
  let message;
  try {
    message = String(err);
  } catch (e) {
    message = Object.prototype.toString.call(err);
  }
  return { errorType: typeof err, errorMessage: message, trace: [] };
}

class Fault extends Error {
  constructor(type, message, cause) {
    super(message);
    this.name = type;
    this.cause = cause;
  }
}

// The request id console output is labelled with.
let currentRequestId;

// console.* writes one record to stdout in Lambda's text format:
// time<TAB>request id<TAB>LEVEL<TAB>message.
function patchConsole() {
  const write = (level) => (...args) => {
    process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${util.format(...args)}\n`);
  };
  console.log = write('INFO');
  console.info = write('INFO');
  console.warn = write('WARN');
  console.error = write('ERROR');
  console.debug = write('DEBUG');
  console.trace = write('TRACE');
}

function logError(label, report, err) {
  // The stack without this client's own frames (code run with -e is [eval]).
  const where = (err && err.stack ? String(err.stack).split('\n') : report.trace || [])
    .filter((l) => !l.includes('[eval]')).join('\n');
  process.stderr.write(`${new Date().toISOString()}\t${currentRequestId}\tERROR\t${label} \t${JSON.stringify({ errorType: report.errorType, errorMessage: report.errorMessage })}\n`);
  if (where) process.stderr.write(where + '\n');
}

// Which module system the nearest package.json gives a .js file.
function isESM(file) {
  let dir = path.dirname(file);
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module';
      } catch (e) {
        return false;
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return false;
    dir = up;
  }
}

async function loadFile(file, req) {
  if (file.endsWith('.mjs')) return import(pathToFileURL(file).href);
  if (file.endsWith('.cjs') || !isESM(file)) {
    try {
      return req(file);
    } catch (e) {
      if (e && e.code === 'ERR_REQUIRE_ESM') return import(pathToFileURL(file).href);
      throw e;
    }
  }
  return import(pathToFileURL(file).href);
}

// Loads the handler (file.export, the file relative to the code folder,
// tried as given and with .js, .mjs and .cjs, then by Node's resolution).
async function loadHandler(root, handler) {
  const slash = handler.lastIndexOf('/');
  const last = handler.slice(slash + 1);
  const dot = last.indexOf('.');
  if (dot <= 0 || dot === last.length - 1) throw new Fault('Runtime.MalformedHandlerName', `Bad handler ${handler}`);
  const moduleName = handler.slice(0, slash + 1) + last.slice(0, dot);
  const exportPath = last.slice(dot + 1);
  const req = createRequire(path.join(root, 'index.js'));
  let mod;
  let file;
  try {
    const base = path.resolve(root, moduleName);
    for (const ext of ['', '.js', '.mjs', '.cjs']) {
      try {
        if (fs.statSync(base + ext).isFile()) {
          file = base + ext;
          break;
        }
      } catch (e) { /* try the next */ }
    }
    file = file || req.resolve(base);
    mod = await loadFile(file, req);
  } catch (e) {
    if (e instanceof SyntaxError) {
      if (file && !String(e.stack).includes(path.basename(file) + ':')) {
        // An ES module's syntax error does not say where it is; node
        // --check on the file does (its first line: file:///...:LINE).
        const check = require('child_process').spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 5000 });
        const where = String(check.stderr || '').split('\n')[0];
        if (where) e.stack = where + '\n' + e.stack;
      }
      throw new Fault('Runtime.UserCodeSyntaxError', `SyntaxError: ${e.message}`, e);
    }
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new Fault('Runtime.ImportModuleError', `${e.name}: ${e.message}`, e);
    }
    throw e;
  }
  let fn = mod;
  for (const part of exportPath.split('.')) {
    fn = fn == null ? undefined : fn[part];
  }
  if (fn === undefined && mod && mod.default && typeof mod.default === 'object') {
    // An ES module importing CommonJS exports sees them under default.
    fn = mod.default;
    for (const part of exportPath.split('.')) fn = fn == null ? undefined : fn[part];
  }
  if (fn === undefined) throw new Fault('Runtime.HandlerNotFound', `${moduleName}.${exportPath} is undefined or not exported`);
  if (typeof fn !== 'function') throw new Fault('Runtime.HandlerNotFound', `${moduleName}.${exportPath} is not a function`);
  if (nodeMajor >= 24 && fn.length >= 3) {
    throw new Fault('Runtime.CallbackHandlerDeprecated',
      'AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. ' +
      'You need to modify this function to use a supported handler signature to use Node.js 24 or later.');
  }
  return fn;
}

function parseJSONHeader(v) {
  if (!v) return undefined;
  try {
    return JSON.parse(v);
  } catch (e) {
    return undefined;
  }
}

function makeContext(id, headers, settle) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  const ctx = {
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: id,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: parseJSONHeader(headers['lambda-runtime-cognito-identity']),
    clientContext: parseJSONHeader(headers['lambda-runtime-client-context']),
    tenantId: headers['lambda-runtime-aws-tenant-id'],
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  if (nodeMajor < 24) {
    ctx.callbackWaitsForEmptyEventLoop = true;
    // The pre-callback API, still offered by Lambda up to Node.js 22.
    ctx.done = (err, result) => settle(err, result);
    ctx.succeed = (result) => settle(null, result);
    ctx.fail = (err) => settle(err == null ? 'handled' : err, undefined);
  }
  return ctx;
}

// Calls the handler and settles with its outcome: a returned promise, or
// the callback (whichever comes first). A handler that takes no callback
// and returns no promise answers null, as on Lambda.
function invoke(fn, event, id, headers) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== null && err !== undefined) reject({ thrown: err });
      else resolve(result);
    };
    const ctx = makeContext(id, headers, settle);
    let out;
    try {
      out = fn(event, ctx, settle);
    } catch (e) {
      settled = true;
      reject({ thrown: e });
      return;
    }
    if (out && typeof out.then === 'function') {
      out.then((v) => settle(null, v), (e) => settle(e === undefined || e === null ? new Error(String(e)) : e));
    } else if (fn.length < 3) {
      settle(null, null);
    }
  });
}

async function main() {
  patchConsole();
  const api = new RuntimeAPI(env.AWS_LAMBDA_RUNTIME_API || '127.0.0.1:9001');
  const root = env.LAMBDA_TASK_ROOT || process.cwd();
  let fn;
  try {
    fn = await loadHandler(root, env._HANDLER || '');
  } catch (e) {
    const report = e instanceof Fault ? { errorType: e.name, errorMessage: e.message, trace: [] } : toReport(e);
    const cause = e instanceof Fault ? e.cause : e;
    if (cause && cause.stack) report.trace = String(cause.stack).split('\n');
    logError('Uncaught Exception', report, cause);
    await api.initError(report).catch(() => {});
    process.exit(1);
  }

  let current = null;
  const failCurrent = (label, report, err) => {
    logError(label, report, err);
    const id = current;
    current = null;
    const done = id ? api.fail(id, report).catch(() => {}) : Promise.resolve();
    done.then(() => process.exit(1));
  };
  process.on('uncaughtException', (err) => failCurrent('Uncaught Exception', toReport(err), err));
  process.on('unhandledRejection', (reason) => {
    const report = { errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: `${reason && reason.stack ? reason.name + ': ' + reason.message : reason}`, trace: [] };
    failCurrent('Unhandled Promise Rejection', report, reason instanceof Error ? reason : null);
  });

  for (;;) {
    const { status, headers, body } = await api.next();
    if (status !== 200) {
      process.stderr.write(`Runtime API: /next answered ${status}: ${body.toString('utf8', 0, 200)}\n`);
      process.exit(1);
    }
    const id = headers['lambda-runtime-aws-request-id'];
    currentRequestId = id;
    current = id;
    if (headers['lambda-runtime-trace-id']) env._X_AMZN_TRACE_ID = headers['lambda-runtime-trace-id'];
    else delete env._X_AMZN_TRACE_ID;
    let result;
    try {
      result = await invoke(fn, JSON.parse(body.toString('utf8')), id, headers);
    } catch (e) {
      const err = e && Object.prototype.hasOwnProperty.call(e, 'thrown') ? e.thrown : e;
      const report = toReport(err);
      logError('Invoke Error', report, err instanceof Error ? err : null);
      current = null;
      await api.fail(id, report);
      continue;
    }
    let out;
    try {
      out = JSON.stringify(result === undefined ? null : result);
      if (out === undefined) out = 'null'; // a function, a symbol
    } catch (e) {
      const report = { errorType: 'Runtime.JSONStringifyError', errorMessage: 'Unable to stringify response body', trace: [] };
      logError('Invoke Error', report, e);
      current = null;
      await api.fail(id, report);
      continue;
    }
    current = null;
    const answer = await api.respond(id, out);
    if (answer.status === 413) process.stderr.write('the response was larger than the gateway accepts\n');
  }
}

main().catch((e) => {
  process.stderr.write(`runtime client failed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
