"""The guarded fetch: a file at an outside URL (a person's voice-over or avatar, a clip at Kie)
copied to a local file, the way a careful service fetches on somebody else's say-so.

- https only; http only to loopback, and only where settings().media_fetch_allow_loopback (the
  local stack, whose test servers and Kie emulator speak plain http on 127.0.0.1).
- The host is resolved here and every address it has must be public: no private, loopback (unless
  allowed), link-local, multicast, reserved, unspecified or CGNAT address, nor a cloud metadata
  service, nor those hidden in IPv6 (IPv4-mapped, NAT64).
- The connection goes to the address that was checked (the URL is pinned to it, the Host header and
  TLS name stay the host's), so a second DNS answer cannot point it elsewhere (DNS rebinding), and
  the address actually connected is checked again before anything is read.
- Redirects are followed by hand, at most MAX_REDIRECTS, each hop checked like the first.
- A size cap (Content-Length, then the bytes counted as they arrive), one time cap for the whole
  fetch, and the content type checked. A file refused half-way is removed.

Every refusal is FetchRefused with a sentence for the person that names no field: the caller says
which field it was about.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from ..config import settings
from ..observability import tracer
from ..ports import Port

MAX_REDIRECTS = 5
CHUNK_BYTES = 1 << 16
REDIRECTS = {301, 302, 303, 307, 308}
# Servers that do not know a file's type say so; the probe then decides what it is.
ANY_BINARY = ("application/octet-stream", "binary/octet-stream")

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
# AWS's instance metadata service: link-local (IPv4) or unique-local (IPv6), named for its own sentence.
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # reaches the IPv4 address in its last 32 bits


class FetchRefused(Exception):
    """The URL or what it answered is not fetched; `message` is a sentence for the person."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


@dataclass
class FetchedFile:
    path: Path
    size: int
    content_type: str
    final_url: str  # after redirects


class Fetcher(Protocol):
    def check(self, url: str) -> None:
        """The scheme, the host's addresses and their classes; FetchRefused when any is refused."""
        ...

    def fetch_to_file(self, url: str, path: Path, *, max_bytes: int, content_types: tuple[str, ...]) -> FetchedFile:
        """Fetch the URL into `path` (content type starting with one of `content_types`, at most
        `max_bytes`); FetchRefused, with `path` removed, when anything is refused."""
        ...


def _ip(address: str) -> IP:
    """The address a connection to `address` reaches: an IPv6 form of an IPv4 address is that IPv4 address."""
    ip = ipaddress.ip_address(address.split("%")[0])  # an IPv6 zone (%eth0) is no part of the address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def address_refusal(address: str, allow_loopback: bool) -> str | None:
    """Why an address is not fetched from (a sentence), or None when it may be."""
    ip = _ip(address)
    if ip.is_loopback:
        return None if allow_loopback else "The address points at the server itself, which cannot be fetched from."
    if ip in METADATA:
        return "The address is the cloud's metadata service, which cannot be fetched from."
    if ip.is_link_local:
        return "The address is a link-local one, which cannot be fetched from."
    if ip.is_multicast:
        return "The address is a multicast one, which cannot be fetched from."
    if ip.is_unspecified or ip.is_reserved:
        return "The address is not a usable internet address."
    # Private ranges (10/8, 172.16/12, 192.168/16, fc00::/7), CGNAT (100.64/10) and the other
    # ranges IANA marks not globally reachable.
    if not ip.is_global:
        return "The address points into a private network, which cannot be fetched from."
    return None


@dataclass(frozen=True)
class _Hop:
    url: httpx.URL  # as given (the host's name)
    address: str  # the checked address the connection is pinned to


class GuardedFetcher:
    def check(self, url: str) -> None:
        self._hop(url)

    def _hop(self, url: str | httpx.URL) -> _Hop:
        """Check one URL and resolve its host to the address to connect to."""
        allow_loopback = settings().media_fetch_allow_loopback
        try:
            parsed = httpx.URL(url) if isinstance(url, str) else url
        except (httpx.InvalidURL, TypeError):
            raise FetchRefused("The address is not a valid web address.") from None
        if parsed.scheme not in ("https", "http"):
            raise FetchRefused("The address must start with https://.")
        if not parsed.host:
            raise FetchRefused("The address is not a valid web address.")
        if parsed.userinfo:
            raise FetchRefused("The address must not carry a user name or password.")
        try:
            answers = socket.getaddrinfo(parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80),
                                         type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise FetchRefused("The address's host name could not be found.") from None
        addresses = list(dict.fromkeys(str(answer[4][0]) for answer in answers))
        if not addresses:
            raise FetchRefused("The address's host name could not be found.")
        # Every address the name has must pass, not only the one connected to: one bad answer refuses it.
        for address in addresses:
            refusal = address_refusal(address, allow_loopback)
            if refusal:
                raise FetchRefused(refusal)
        if parsed.scheme == "http" and not (allow_loopback and all(_ip(a).is_loopback for a in addresses)):
            raise FetchRefused("The address must start with https://.")
        return _Hop(parsed, addresses[0])

    @tracer.capture_method(capture_response=False)
    def fetch_to_file(self, url: str, path: Path, *, max_bytes: int, content_types: tuple[str, ...]) -> FetchedFile:
        path = Path(path)
        clock = _Clock(settings().media_fetch_timeout_s)
        try:
            # trust_env=False: no proxy from the environment, so the peer checked is the server itself.
            with httpx.Client(follow_redirects=False, trust_env=False) as client:
                return self._fetch(client, url, path, max_bytes, content_types, clock)
        except httpx.HTTPError:
            path.unlink(missing_ok=True)
            clock.left()  # a read cut off at the deadline is the time cap, not an unreachable server
            raise FetchRefused("The address could not be reached.") from None
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def _fetch(self, client: httpx.Client, url: str, path: Path, max_bytes: int, content_types: tuple[str, ...],
               clock: _Clock) -> FetchedFile:
        hop = self._hop(url)
        for _ in range(MAX_REDIRECTS + 1):
            with _open(client, hop, clock) as response:
                if response.status_code in REDIRECTS and "location" in response.headers:
                    try:
                        target = hop.url.join(response.headers["location"])
                    except httpx.InvalidURL:
                        raise FetchRefused("The address redirected to an address that is not valid.") from None
                    hop = self._hop(target)
                    continue
                if response.status_code != 200:
                    raise FetchRefused(f"The address answered with HTTP {response.status_code}, not the file.")
                content_type = _content_type(response, content_types)
                size = _save(response, path, max_bytes, clock)
                return FetchedFile(path=path, size=size, content_type=content_type, final_url=str(hop.url))
        raise FetchRefused(f"The address redirected more than {MAX_REDIRECTS} times.")


class _Clock:
    """The whole fetch's time cap, over every hop."""

    def __init__(self, timeout_s: float):
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.cut = False  # the watchdog shut the connection at the deadline

    def left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0 or self.cut:
            unit = "second" if self.timeout_s == 1 else "seconds"
            raise FetchRefused(f"The file took longer than {self.timeout_s:g} {unit} to download.")
        return left

    def watch(self, sock: socket.socket | None) -> threading.Timer:
        """Shut the socket at the deadline: a read's own timeout was set when the request went
        out, so a server that stalls mid-body would otherwise hold the fetch past the cap."""
        def cut() -> None:
            self.cut = True
            try:
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)  # ends a blocked read at once
            except OSError:
                pass  # already closed: the fetch has ended anyway

        timer = threading.Timer(self.left(), cut)
        timer.daemon = True
        timer.start()
        return timer


@contextmanager
def _open(client: httpx.Client, hop: _Hop, clock: _Clock) -> Iterator[httpx.Response]:
    """Send the GET to the checked address, keeping the host's name for the Host header and TLS
    (SNI and the certificate check)."""
    pinned = hop.url.copy_with(host=hop.address)
    left = clock.left()
    request = client.build_request(
        # identity: the bytes counted against the cap are the bytes stored (no decompression bomb)
        "GET", pinned, headers={"Host": hop.url.netloc.decode("ascii"), "Accept-Encoding": "identity"},
        extensions={"sni_hostname": hop.url.host,
                    "timeout": {"connect": left, "read": left, "write": left, "pool": left}},
    )
    response = client.send(request, stream=True)
    try:
        _check_peer(response)
        yield response
    finally:
        response.close()


def _check_peer(response: httpx.Response) -> None:
    """The address the connection actually reached must pass too (nothing between the check and
    the connection may have changed it)."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if not peer:
        raise FetchRefused("The address could not be reached.")
    refusal = address_refusal(str(peer[0]), settings().media_fetch_allow_loopback)
    if refusal:
        raise FetchRefused(refusal)


def _content_type(response: httpx.Response, wanted: tuple[str, ...]) -> str:
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and (content_type in ANY_BINARY or content_type.startswith(wanted)):
        return content_type
    raise FetchRefused(f"The address answered with {content_type or 'no content type'}, not a media file.")


def _too_big(max_bytes: int) -> FetchRefused:
    return FetchRefused(f"The file is larger than {max_bytes / (1 << 20):g} MB, the most that can be fetched.")


def _save(response: httpx.Response, path: Path, max_bytes: int, clock: _Clock) -> int:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_big(max_bytes)  # refused before a byte is read
    watchdog = clock.watch(response.extensions["network_stream"].get_extra_info("socket"))
    size = 0
    try:
        with open(path, "wb") as out:
            for chunk in response.iter_bytes(CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    raise _too_big(max_bytes)
                clock.left()  # a slow trickle is cut off at the same deadline
                out.write(chunk)
        clock.left()  # a body without a length ends when the socket is shut: that end is the cut, not the file's
    finally:
        watchdog.cancel()
    return size


get_fetcher: Port[Fetcher] = Port(GuardedFetcher)
