"""A web server on 127.0.0.1 that the media worker fetches from (the local stack and the
deployed one, both run with loopback allowed): files, redirects and a 300 MB body. It records
every path asked for."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HUGE_MB = 300


class MediaServer:
    """GET /NAME: a file; /redirect-to/URL (with ~ for /): a 302 there; /huge.mp4: 300 MB."""

    def __init__(self, files: dict[str, tuple[Path, str]]):  # name -> (file, content type)
        self.files, self.requests = files, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                server.requests.append(self.path)
                name = self.path.strip("/")
                if name.startswith("redirect-to/"):
                    self.send_response(302)
                    self.send_header("Location", name[len("redirect-to/"):].replace("~", "/"))
                    self.end_headers()
                elif name == "huge.mp4":
                    self.send_response(200)
                    self.send_header("Content-Type", "video/mp4")
                    self.end_headers()  # no Content-Length: the bytes themselves are counted
                    chunk = b"\0" * (1 << 20)
                    try:
                        for _ in range(HUGE_MB):
                            self.wfile.write(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the fetch stopped at its cap
                elif name in server.files:
                    path, kind = server.files[name]
                    body = path.read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_response(404)
                    self.end_headers()

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.http.server_port}"

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def stop(self) -> None:
        self.http.shutdown()
