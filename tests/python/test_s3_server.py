"""Tests of the S3 test harness itself (s3_support.py): the versitygw server and
the fault proxy. They pin the server behaviour the S3 FileSystem relies on
(conditional PUT, error codes, SigV4 through a proxy) so that a change of
server version shows up here rather than as a puzzling engine test failure.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from s3_support import Credentials, FaultProxy, S3Server, s3_request



@pytest.fixture(scope="module")
def s3():
    # No skip: the S3 tests exist to run against a real server (scripts/test.sh
    # installs what builds it), so a missing server is a failure.
    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture
def bucket(s3: S3Server) -> str:
    """A fresh bucket per test, so tests never see each other's objects."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(name)
    return name


@pytest.fixture
def proxy(s3: S3Server):
    with FaultProxy(s3) as p:
        yield p


def curl_put(endpoint: str, server: S3Server, key: str, body: bytes,
             conditional: bool = True, payload_hash: bool = True) -> tuple[str, int]:
    """PUT with curl's own SigV4 (the way a shell user or a libcurl client
    would), returning (HTTP status as curl reports it, curl exit code).

    curl 7.88 does not send x-amz-content-sha256, which versitygw requires,
    so the hex body hash is passed explicitly (and curl then signs it).
    """
    cmd = [
        "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT",
        "--aws-sigv4", f"aws:amz:{server.region}:s3",
        "--user", f"{server.access_key}:{server.secret_key}",
        "--data-binary", "@-",
    ]
    if payload_hash:
        cmd += ["-H", f"x-amz-content-sha256: {hashlib.sha256(body).hexdigest()}"]
    if conditional:
        cmd += ["-H", "If-None-Match: *"]
    proc = subprocess.run(cmd + [f"{endpoint}/{key}"], input=body, capture_output=True, timeout=60)
    return proc.stdout.decode(), proc.returncode


def stored(s3: S3Server, bucket: str, key: str):
    """The object's bytes as the server has them (bypassing any proxy), or None."""
    resp = s3.request("GET", f"/{bucket}/{key}")
    if resp.status == 404:
        return None
    assert resp.status == 200, resp
    return resp.body


# ---------------------------------------------------------------------------
# The server


def test_server_binds_loopback_and_serves_path_style(s3: S3Server, bucket: str) -> None:
    assert s3.endpoint.startswith("http://127.0.0.1:")
    put = s3.request("PUT", f"/{bucket}/dir/a=1/obj one.txt", b"hello")
    assert put.status == 200 and put.headers["etag"] == f'"{hashlib.md5(b"hello").hexdigest()}"'
    assert stored(s3, bucket, "dir/a=1/obj one.txt") == b"hello"

    missing = s3.request("GET", f"/{bucket}/nope")
    assert (missing.status, missing.error_code()) == (404, "NoSuchKey")
    no_bucket = s3.request("GET", "/no-such-bucket-here/k")
    assert (no_bucket.status, no_bucket.error_code()) == (404, "NoSuchBucket")

    wrong_secret = Credentials(s3.access_key, "not-the-secret", s3.region)
    denied = s3_request(s3.endpoint, wrong_secret, "GET", f"/{bucket}/dir/a=1/obj one.txt")
    assert (denied.status, denied.error_code()) == (403, "SignatureDoesNotMatch")
    # Not AWS's 403 InvalidAccessKeyId: versitygw answers an unknown key with 404.
    unknown = s3_request(s3.endpoint, Credentials("nobody", "x", s3.region), "GET", f"/{bucket}/x")
    assert (unknown.status, unknown.error_code()) == (404, "XAdminUserNotFound")


def test_pyarrow_filesystem_against_server(s3: S3Server, bucket: str) -> None:
    from pyarrow import fs as pafs

    fs = s3.pyarrow_fs()
    for name, data in [("tbl/metadata/v1.json", b"{}"), ("tbl/data/f.parquet", b"P" * 1000), ("other", b"o")]:
        with fs.open_output_stream(f"{bucket}/{name}") as out:
            out.write(data)
    listed = fs.get_file_info(pafs.FileSelector(f"{bucket}/tbl", recursive=True))
    files = sorted((i.path, i.size) for i in listed if i.type == pafs.FileType.File)
    assert files == [(f"{bucket}/tbl/data/f.parquet", 1000), (f"{bucket}/tbl/metadata/v1.json", 2)]
    assert fs.open_input_file(f"{bucket}/tbl/data/f.parquet").read_at(10, 5) == b"P" * 10
    assert fs.get_file_info(f"{bucket}/tbl/missing").type == pafs.FileType.NotFound
    fs.delete_file(f"{bucket}/other")
    assert stored(s3, bucket, "other") is None


def test_curl_must_send_payload_hash(s3: S3Server, bucket: str) -> None:
    assert curl_put(s3.endpoint, s3, f"{bucket}/k", b"v", payload_hash=False) == ("400", 0)
    assert curl_put(s3.endpoint, s3, f"{bucket}/k", b"v") == ("200", 0)


def test_conditional_put_has_exactly_one_winner(s3: S3Server, bucket: str) -> None:
    writers = 16
    for round_ in range(3):
        key = f"{bucket}/race-{round_}"
        bodies = [f"writer {i} ".encode() * 50 for i in range(writers)]
        with concurrent.futures.ThreadPoolExecutor(writers) as pool:
            results = list(pool.map(lambda i: curl_put(s3.endpoint, s3, key, bodies[i]), range(writers)))
        winners = [i for i, r in enumerate(results) if r == ("200", 0)]
        assert len(winners) == 1, results
        assert sorted(results).count(("412", 0)) == writers - 1, results
        assert stored(s3, bucket, f"race-{round_}") == bodies[winners[0]]
    assert curl_put(s3.endpoint, s3, f"{bucket}/race-0", b"late") == ("412", 0)
    assert curl_put(s3.endpoint, s3, f"{bucket}/race-0", b"late", conditional=False) == ("200", 0)


def test_server_dies_with_the_interpreter(tmp_path: Path) -> None:
    """A test run that forgets stop() must not leave versitygw running."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from s3_support import S3Server
        s = S3Server().start()
        print(s.pid, s.root, flush=True)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    pid_text, root = out.stdout.split()
    pid = int(pid_text)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists(), "versitygw outlived its interpreter"
    assert not os.path.exists(root)


# ---------------------------------------------------------------------------
# The proxy


def test_proxy_keeps_signatures_valid(s3: S3Server, bucket: str, proxy: FaultProxy) -> None:
    # curl signs Host as 127.0.0.1:<proxy port>; the server must accept it.
    assert curl_put(proxy.endpoint, s3, f"{bucket}/c", b"v1") == ("200", 0)
    assert curl_put(proxy.endpoint, s3, f"{bucket}/c", b"v2") == ("412", 0)
    # pyarrow's SDK streams uploads (chunked, Expect: 100-continue, trailers).
    fs = s3.pyarrow_fs(proxy.endpoint)
    with fs.open_output_stream(f"{bucket}/p") as out:
        out.write(b"x" * 100_000)
    assert fs.open_input_stream(f"{bucket}/p").read() == b"x" * 100_000
    assert proxy.counts["PUT"] >= 3 and proxy.counts["GET"] >= 1
    assert all(e.action == "forwarded" for e in proxy.events)


def test_strip_if_none_match_makes_conditional_put_overwrite(
    s3: S3Server, bucket: str, proxy: FaultProxy
) -> None:
    assert curl_put(proxy.endpoint, s3, f"{bucket}/c", b"first") == ("200", 0)
    proxy.strip_if_none_match = True
    assert curl_put(proxy.endpoint, s3, f"{bucket}/c", b"second") == ("200", 0)
    assert stored(s3, bucket, "c") == b"second"
    assert proxy.events[-1].stripped_if_none_match
    # Re-signing copes with keys that need escaping, and with our own client.
    key = "part=1/a b.json"
    for body in (b"one", b"two"):
        resp = s3.request("PUT", f"/{bucket}/{key}", body, {"If-None-Match": "*"}, endpoint=proxy.endpoint)
        assert resp.status == 200, resp.body
    assert stored(s3, bucket, key) == b"two"
    proxy.strip_if_none_match = False
    assert curl_put(proxy.endpoint, s3, f"{bucket}/c", b"third") == ("412", 0)


def test_fail_next_answers_without_reaching_server(s3: S3Server, bucket: str, proxy: FaultProxy) -> None:
    s3.request("PUT", f"/{bucket}/existing", b"e")
    proxy.fail_next(2, method="PUT", path="/k")
    for _ in range(2):
        resp = s3.request("PUT", f"/{bucket}/k", b"v", endpoint=proxy.endpoint)
        assert (resp.status, resp.error_code()) == (503, "SlowDown")
    assert stored(s3, bucket, "k") is None
    # Not matching the rule: a GET passes through.
    assert s3.request("GET", f"/{bucket}/existing", endpoint=proxy.endpoint).status == 200
    assert s3.request("PUT", f"/{bucket}/k", b"v", endpoint=proxy.endpoint).status == 200
    assert stored(s3, bucket, "k") == b"v"
    proxy.fail_next(1, status=429, body=b"<Error><Code>TooManyRequests</Code></Error>",
                    predicate=lambda method, target: method == "HEAD")
    assert s3.request("HEAD", f"/{bucket}/k", endpoint=proxy.endpoint).status == 429
    assert [e.action for e in proxy.events].count("fail_next") == 3
    assert proxy.pending_faults() == 0


def test_fail_after_forward_applies_the_write(s3: S3Server, bucket: str, proxy: FaultProxy) -> None:
    proxy.fail_after_forward(1, method="PUT")
    resp = s3.request("PUT", f"/{bucket}/k", b"applied", endpoint=proxy.endpoint)
    assert (resp.status, resp.error_code()) == (500, "InternalError")
    assert stored(s3, bucket, "k") == b"applied"
    assert s3.request("PUT", f"/{bucket}/k", b"again", endpoint=proxy.endpoint).status == 200


def test_reset_after_body_applies_the_write(s3: S3Server, bucket: str, proxy: FaultProxy) -> None:
    proxy.reset_after_body(1, method="PUT")
    status, rc = curl_put(proxy.endpoint, s3, f"{bucket}/k", b"applied" * 1000)
    assert (status, rc) == ("000", 56), (status, rc)  # 56: "Recv failure: Connection reset by peer"
    assert stored(s3, bucket, "k") == b"applied" * 1000
    assert proxy.events[-1].action == "reset_after_body" and proxy.events[-1].status is None
