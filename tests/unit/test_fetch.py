"""The guarded fetch against a real HTTP server on 127.0.0.1 (loopback allowed, as in the local
stack) and against name resolution made to answer what an attacker's DNS would."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from broll_common import config
from broll_common.clients import fetch
from broll_common.clients.fetch import FetchRefused, GuardedFetcher

MB = 1_000_000
BODY = b"\x00\x00\x00\x18ftypmp42" + bytes(1000)
HTTPS_ONLY = "The address must start with https://."
ITSELF = "The address points at the server itself, which cannot be fetched from."
PRIVATE = "The address points into a private network, which cannot be fetched from."
METADATA = "The address is the cloud's metadata service, which cannot be fetched from."
TOO_BIG = "The file is larger than 200 MB, the most that can be fetched."


class Handler(BaseHTTPRequestHandler):
    """Answers by path; every request is noted on the server (path, Host header), and `sent` counts
    the body bytes written."""

    def log_message(self, *_):
        pass

    def _head(self, status=200, content_type="video/mp4", length: int | None = None, **headers):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length is not None:
            self.send_header("Content-Length", str(length))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _write(self, data: bytes) -> None:
        self.wfile.write(data)
        self.server.sent += len(data)

    def do_GET(self):  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        self.server.requests.append((url.path, self.headers["Host"]))
        try:
            self._answer(url.path, parse_qs(url.query))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the fetch hung up: what a refusal mid-body does

    def _answer(self, path, query):
        if path == "/clip.mp4":
            self._head(length=len(BODY))
            self._write(BODY)
        elif path == "/octet":
            self._head(content_type="application/octet-stream", length=len(BODY))
            self._write(BODY)
        elif path == "/page":
            self._head(content_type="text/html; charset=utf-8", length=6)
            self._write(b"<html>")
        elif path == "/missing":
            self._head(404, content_type="text/plain", length=0)
        elif path == "/redirect":
            self._head(302, content_type="text/plain", length=0, Location=query["to"][0])
        elif path == "/loop":
            self._head(302, content_type="text/plain", length=0, Location="/loop")
        elif path == "/huge":  # 300 MB, no length: only counting stops it
            self._head()
            chunk = bytes(MB)
            for _ in range(300):
                self._write(chunk)
        elif path == "/huge-declared":
            self._head(length=300 * MB)
            chunk = bytes(MB)
            for _ in range(300):
                self._write(chunk)
        elif path == "/stall":  # a start, then nothing
            self._head(length=len(BODY))
            self._write(BODY[:100])
            self.wfile.flush()
            time.sleep(6)
        elif path == "/trickle":  # a byte at a time, never stalling long enough for a read timeout
            self._head(length=len(BODY))
            for byte in BODY:
                self._write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.1)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def site(server):
    server.requests, server.sent = [], 0
    return server


def base(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def loopback(monkeypatch):
    monkeypatch.setenv("MEDIA_FETCH_ALLOW_LOOPBACK", "true")
    config.reset_settings()


class FakeDns:
    """Names answered as given (`answers[name]`: one list of addresses per lookup, the last one
    repeating); everything else (IP literals) resolved for real. `lookups`: the names looked up."""

    def __init__(self):
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []
        self._real = socket.getaddrinfo

    def __setitem__(self, name: str, answers: list[list[str]]) -> None:
        self.answers[name] = answers

    def getaddrinfo(self, host, port, *args, **kwargs):
        if host not in self.answers:
            return self._real(host, port, *args, **kwargs)
        self.lookups.append(host)
        queue = self.answers[host]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in addresses]


@pytest.fixture
def dns(monkeypatch):
    fake = FakeDns()
    monkeypatch.setattr(socket, "getaddrinfo", fake.getaddrinfo)
    return fake


def refused(url, tmp_path) -> str:
    target = tmp_path / "fetched"
    with pytest.raises(FetchRefused) as refusal:
        GuardedFetcher().fetch_to_file(url, target, max_bytes=config.settings().media_max_bytes,
                                       content_types=("video/",))
    assert not target.exists()  # nothing half-written is left
    return refusal.value.message


# -- what is fetched -------------------------------------------------------------------------


def test_a_video_is_fetched_to_the_file(site, loopback, tmp_path):
    got = GuardedFetcher().fetch_to_file(f"{base(site)}/clip.mp4", tmp_path / "a.mp4", max_bytes=10_000,
                                         content_types=("video/",))
    assert got.path.read_bytes() == BODY and got.size == len(BODY) and got.content_type == "video/mp4"
    assert got.final_url == f"{base(site)}/clip.mp4"


def test_a_redirect_is_followed_and_checked_and_octet_stream_is_left_to_the_probe(site, loopback, tmp_path):
    got = GuardedFetcher().fetch_to_file(f"{base(site)}/redirect?to=/octet", tmp_path / "a", max_bytes=10_000,
                                         content_types=("audio/",))
    assert got.final_url == f"{base(site)}/octet" and got.content_type == "application/octet-stream"
    assert [path for path, _ in site.requests] == ["/redirect", "/octet"]


# -- schemes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.mp4", "gopher://127.0.0.1:70/_x",
                                 "data:video/mp4;base64,AAAA", "//example.com/a.mp4"])
def test_only_https_and_local_http_are_fetched(url, tmp_path, loopback):
    assert refused(url, tmp_path) == HTTPS_ONLY


def test_http_to_a_public_name_is_refused_even_where_loopback_is_allowed(dns, tmp_path, loopback):
    dns["media.example"] = [["93.184.216.34"]]
    assert refused("http://media.example/a.mp4", tmp_path) == HTTPS_ONLY


def test_http_to_loopback_is_refused_unless_allowed(site, tmp_path):
    assert refused(f"{base(site)}/clip.mp4", tmp_path) == ITSELF
    assert site.requests == []


# -- addresses -------------------------------------------------------------------------------


@pytest.mark.parametrize("host, sentence", [
    ("10.1.2.3", PRIVATE), ("192.168.0.10", PRIVATE), ("172.16.5.4", PRIVATE), ("172.31.255.1", PRIVATE),
    ("100.64.0.1", PRIVATE),  # carrier-grade NAT
    ("127.0.0.1", ITSELF), ("127.8.9.10", ITSELF), ("[::1]", ITSELF), ("[::ffff:127.0.0.1]", ITSELF),
    ("169.254.169.254", METADATA), ("[fd00:ec2::254]", METADATA), ("[::ffff:169.254.169.254]", METADATA),
    ("[64:ff9b::a9fe:a9fe]", METADATA),  # NAT64 onto the metadata service
    ("169.254.1.1", "The address is a link-local one, which cannot be fetched from."),
    ("[fe80::1]", "The address is a link-local one, which cannot be fetched from."),
    ("[fd12:3456::1]", PRIVATE),
    ("224.0.0.251", "The address is a multicast one, which cannot be fetched from."),
    ("0.0.0.0", "The address is not a usable internet address."),
    ("240.0.0.1", "The address is not a usable internet address."),
])
def test_https_to_an_address_that_is_not_public_is_refused(host, sentence, tmp_path):
    assert refused(f"https://{host}/a.mp4", tmp_path) == sentence


def test_a_public_name_resolving_to_a_private_address_is_refused(dns, tmp_path):
    dns["cdn.example"] = [["10.0.0.7"]]
    assert refused("https://cdn.example/a.mp4", tmp_path) == PRIVATE
    dns["meta.example"] = [["93.184.216.34", "169.254.169.254"]]  # one bad answer among good ones is enough
    assert refused("https://meta.example/a.mp4", tmp_path) == METADATA


def test_an_unknown_host_is_refused_with_a_sentence(tmp_path):
    assert refused("https://no-such-host.invalid/a.mp4", tmp_path) == "The address's host name could not be found."


def test_check_refuses_without_fetching(dns):
    dns["cdn.example"] = [["192.168.1.1"]]
    with pytest.raises(FetchRefused) as refusal:
        GuardedFetcher().check("https://cdn.example/a.mp4")
    assert refusal.value.message == PRIVATE


def test_the_connection_goes_to_the_address_checked_not_a_second_answer(site, dns, loopback, tmp_path):
    # DNS rebinding: the first answer passes the check, a later one would point inside.
    dns["media.test"] = [["127.0.0.1"], ["10.0.0.1"]]
    port = site.server_address[1]
    got = GuardedFetcher().fetch_to_file(f"http://media.test:{port}/clip.mp4", tmp_path / "a", max_bytes=10_000,
                                         content_types=("video/",))
    assert got.size == len(BODY)
    assert dns.lookups == ["media.test"]  # resolved once, by the check; the connection used its answer
    assert site.requests == [("/clip.mp4", f"media.test:{port}")]  # the host's own name in Host


def self_signed(directory, name: str):
    """A certificate for `name` and its key, as PEM files (made with cryptography, which moto brings)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_pinned_to_the_address_tls_still_checks_the_hosts_own_name(dns, loopback, tmp_path, monkeypatch):
    import ssl

    import httpx

    cert, key = self_signed(tmp_path, "media.test")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.requests, httpd.sent = [], 0
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    httpd.socket = server_tls.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    trusted, client = ssl.create_default_context(cafile=str(cert)), httpx.Client
    monkeypatch.setattr(httpx, "Client", lambda **kw: client(verify=trusted, **kw))  # trust our test CA only
    dns["media.test"] = dns["other.test"] = [["127.0.0.1"]]
    port = httpd.server_address[1]
    try:
        got = GuardedFetcher().fetch_to_file(f"https://media.test:{port}/clip.mp4", tmp_path / "a", max_bytes=10_000,
                                             content_types=("video/",))
        assert got.size == len(BODY)
        # The same address under another name: its certificate does not name it, so nothing is fetched.
        assert refused(f"https://other.test:{port}/clip.mp4", tmp_path) == "The address could not be reached."
        assert [path for path, _ in httpd.requests] == ["/clip.mp4"]
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_peer_actually_connected_is_checked_too(monkeypatch):
    class Stream:
        def get_extra_info(self, name):
            return ("169.254.169.254", 80) if name == "server_addr" else None

    class Response:
        extensions = {"network_stream": Stream()}

    with pytest.raises(FetchRefused) as refusal:
        fetch._check_peer(Response())
    assert refusal.value.message == METADATA


# -- redirects -------------------------------------------------------------------------------


@pytest.mark.parametrize("target, sentence", [
    ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", METADATA),
    ("file:///etc/passwd", HTTPS_ONLY),
    ("https://10.0.0.1/a.mp4", PRIVATE),
])
def test_a_redirect_to_a_refused_address_is_refused(site, loopback, tmp_path, target, sentence):
    assert refused(f"{base(site)}/redirect?to={target}", tmp_path) == sentence
    assert [path for path, _ in site.requests] == ["/redirect"]


def test_too_many_redirects_are_refused(site, loopback, tmp_path):
    assert refused(f"{base(site)}/loop", tmp_path) == "The address redirected more than 5 times."
    assert len(site.requests) == 6


# -- size, type, status, time ----------------------------------------------------------------


def test_a_300_mb_body_is_cut_off_at_the_cap(site, loopback, tmp_path):
    assert refused(f"{base(site)}/huge", tmp_path) == TOO_BIG
    assert site.sent < 300 * MB


def test_a_300_mb_content_length_is_refused_before_reading(site, loopback, tmp_path):
    assert refused(f"{base(site)}/huge-declared", tmp_path) == TOO_BIG
    assert site.sent < 20 * MB  # what the socket buffers took before the fetch hung up


def test_a_page_is_not_a_media_file(site, loopback, tmp_path):
    assert refused(f"{base(site)}/page", tmp_path) == "The address answered with text/html, not a media file."


def test_an_error_status_is_refused(site, loopback, tmp_path):
    assert refused(f"{base(site)}/missing", tmp_path) == "The address answered with HTTP 404, not the file."


@pytest.mark.parametrize("path", ["/stall", "/trickle"])
def test_the_whole_fetch_has_one_time_cap(site, loopback, tmp_path, monkeypatch, path):
    monkeypatch.setenv("MEDIA_FETCH_TIMEOUT_S", "1")
    config.reset_settings()
    started = time.monotonic()
    assert refused(f"{base(site)}{path}", tmp_path) == "The file took longer than 1 second to download."
    assert time.monotonic() - started < 2.5


def test_a_server_that_is_not_there_is_a_sentence(loopback, tmp_path):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    assert refused(f"http://127.0.0.1:{port}/a.mp4", tmp_path) == "The address could not be reached."
