"""A real S3-compatible server on loopback, and a fault-injecting proxy in front of it.

Tests of the S3 FileSystem need an endpoint that speaks the real protocol
(SigV4, conditional PUT, XML errors) without any network beyond 127.0.0.1.
``S3Server`` runs versitygw (Apache-2.0, built by scripts/install-s3-server.sh)
over a temporary directory; ``FaultProxy`` sits between a client and that
server and makes chosen requests fail the ways real object stores fail.

Importable without pytest; standard library only (pyarrow is optional and
only used by callers).

Facts about versitygw v1.8.0 the helpers rely on (verified, see
test_s3_server.py):

* Every request must carry ``x-amz-content-sha256`` (hex SHA-256 of the
  body, or ``UNSIGNED-PAYLOAD``); without it the server answers
  400 InvalidRequest.  curl 7.88 ``--aws-sigv4`` does not add it by itself.
* ``If-None-Match: *`` on PUT is enforced atomically: of many concurrent
  creators exactly one gets 200, the others 412 PreconditionFailed.
* The signature is checked against the Host header the client sent, so a
  proxy that forwards Host untouched keeps signatures valid.
* Without ``--keep-alive`` (the default here) every response says
  ``Connection: close``; see ``S3Server`` for why it stays off.
"""

from __future__ import annotations

import atexit
import collections
import datetime
import hashlib
import hmac
import http.client
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-s3-server.sh"

DEFAULT_ACCESS_KEY = "datashard-test-key"
DEFAULT_SECRET_KEY = "datashard-test-secret"
DEFAULT_REGION = "us-east-1"

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class S3ServerUnavailable(RuntimeError):
    """The versitygw binary could not be found or built (e.g. no Go toolchain).

    The tests fail on it (they are never skipped): scripts/test.sh installs
    the Go toolchain's prerequisites and builds the binary first.
    """


# --------------------------------------------------------------------------
# The server binary


_binary_lock = threading.Lock()
_binary_path: Optional[str] = None


def ensure_server_binary() -> str:
    """Path of the versitygw binary, building it on first use.

    ``DATASHARD_VERSITYGW`` names a ready binary and skips the install script;
    otherwise the script is idempotent and fast once its cache is filled, so
    calling it per process is cheap.
    """
    global _binary_path
    with _binary_lock:
        if _binary_path is not None:
            return _binary_path
        override = os.environ.get("DATASHARD_VERSITYGW")
        if override:
            if not os.access(override, os.X_OK):
                raise S3ServerUnavailable(f"DATASHARD_VERSITYGW={override} is not executable")
            _binary_path = override
            return _binary_path
        proc = subprocess.run(
            ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True
        )
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines or not os.access(lines[-1], os.X_OK):
            raise S3ServerUnavailable(
                f"{INSTALL_SCRIPT.name} failed (rc={proc.returncode}): "
                f"{proc.stderr.strip()[-2000:]}"
            )
        _binary_path = lines[-1]
        return _binary_path


# --------------------------------------------------------------------------
# SigV4: enough to sign our own requests and to re-sign a forwarded one


def uri_encode(text: str, encode_slash: bool) -> str:
    """AWS URI encoding: everything but A-Z a-z 0-9 - _ . ~ is %XX (uppercase)."""
    return urllib.parse.quote(text, safe="-_.~" + ("" if encode_slash else "/"))


def canonical_query(raw_query: str) -> str:
    """Canonical query string of a request's raw query, as SigV4 defines it.

    Keys and values are decoded then re-encoded so that a client's choice of
    escaping does not matter, then sorted.
    """
    if not raw_query:
        return ""
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append(
            (
                uri_encode(urllib.parse.unquote(key), True),
                uri_encode(urllib.parse.unquote(value), True),
            )
        )
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _canonical_header_value(values: list[str]) -> str:
    return ",".join(" ".join(v.split()) for v in values)


def sigv4_signature(
    *,
    secret_key: str,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    signed_names: list[str],
    amz_date: str,
    scope: str,
    payload_hash: str,
) -> str:
    """Hex SigV4 signature of a request.

    ``raw_path`` is used as sent on the wire (S3 does not normalise or
    double-encode paths); ``scope`` is ``date/region/service/aws4_request``.
    """
    by_name: dict[str, list[str]] = collections.defaultdict(list)
    for name, value in headers:
        by_name[name.lower()].append(value)
    canonical_headers = "".join(
        f"{name}:{_canonical_header_value(by_name.get(name, []))}\n" for name in signed_names
    )
    canonical_request = "\n".join(
        [
            method,
            raw_path or "/",
            canonical_query(raw_query),
            canonical_headers,
            ";".join(signed_names),
            payload_hash,
        ]
    )
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = ("AWS4" + secret_key).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass
class Credentials:
    access_key: str
    secret_key: str
    region: str = DEFAULT_REGION


def signed_headers_for(
    creds: Credentials,
    method: str,
    host: str,
    raw_path: str,
    raw_query: str,
    body: bytes,
    extra: Optional[dict[str, str]] = None,
    now: Optional[datetime.datetime] = None,
) -> dict[str, str]:
    """Headers (Host, x-amz-*, Authorization) that sign a request with ``creds``.

    Every header in ``extra`` is signed too, as curl and the AWS SDKs do,
    and the payload hash is always sent because versitygw requires it.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{now:%Y%m%d}/{creds.region}/s3/aws4_request"
    payload_hash = hashlib.sha256(body).hexdigest()
    headers = {"Host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash}
    headers.update(extra or {})
    signed = sorted(name.lower() for name in headers)
    signature = sigv4_signature(
        secret_key=creds.secret_key,
        method=method,
        raw_path=raw_path,
        raw_query=raw_query,
        headers=headers.items(),
        signed_names=signed,
        amz_date=amz_date,
        scope=scope,
        payload_hash=payload_hash,
    )
    headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={creds.access_key}/{scope}, "
        f"SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
    return headers


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def error_code(self) -> Optional[str]:
        """The <Code> of an S3 XML error body, if there is one."""
        start = self.body.find(b"<Code>")
        end = self.body.find(b"</Code>")
        if start < 0 or end < 0:
            return None
        return self.body[start + 6 : end].decode()


def s3_request(
    endpoint: str,
    creds: Credentials,
    method: str,
    path: str,
    body: bytes = b"",
    headers: Optional[dict[str, str]] = None,
    query: str = "",
    timeout: float = 30.0,
) -> Response:
    """One signed path-style request; ``path`` is ``/bucket/key`` unencoded.

    Meant for test set-up and checks, not for the code under test: a fresh
    connection per call, whole body in memory.
    """
    parsed = urllib.parse.urlsplit(endpoint)
    raw_path = uri_encode(path, encode_slash=False)
    all_headers = signed_headers_for(
        creds, method, parsed.netloc, raw_path, query, body, headers
    )
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
    try:
        target = raw_path + (f"?{query}" if query else "")
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in all_headers.items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


# --------------------------------------------------------------------------
# The server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers_http(host: str, port: int) -> bool:
    """True once something on host:port answers an HTTP request with a status line."""
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n" % (host.encode(), port))
            return s.recv(16).startswith(b"HTTP/1.")
    except OSError:
        return False


_live_servers: "set[S3Server]" = set()
_live_lock = threading.Lock()


def _stop_all_servers() -> None:
    """atexit hook: no server outlives the interpreter that started it."""
    with _live_lock:
        servers = list(_live_servers)
    for server in servers:
        server.stop()


atexit.register(_stop_all_servers)


class S3Server:
    """versitygw serving a fresh temporary directory on 127.0.0.1.

    Use as a context manager, or call start()/stop().  The process is also
    stopped at interpreter exit, and (through ``setpriv --pdeathsig``) when
    the thread that started it dies, so a killed test run leaves no server
    behind.  Start servers from a long-lived thread (the main thread, as
    pytest fixtures do), not from a short-lived worker.

    ``keep_alive`` is off by default: then every response carries
    ``Connection: close``.  With versitygw's ``--keep-alive``, requests with
    Content-Length reuse connections fine, but after an upload that
    pyarrow's AWS SDK sends as ``Transfer-Encoding: chunked`` /
    ``aws-chunked`` with a checksum trailer, the next request on that
    connection intermittently fails with 400 BadRequest ("An error occurred
    when parsing the HTTP request"; about 1 upload in 8).  Turn it on only
    for tests of connection reuse by clients that send Content-Length.
    """

    START_TIMEOUT_S = 20.0

    def __init__(
        self,
        access_key: str = DEFAULT_ACCESS_KEY,
        secret_key: str = DEFAULT_SECRET_KEY,
        region: str = DEFAULT_REGION,
        keep_alive: bool = False,
    ) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.keep_alive = keep_alive
        self.host = "127.0.0.1"
        self.port: Optional[int] = None
        self.root: Optional[Path] = None  # the directory versitygw serves
        self._tmp: Optional[str] = None
        self._proc: Optional[subprocess.Popen] = None
        self._log_path: Optional[Path] = None

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> "S3Server":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "S3Server":
        binary = ensure_server_binary()
        self._tmp = tempfile.mkdtemp(prefix="datashard-s3-")
        self.root = Path(self._tmp) / "data"
        self.root.mkdir()
        self._log_path = Path(self._tmp) / "versitygw.log"
        with _live_lock:
            _live_servers.add(self)
        # A free port can be taken between probing and binding; try a few.
        last_error = ""
        for _ in range(3):
            self.port = _free_port()
            self._spawn(binary)
            last_error = self._wait_ready()
            if not last_error:
                return self
            self._kill()
        self.stop()
        raise RuntimeError(f"versitygw did not start: {last_error}")

    def _command(self, binary: str) -> list[str]:
        # Global options must come before the backend subcommand; the served
        # directory is the subcommand's only argument.
        cmd = [
            binary,
            "--access", self.access_key,
            "--secret", self.secret_key,
            "--region", self.region,
            "--port", f"{self.host}:{self.port}",
            "--quiet",
        ]
        if self.keep_alive:
            cmd.append("--keep-alive")
        cmd += ["posix", str(self.root)]
        if shutil.which("setpriv"):
            cmd = ["setpriv", "--pdeathsig", "TERM", "--"] + cmd
        return cmd

    def _spawn(self, binary: str) -> None:
        # Credentials in the environment would override nothing (flags win)
        # but keep the child's environment free of them anyway.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ROOT_", "VGW_"))}
        with open(self._log_path, "ab") as log:
            self._proc = subprocess.Popen(
                self._command(binary),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self._tmp,
            )

    def _wait_ready(self) -> str:
        """'' once the server answers HTTP, else why it never did."""
        deadline = time.monotonic() + self.START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return f"exited with {self._proc.returncode}: {self.log_tail()}"
            if _answers_http(self.host, self.port):
                return ""
            time.sleep(0.05)
        return f"no answer within {self.START_TIMEOUT_S}s: {self.log_tail()}"

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        """Kill the server and remove its directory. Safe to call twice."""
        self._kill()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        with _live_lock:
            _live_servers.discard(self)

    @property
    def pid(self) -> Optional[int]:
        return self._proc.pid if self._proc else None

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self._log_path.read_text(errors="replace")[-n:]
        except (OSError, AttributeError):
            return ""

    # -- addressing --------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.access_key, self.secret_key, self.region)

    def request(self, method: str, path: str, body: bytes = b"", headers=None,
                query: str = "", endpoint: Optional[str] = None) -> Response:
        """A signed request to this server, or through ``endpoint`` (a proxy)."""
        return s3_request(endpoint or self.endpoint, self.credentials, method, path,
                          body, headers, query)

    def create_bucket(self, name: str) -> None:
        resp = self.request("PUT", f"/{name}")
        if resp.status != 200:
            raise RuntimeError(f"create bucket {name}: {resp.status} {resp.body[:300]!r}")

    def pyarrow_fs(self, endpoint: Optional[str] = None):
        """A pyarrow S3FileSystem on this server (or on a proxy in front of it)."""
        from pyarrow import fs as pafs

        target = endpoint or self.endpoint
        return pafs.S3FileSystem(
            endpoint_override=target.split("://", 1)[1],
            scheme="http",
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
        )


# --------------------------------------------------------------------------
# HTTP/1.1 message plumbing for the proxy


class _PeerClosed(Exception):
    """The peer closed the connection where a new message could start."""


@dataclass
class _Head:
    """A request or response head: start line plus headers, order and case kept."""

    start_line: str
    headers: list[tuple[str, str]]

    def get(self, name: str) -> Optional[str]:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    def has_token(self, name: str, token: str) -> bool:
        value = self.get(name) or ""
        return token in [t.strip().lower() for t in value.split(",")]

    def without(self, name: str) -> "_Head":
        lname = name.lower()
        return _Head(self.start_line, [(k, v) for k, v in self.headers if k.lower() != lname])

    def replace(self, name: str, value: str) -> "_Head":
        lname = name.lower()
        return _Head(
            self.start_line,
            [(k, value if k.lower() == lname else v) for k, v in self.headers],
        )

    def encode(self) -> bytes:
        lines = [self.start_line] + [f"{k}: {v}" for k, v in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _read_head(rfile) -> _Head:
    line = rfile.readline(65537)
    if not line:
        raise _PeerClosed()
    start = line.decode("latin-1").rstrip("\r\n")
    headers = []
    while True:
        raw = rfile.readline(65537)
        if not raw:
            raise ConnectionError("connection closed inside a message head")
        text = raw.decode("latin-1").rstrip("\r\n")
        if not text:
            return _Head(start, headers)
        name, _, value = text.partition(":")
        headers.append((name, value.strip()))


def _copy_exact(rfile, sink: Callable[[bytes], None], n: int) -> None:
    while n > 0:
        block = rfile.read(min(n, 1 << 16))
        if not block:
            raise ConnectionError("connection closed inside a message body")
        sink(block)
        n -= len(block)


def _copy_chunked(rfile, sink: Callable[[bytes], None]) -> None:
    """Relay a chunked body verbatim (sizes, extensions, trailers included)."""
    while True:
        size_line = rfile.readline(65537)
        if not size_line:
            raise ConnectionError("connection closed inside a chunked body")
        sink(size_line)
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            break
        _copy_exact(rfile, sink, size + 2)  # data + CRLF
    while True:  # trailers, then the empty line
        line = rfile.readline(65537)
        if not line:
            raise ConnectionError("connection closed inside chunked trailers")
        sink(line)
        if line in (b"\r\n", b"\n"):
            return


def _copy_request_body(head: _Head, rfile, sink: Callable[[bytes], None]) -> None:
    if head.has_token("Transfer-Encoding", "chunked"):
        _copy_chunked(rfile, sink)
    else:
        _copy_exact(rfile, sink, int(head.get("Content-Length") or 0))


def _response_has_body(method: str, status: int) -> bool:
    return not (method == "HEAD" or 100 <= status < 200 or status in (204, 304))


def _copy_response_body(method: str, head: _Head, rfile, sink) -> bool:
    """Relay a response body; True if the body ran to EOF (connection unusable)."""
    status = int(head.start_line.split()[1])
    if not _response_has_body(method, status):
        return False
    if head.has_token("Transfer-Encoding", "chunked"):
        _copy_chunked(rfile, sink)
        return False
    length = head.get("Content-Length")
    if length is not None:
        _copy_exact(rfile, sink, int(length))
        return False
    while True:
        block = rfile.read1(1 << 16)
        if not block:
            return True
        sink(block)


def _discard(_: bytes) -> None:
    pass


def _error_xml(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>FAULTPROXY</RequestId></Error>"
    ).encode()


SLOW_DOWN_XML = _error_xml("SlowDown", "Please reduce your request rate.")
INTERNAL_ERROR_XML = _error_xml("InternalError", "We encountered an internal error. Please try again.")


def _default_error_body(status: int) -> bytes:
    if status == 503:
        return SLOW_DOWN_XML
    if status == 500:
        return INTERNAL_ERROR_XML
    return _error_xml("InjectedFault", f"FaultProxy answered {status}.")


# --------------------------------------------------------------------------
# The proxy


@dataclass
class _Rule:
    kind: str  # "fail_next" | "fail_after_forward" | "reset_after_body"
    remaining: int
    status: int = 0
    body: bytes = b""
    method: Optional[str] = None
    path: Optional[str] = None
    predicate: Optional[Callable[[str, str], bool]] = None

    def matches(self, method: str, target: str) -> bool:
        if self.remaining <= 0:
            return False
        if self.method and self.method.upper() != method:
            return False
        if self.path and self.path not in urllib.parse.unquote(target):
            return False
        return self.predicate is None or self.predicate(method, target)


@dataclass
class ProxyEvent:
    """One request the proxy saw and what it did with it."""

    method: str
    target: str
    action: str  # forwarded | fail_next | fail_after_forward | reset_after_body | cannot_strip
    status: Optional[int] = None  # what the client got; None after a reset
    stripped_if_none_match: bool = False


class FaultProxy:
    """Threaded HTTP/1.1 reverse proxy on 127.0.0.1 that injects S3 faults.

    Requests are forwarded byte for byte, headers in their order and case,
    Host and Authorization included, bodies streamed (Content-Length or
    chunked, ``Expect: 100-continue`` honoured), so SigV4 signatures made
    for the proxy's address stay valid at the server (versitygw checks the
    Host the client signed, not its own address).  Each client request gets
    its own upstream connection; the client side may keep its connection
    alive.  When the server answers before it has read a large body (a 412
    to a losing conditional PUT), the proxy relays that answer and closes
    gracefully, so through the proxy the client sees the 412; talking to
    versitygw directly it sometimes sees a connection reset instead.

    Faults, set at run time by tests:

    * ``strip_if_none_match = True``: PUT/POST requests reach the server
      without If-None-Match, so the server overwrites: an endpoint that
      ignores conditional writes.  curl and the AWS SDKs sign that header,
      so dropping it would only turn the request into a 403; the proxy
      therefore re-signs the request with the server's credentials, same
      x-amz-date and payload hash, minus that header.  This works for hex
      and UNSIGNED-PAYLOAD / STREAMING-UNSIGNED-PAYLOAD-TRAILER payloads;
      a chunk-signed body (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) cannot be
      re-signed and is answered 501 by the proxy itself.
    * ``fail_next(n, status=503, body=SlowDown)``: the next n matching
      requests are answered by the proxy and never reach the server.
    * ``fail_after_forward(n, status=500)``: forwarded and applied by the
      server, but the client gets ``status`` instead: the write happened
      although the client was told it failed.
    * ``reset_after_body(n)``: forwarded and applied, then the client
      connection is reset (TCP RST) without any response.

    Each fault takes an optional ``method``, ``path`` (substring of the
    decoded request target) and ``predicate(method, target)``; the oldest
    rule that matches fires.  ``counts`` tallies requests per method and
    ``events`` records each one.
    """

    SOCKET_TIMEOUT_S = 60.0

    def __init__(self, server: S3Server) -> None:
        self.server = server
        self.strip_if_none_match = False
        self.counts: collections.Counter[str] = collections.Counter()
        self.events: list[ProxyEvent] = []
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._listener: Optional[socket.socket] = None
        self._clients: set[socket.socket] = set()
        self._thread: Optional[threading.Thread] = None
        self.port: Optional[int] = None

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "FaultProxy":
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        with self._lock:
            clients = list(self._clients)
        for conn in clients:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- fault control -----------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 503, body: Optional[bytes] = None,
                  method: Optional[str] = None, path: Optional[str] = None,
                  predicate: Optional[Callable[[str, str], bool]] = None) -> None:
        self._add(_Rule("fail_next", n, status, body if body is not None else _default_error_body(status),
                        method, path, predicate))

    def fail_after_forward(self, n: int = 1, status: int = 500, body: Optional[bytes] = None,
                           method: Optional[str] = None, path: Optional[str] = None,
                           predicate: Optional[Callable[[str, str], bool]] = None) -> None:
        self._add(_Rule("fail_after_forward", n, status,
                        body if body is not None else _default_error_body(status),
                        method, path, predicate))

    def reset_after_body(self, n: int = 1, method: Optional[str] = None, path: Optional[str] = None,
                         predicate: Optional[Callable[[str, str], bool]] = None) -> None:
        self._add(_Rule("reset_after_body", n, 0, b"", method, path, predicate))

    def clear_faults(self) -> None:
        """Drop pending rules and stop stripping If-None-Match."""
        with self._lock:
            self._rules.clear()
        self.strip_if_none_match = False

    def reset_counters(self) -> None:
        with self._lock:
            self.counts.clear()
            self.events.clear()

    def pending_faults(self) -> int:
        with self._lock:
            return sum(r.remaining for r in self._rules)

    def _add(self, rule: _Rule) -> None:
        with self._lock:
            self._rules.append(rule)

    def _take_rule(self, method: str, target: str) -> Optional[_Rule]:
        with self._lock:
            self.counts[method] += 1
            for rule in self._rules:
                if rule.matches(method, target):
                    rule.remaining -= 1
                    return rule
            return None

    def _record(self, event: ProxyEvent) -> None:
        with self._lock:
            self.events.append(event)

    # -- serving -----------------------------------------------------------

    def _accept_loop(self) -> None:
        while True:
            listener = self._listener
            if listener is None:
                return
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self._clients.add(conn)
            threading.Thread(target=self._serve_client, args=(conn,), daemon=True).start()

    def _serve_client(self, conn: socket.socket) -> None:
        conn.settimeout(self.SOCKET_TIMEOUT_S)
        rfile = conn.makefile("rb")
        try:
            while self._serve_one(conn, rfile):
                pass
        except (_PeerClosed, OSError, ValueError):
            pass
        finally:
            with self._lock:
                self._clients.discard(conn)
            self._lingering_close(conn, rfile)

    @staticmethod
    def _lingering_close(conn: socket.socket, rfile) -> None:
        """Close so that an answer sent before the client finished its body
        still arrives: closing with unread input makes the kernel send a RST,
        which can destroy the response in flight.  So: stop writing, read
        what the client still sends (briefly), then close."""
        try:
            if conn.fileno() >= 0:
                conn.shutdown(socket.SHUT_WR)
                conn.settimeout(2.0)
                while rfile.read1(1 << 16):
                    pass
        except (OSError, ValueError):
            pass
        finally:
            rfile.close()
            conn.close()

    def _serve_one(self, conn: socket.socket, rfile) -> bool:
        """Handle one request; True if the client connection stays open."""
        head = _read_head(rfile)
        method, target = head.start_line.split(" ", 2)[:2]
        rule = self._take_rule(method, target)
        event = ProxyEvent(method, target, rule.kind if rule else "forwarded")

        if rule is not None and rule.kind == "fail_next":
            return self._answer_locally(conn, rfile, head, method, rule.status, rule.body, event)

        stripped = False
        if self.strip_if_none_match and method in ("PUT", "POST") and head.get("If-None-Match") is not None:
            head, problem = self._without_if_none_match(head, method, target)
            if problem:
                body = _error_xml("NotImplemented", problem)
                event.action = "cannot_strip"
                return self._answer_locally(conn, rfile, head, method, 501, body, event)
            stripped = True
        event.stripped_if_none_match = stripped

        with socket.create_connection((self.server.host, self.server.port),
                                      timeout=self.SOCKET_TIMEOUT_S) as upstream:
            up_rfile = upstream.makefile("rb")
            try:
                resp, client_sent_body = self._forward_request(conn, rfile, upstream, up_rfile, head)
                if rule is not None:
                    _copy_response_body(method, resp, up_rfile, _discard)
                    if rule.kind == "reset_after_body":
                        self._record(event)
                        self._reset(conn, rfile)
                        return False
                    # The body, if any, is consumed (or, after a refused
                    # 100-continue, never sent): answer and close.
                    return self._answer_locally(conn, None, head, method, rule.status, rule.body, event)
                # Record before answering, so a client that has its answer
                # also sees the event.
                event.status = int(resp.start_line.split()[1])
                self._record(event)
                conn.sendall(resp.encode())
                ran_to_eof = _copy_response_body(method, resp, up_rfile, conn.sendall)
            finally:
                up_rfile.close()
        return (
            client_sent_body
            and not ran_to_eof
            and not resp.has_token("Connection", "close")
            and not head.has_token("Connection", "close")
        )

    def _forward_request(self, conn, rfile, upstream, up_rfile, head: _Head) -> tuple[_Head, bool]:
        """Send the request upstream; return the final response head and whether
        the client's body was relayed (False if the server answered before a
        100-continue, in which case the client connection must be closed)."""
        upstream.sendall(head.encode())
        if head.has_token("Expect", "100-continue"):
            resp = _read_head(up_rfile)
            if not resp.start_line.split()[1].startswith("1"):
                return resp, False
            conn.sendall(resp.encode())  # let the client send its body
        try:
            _copy_request_body(head, rfile, upstream.sendall)
        except OSError:
            # The server may answer (e.g. 412) and close before it has read
            # the whole body; pass that answer on if there is one, as a
            # direct client would usually see it.
            try:
                return _read_head(up_rfile), False
            except (OSError, _PeerClosed):
                raise ConnectionError("server closed the connection mid-request") from None
        while True:
            resp = _read_head(up_rfile)
            if int(resp.start_line.split()[1]) >= 200:
                return resp, True
            # An interim response the client did not ask for: pass it on.
            conn.sendall(resp.encode())

    def _answer_locally(self, conn, rfile, head: _Head, method: str, status: int,
                        body: bytes, event: ProxyEvent) -> bool:
        """Answer without the server; the client connection is closed after."""
        if rfile is not None and not head.has_token("Expect", "100-continue"):
            _copy_request_body(head, rfile, _discard)
        reason = http.client.responses.get(status, "Error")
        lines = [
            f"HTTP/1.1 {status} {reason}",
            "Server: datashard-fault-proxy",
            "Content-Type: application/xml",
            f"Content-Length: {len(body)}",
            "x-amz-request-id: FAULTPROXY",
            "Connection: close",
        ]
        event.status = status
        self._record(event)
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        if _response_has_body(method, status):
            conn.sendall(body)
        return False

    @staticmethod
    def _reset(conn: socket.socket, rfile) -> None:
        """Close with RST instead of FIN: the client sees 'connection reset'.

        The reader made by makefile() holds the descriptor open too; it is
        closed first so that close() really closes now.
        """
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        rfile.close()
        conn.close()

    def _without_if_none_match(self, head: _Head, method: str, target: str) -> tuple[_Head, str]:
        """The request without If-None-Match, re-signed if the header was signed.

        Returns (head, '') or (head, why it cannot be done).
        """
        auth = head.get("Authorization") or ""
        stripped = head.without("If-None-Match")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return stripped, ""  # unsigned, or presigned in the query: nothing to redo
        fields = dict(
            part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 "):].split(",")
        )
        signed = fields["SignedHeaders"].split(";")
        if "if-none-match" not in signed:
            return stripped, ""
        access_key, scope = fields["Credential"].split("/", 1)
        if access_key != self.server.access_key:
            return head, "FaultProxy can only re-sign requests made with the server's access key"
        payload_hash = head.get("x-amz-content-sha256") or ""
        if payload_hash.startswith("STREAMING-AWS4-HMAC-SHA256-PAYLOAD"):
            return head, "FaultProxy cannot re-sign a chunk-signed (aws-chunked) body"
        amz_date = head.get("x-amz-date")
        if not amz_date:
            return head, "FaultProxy re-signs only requests dated by x-amz-date"
        raw_path, _, raw_query = target.partition("?")
        new_signed = [name for name in signed if name != "if-none-match"]
        signature = sigv4_signature(
            secret_key=self.server.secret_key,
            method=method,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=stripped.headers,
            signed_names=new_signed,
            amz_date=amz_date,
            scope=scope,
            payload_hash=payload_hash,
        )
        new_auth = (
            f"AWS4-HMAC-SHA256 Credential={fields['Credential']}, "
            f"SignedHeaders={';'.join(new_signed)}, Signature={signature}"
        )
        return stripped.replace("Authorization", new_auth), ""
