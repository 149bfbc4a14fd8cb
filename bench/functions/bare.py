# The least a Python program must do to answer an invocation through the
# Runtime API: read the event's headers and body, post "{}" back, on one
# kept-alive connection; no JSON, no handler, no context. The load harness
# measures it as Python's own minimum, beside Portcullis's Python runtime
# client calling an empty handler.
import os
import socket

host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rpartition(":")
sock = socket.create_connection((host, int(port)))
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
rfile = sock.makefile("rb")
NEXT = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: runtime\r\n\r\n"


def read_answer():
    rfile.readline()
    length, request_id = 0, b""
    while True:
        line = rfile.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"lambda-runtime-aws-request-id":
            request_id = value.strip()
    return request_id, rfile.read(length)


while True:
    sock.sendall(NEXT)
    request_id, _ = read_answer()
    sock.sendall(b"POST /2018-06-01/runtime/invocation/" + request_id +
                 b"/response HTTP/1.1\r\nHost: runtime\r\nContent-Length: 2\r\n\r\n{}")
    read_answer()
