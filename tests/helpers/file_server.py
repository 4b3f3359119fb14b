"""A real HTTP server on 127.0.0.1 serving bytes by path, for the model downloaders' tests.

It honours `Range: bytes=N-` (or not, when told), can hang up mid-body or announce more bytes
than it sends, can redirect a path elsewhere, and records every request it gets.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast


class FileServer(ThreadingHTTPServer):
    """Serves `files` by path; honours `Range: bytes=N-` unless told not to; logs requests."""

    def __init__(self, default_path: str = "/") -> None:
        super().__init__(("127.0.0.1", 0), RangeHandler)
        self.default_path = default_path
        self.files: dict[str, bytes] = {}
        self.redirects: dict[str, str] = {}  # path -> path it answers with a 302 to
        self.ranges: list[str | None] = []  # the Range header of every GET, in order
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header) of every GET
        self.honour_range = True
        self.cut_after: int | None = None  # announce the full length, then hang up early
        self.overstate_by = 0  # claim a longer Content-Length but frame the body as chunked

    def url(self, path: str | None = None) -> str:
        return f"http://127.0.0.1:{self.server_port}{self.default_path if path is None else path}"


class RangeHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # (the name http.server calls)
        server = cast(FileServer, self.server)
        requested = self.headers.get("Range")
        server.ranges.append(requested)
        server.requests.append((self.path, requested))
        if self.path in server.redirects:
            self.send_response(302)
            self.send_header("Location", server.url(server.redirects[self.path]))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = int(requested[6:-1]) if requested and server.honour_range else None
        if start is not None and start >= len(body):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(body)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200 if start is None else 206)
        if start is not None:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            body = body[start:]
        self.send_header("Content-Length", str(len(body) + server.overstate_by))
        if server.overstate_by:
            # Chunked framing wins over Content-Length, so the client reads a complete but
            # short body without a protocol error: only the downloader's size check notices.
            self.send_header("Transfer-Encoding", "chunked")
            body = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
        self.end_headers()
        self.wfile.write(body[: server.cut_after])

    def log_message(self, *args: object) -> None:
        pass  # keep the test output clean


@contextmanager
def serving(default_path: str = "/") -> Iterator[FileServer]:
    """Runs a `FileServer` in a thread for the duration of the block."""
    running = FileServer(default_path)
    thread = threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield running
    finally:
        running.shutdown()
        running.server_close()
        thread.join()
