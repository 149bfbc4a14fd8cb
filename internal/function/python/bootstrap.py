# Portcullis's runtime client for Python functions, written for Portcullis.
# Portcullis runs it as `python3 -B -c <this file>` in the function's code
# folder. It speaks the Lambda Runtime API that Portcullis serves: it loads
# the handler named by _HANDLER once, then for each invocation fetches the
# event, calls handler(event, context) and posts the result or the error,
# in the shapes AWS Lambda's Python runtime uses. See README.md.
import json
import os
import socket
import sys
import time
import traceback

_API_BASE = "/2018-06-01/runtime"


class _RuntimeAPI:
    """One kept-alive HTTP/1.1 connection to the Runtime API. Requests are
    written by hand: only Portcullis's Runtime API is spoken to, whose
    answers always carry Content-Length."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self._addr = (host.strip("[]"), int(port))
        self._host = address.encode()
        self._sock = None
        self._rfile = None

    def _connect(self):
        self._sock = socket.create_connection(self._addr)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._rfile = self._sock.makefile("rb")

    def _close(self):
        if self._sock is not None:
            try:
                self._rfile.close()
                self._sock.close()
            except OSError:
                pass
        self._sock = self._rfile = None

    def call(self, method, path, body=b"", extra=b""):
        """Sends one request; returns (status, headers with lower-case
        byte names, body)."""
        head = b"%s %s HTTP/1.1\r\nHost: %s\r\n%s" % (method, path, self._host, extra)
        if method == b"POST":
            head += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        msg = head + b"\r\n" + body
        for attempt in (0, 1):
            if self._sock is None:
                self._connect()
            try:
                self._sock.sendall(msg)
                status_line = self._rfile.readline(65536)
                if not status_line:
                    raise ConnectionError("the Runtime API closed the connection")
                break
            except OSError:
                # A connection the server closed after its last answer:
                # one new connection, then give up.
                self._close()
                if attempt:
                    raise
        status = int(status_line.split(None, 2)[1])
        headers = {}
        while True:
            line = self._rfile.readline(65536)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        n = int(headers.get(b"content-length", b"0"))
        data = self._rfile.read(n) if n else b""
        if headers.get(b"connection", b"").lower() == b"close":
            self._close()
        return status, headers, data

    def next(self):
        return self.call(b"GET", b"/2018-06-01/runtime/invocation/next")

    def respond(self, request_id, body):
        return self.call(b"POST", b"%s/invocation/%s/response" % (_API_BASE.encode(), request_id), body)

    def fail(self, request_id, report):
        return self.call(b"POST", b"%s/invocation/%s/error" % (_API_BASE.encode(), request_id), _report_json(report))

    def init_error(self, report):
        extra = b"Lambda-Runtime-Function-Error-Type: %s\r\n" % _header_safe(report["errorType"])
        return self.call(b"POST", _API_BASE.encode() + b"/init/error", _report_json(report), extra)


def _header_safe(s):
    return "".join(c if " " <= c <= "~" else "?" for c in s).encode()


def _report_json(report):
    try:
        return json.dumps(report).encode()
    except (TypeError, ValueError):
        return json.dumps({"errorMessage": str(report.get("errorMessage")), "errorType": str(report.get("errorType"))}).encode()


class _Fault(Exception):
    """A failure of the runtime itself, reported with a Runtime.* type."""

    def __init__(self, error_type, message, stack=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack = stack or []


class CognitoIdentity:
    """context.identity: the Cognito identity of a mobile SDK caller."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, data):
        data = data or {}
        self.cognito_identity_id = data.get("cognitoIdentityId")
        self.cognito_identity_pool_id = data.get("cognitoIdentityPoolId")

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.cognito_identity_id, self.cognito_identity_pool_id)


class ClientContext:
    """context.client_context: what a mobile SDK caller sent."""

    __slots__ = ("client", "custom", "env")

    def __init__(self, data):
        client = data.get("client")
        self.client = _Client(client) if client else None
        self.custom = data.get("custom")
        self.env = data.get("env")

    def __repr__(self):
        return "ClientContext([client=%s,custom=%s,env=%s])" % (self.client, self.custom, self.env)


class _Client:
    __slots__ = ("installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name")

    def __init__(self, data):
        self.installation_id = data.get("installation_id")
        self.app_title = data.get("app_title")
        self.app_version_name = data.get("app_version_name")
        self.app_version_code = data.get("app_version_code")
        self.app_package_name = data.get("app_package_name")

    def __repr__(self):
        return "Client(%s)" % ", ".join("%s=%s" % (k, getattr(self, k)) for k in self.__slots__)


def _json_header(headers, name):
    raw = headers.get(name)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


class LambdaContext:
    """The handler's second argument, with the attributes and methods of
    AWS Lambda's Python context object."""

    def __init__(self, request_id, headers):
        env = os.environ
        self.aws_request_id = request_id
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        arn = headers.get(b"lambda-runtime-invoked-function-arn")
        self.invoked_function_arn = arn.decode() if arn is not None else None
        tenant = headers.get(b"lambda-runtime-aws-tenant-id")
        self.tenant_id = tenant.decode() if tenant is not None else None
        self.identity = CognitoIdentity(_json_header(headers, b"lambda-runtime-cognito-identity"))
        cc = _json_header(headers, b"lambda-runtime-client-context")
        self.client_context = ClientContext(cc) if isinstance(cc, dict) else None
        try:
            self._deadline_ms = int(headers.get(b"lambda-runtime-deadline-ms", b"0"))
        except ValueError:
            self._deadline_ms = 0

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, msg):
        sys.stdout.write(str(msg))
        sys.stdout.flush()

    def __repr__(self):
        return ("LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,function_name=%s,"
                "memory_limit_in_mb=%s,function_version=%s,invoked_function_arn=%s,client_context=%s,identity=%s])") % (
            self.aws_request_id, self.log_group_name, self.log_stream_name, self.function_name,
            self.memory_limit_in_mb, self.function_version, self.invoked_function_arn,
            self.client_context, self.identity)


# The request id the logging handler labels records with.
_current = {"request_id": ""}


def _install_logging():
    """Root logger records go to stdout in Lambda's text format:
    [LEVEL]<TAB>time<TAB>request id<TAB>message."""
    import logging

    class _RequestIDFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _current["request_id"]
            return True

    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIDFilter())
    logging.getLogger().addHandler(handler)


def _user_frames(tb):
    """The traceback's frames from the first one that is not this client's
    (frames of code run with -c are named "<string>")."""
    frames = traceback.extract_tb(tb)
    while frames and frames[0].filename == "<string>":
        frames.pop(0)
    return frames


def _report(exc, request_id=None):
    """An invocation error as Lambda's Python runtime reports it."""
    report = {"errorMessage": str(exc), "errorType": type(exc).__name__}
    if request_id is not None:
        report["requestId"] = request_id
    report["stackTrace"] = traceback.format_list(_user_frames(exc.__traceback__))
    return report


def _log_error(report, exc=None):
    """Writes the error to stderr, as Lambda logs it: the type and message,
    then where it happened, so the gateway's log shows the file and line."""
    out = ["[ERROR] %s: %s" % (report["errorType"], report["errorMessage"])]
    if exc is not None and exc.__traceback__ is not None:
        out.append("Traceback (most recent call last):")
        out.extend(line.rstrip("\n") for line in traceback.format_list(_user_frames(exc.__traceback__)))
    elif report.get("stackTrace"):
        out.append("Traceback (most recent call last):")
        out.extend(line.rstrip("\n") for line in report["stackTrace"])
    sys.stdout.flush()
    sys.stderr.write("\n".join(out) + "\n")
    sys.stderr.flush()


def _load_handler(handler):
    """Imports the handler's module (once) and returns the function, or
    raises _Fault with the Runtime.* type Lambda uses."""
    modname, dot, fname = handler.rpartition(".")
    if not dot or not modname or not fname:
        raise _Fault("Runtime.MalformedHandlerName",
                     "Bad handler '%s': not enough values to unpack (expected 2, got 1)" % handler)
    modname = modname.replace("/", ".")
    if modname in sys.builtin_module_names:
        raise _Fault("Runtime.BuiltInModuleConflict", "Cannot use built-in module %s as a handler module" % modname)
    import importlib
    try:
        module = importlib.import_module(modname)
    except ImportError as e:
        raise _Fault("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (modname, e),
                     traceback.format_list(_user_frames(e.__traceback__))) from e
    except SyntaxError as e:
        raise _Fault("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (modname, e),
                     traceback.format_list(_user_frames(e.__traceback__))) from e
    try:
        return getattr(module, fname)
    except AttributeError:
        raise _Fault("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fname, modname)) from None


def _to_json_default(obj):
    import decimal
    if isinstance(obj, decimal.Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    raise TypeError("Object of type %s is not JSON serializable" % type(obj).__name__)


# One encoder for every result (json.dumps with default= would make one
# per call).
_encode = json.JSONEncoder(default=_to_json_default).encode


def main():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True, encoding="utf-8", errors="backslashreplace")
        except (AttributeError, ValueError):
            pass
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    # The code folder first on the module path, as /var/task is on Lambda
    # (-c put the working directory, the same folder, there as "").
    if sys.path and sys.path[0] == "":
        sys.path.pop(0)
    sys.path.insert(0, task_root)
    api = _RuntimeAPI(os.environ.get("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"))
    _install_logging()

    try:
        handler = _load_handler(os.environ.get("_HANDLER", ""))
    except _Fault as f:
        report = {"errorMessage": f.message, "errorType": f.error_type, "requestId": "", "stackTrace": f.stack}
        _log_error(report, f.__cause__)
        api.init_error(report)
        sys.exit(1)
    except Exception as e:  # raised while the module ran
        report = _report(e, "")
        _log_error(report, e)
        api.init_error(report)
        sys.exit(1)

    environ = os.environ
    while True:
        status, headers, event = api.next()
        if status != 200:
            sys.stderr.write("[ERROR] Runtime API: /next answered %d: %s\n" % (status, event[:200].decode("utf-8", "replace")))
            sys.exit(1)
        request_id = headers.get(b"lambda-runtime-aws-request-id", b"").decode()
        _current["request_id"] = request_id
        trace_id = headers.get(b"lambda-runtime-trace-id")
        if trace_id is not None:
            environ["_X_AMZN_TRACE_ID"] = trace_id.decode()
        elif "_X_AMZN_TRACE_ID" in environ:
            del environ["_X_AMZN_TRACE_ID"]
        rid = request_id.encode()
        try:
            result = handler(json.loads(event), LambdaContext(request_id, headers))
        except Exception as e:
            report = _report(e, request_id)
            _log_error(report, e)
            api.fail(rid, report)
            continue
        try:
            body = _encode(result).encode()
        except (TypeError, ValueError, OverflowError) as e:
            report = {"errorMessage": "Unable to marshal response: %s" % e, "errorType": "Runtime.MarshalError",
                      "requestId": request_id, "stackTrace": []}
            _log_error(report)
            api.fail(rid, report)
            continue
        status, _, answer = api.respond(rid, body)
        if status == 413:
            sys.stderr.write("[ERROR] the response was larger than the gateway accepts\n")


main()
