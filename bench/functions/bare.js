// The least a Node.js program must do to answer an invocation through the
// Runtime API: read the event's headers and body, post "{}" back, on one
// kept-alive connection; no JSON, no handler, no context. The load harness
// measures it as Node's own minimum, beside Portcullis's Node.js runtime
// client calling an empty handler.
'use strict';
const net = require('net');
const api = process.env.AWS_LAMBDA_RUNTIME_API;
const i = api.lastIndexOf(':');
const sock = net.connect({ host: api.slice(0, i), port: Number(api.slice(i + 1)) });
sock.setNoDelay(true);
const NEXT = 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: runtime\r\n\r\n';
let buf = Buffer.alloc(0);
let waitingFor = 'event';
sock.on('data', (d) => {
  buf = buf.length ? Buffer.concat([buf, d]) : d;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = buf.toString('latin1', 0, end);
    const len = Number((/content-length: *(\d+)/i.exec(head) || [0, 0])[1]);
    if (buf.length < end + 4 + len) return;
    buf = buf.subarray(end + 4 + len);
    if (waitingFor === 'event') {
      const id = /lambda-runtime-aws-request-id: *([^\r]+)/i.exec(head)[1];
      waitingFor = 'accepted';
      sock.write(`POST /2018-06-01/runtime/invocation/${id}/response HTTP/1.1\r\nHost: runtime\r\nContent-Length: 2\r\n\r\n{}`);
    } else {
      waitingFor = 'event';
      sock.write(NEXT);
    }
  }
});
sock.write(NEXT);
