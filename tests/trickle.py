"""A server on 127.0.0.1 that sends a complete, valid answer, but its headers a byte at a time.

Each socket read then gets a byte well within any per-read timeout, so only a deadline on the
whole call (headers included) stops a client from waiting until the last byte.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class TrickleServer:
    """Answers every connection with ``body`` after trickling ``trickle`` header bytes.

    :param body: the body, sent at once after the headers.
    :param trickle: how many bytes of a padding header are sent one at a time.
    :param interval: seconds between two of those bytes.
    """

    def __init__(
        self,
        body: bytes,
        *,
        trickle: int = 16,
        interval: float = 0.25,
        content_type: str = "application/octet-stream",
    ) -> None:
        self.body = body
        self.trickle = trickle
        self.interval = interval
        self.content_type = content_type
        #: Connections accepted so far.
        self.connections = 0
        #: Connections whose whole answer was sent (the client waited to the end).
        self.completed = 0
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.05)  # so that the accept loop notices when to stop
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    @property
    def seconds(self) -> float:
        """How long the headers take to arrive."""
        return self.trickle * self.interval

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            try:
                connection.settimeout(10)
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    request += chunk
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                    + f"Content-Type: {self.content_type}\r\n".encode()
                    + f"Content-Length: {len(self.body)}\r\nX-Pad: ".encode()
                )
                for _ in range(self.trickle):
                    if self._stopping.wait(self.interval):
                        return
                    connection.sendall(b"x")
                connection.sendall(b"\r\n\r\n" + self.body)
                with self._lock:
                    self.completed += 1
            except OSError:
                return  # the client gave up: what the tests want

    @contextmanager
    def running(self) -> Iterator[TrickleServer]:
        thread = threading.Thread(target=self._serve, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stopping.set()
            thread.join(timeout=5)
            self._listener.close()

