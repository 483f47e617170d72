"""uvicorn's httptools protocol with a bound on the request head.

httptools buffers a header of any size before handing it over, so a client
could make one request hold megabytes. This protocol counts the bytes that
arrive while a request head (request line and headers) is being read and
answers 400 and closes the connection past ``MAX_REQUEST_HEAD``: a clear
error, bounded memory, the server keeps serving.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_REQUEST_HEAD = 64 * 1024


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    _head_bytes = 0
    _in_head = True  # a new connection starts by reading a request head

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_REQUEST_HEAD:
                self.logger.warning("Request head over %d bytes refused.", MAX_REQUEST_HEAD)
                self.send_400_response("Request head too large.")
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        self._in_head, self._head_bytes = True, 0
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()
