"""A small HTTP server on 127.0.0.1 for the faults a real Sentry cannot produce on
demand: hangs, stalls, resets, exact status codes and headers, HTML, TLS with a
self-signed certificate. It records every request body it reads."""
import gzip
import os
import socket
import ssl
import struct
import subprocess
import threading
import time


def make_cert(directory):
    """A self-signed certificate for 127.0.0.1 (openssl CLI)."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
    return cert, key


class FaultServer:
    """mode: hang | stall-body | reset | endless-body | status (with `status`, `headers`,
    `body`, and `interim`: a 1xx answer sent first; `junk_headers`: bytes of other
    headers sent before `headers`); `delay`: seconds before each answer (a slow Sentry);
    `upstream`: a port to forward each request to, answering with its answer (a slow
    proxy in front of a real server)."""

    def __init__(self, mode="status", status=200, headers=(), body=b'{"id":"0"}', content_type="application/json",
                 tls=None, port=0, interim=None, junk_headers=0, delay=0.0, upstream=None):
        self.delay, self.upstream = delay, upstream
        self.answered = []  # (the status answered, request body): status mode and upstream mode
        self.timeline = []  # (read at, answer about to go, request body), monotonic seconds: status mode
        self.mode, self.status, self.headers, self.body, self.content_type = mode, status, headers, body, content_type
        self.interim, self.junk_headers = interim, junk_headers
        self.requests = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        self.tls = None
        if tls:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(*tls)
        self.held = []
        self.conns = []  # every connection accepted: close(drop_connections=True) ends them
        self.stopped = threading.Event()
        self.sock.settimeout(0.2)  # the accept loop wakes to see close()
        self.serving = threading.Thread(target=self._serve, daemon=True)
        self.serving.start()

    def dsn(self, scheme="http", key="0123456789abcdef0123456789abcdef"):
        return "%s://%s@127.0.0.1:%d/1" % (scheme, key, self.port)

    def _serve(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except (OSError, ValueError):  # timeout, or closed under us by close()
                continue
            self.conns.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _read_request(self, conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        return head, body

    def _handle(self, conn):
        try:
            if self.tls:
                conn = self.tls.wrap_socket(conn, server_side=True)
            if self.mode == "hang":
                self.held.append(conn)
                return
            while True:
                req = self._read_request(conn)
                if req is None:
                    return
                # sentry-python gzips its envelopes: what was sent, as it was meant.
                if b"\r\ncontent-encoding: gzip" in req[0].lower():
                    req = (req[0], gzip.decompress(req[1]))
                self.requests.append(req[1])
                read_at = time.monotonic()
                if self.mode == "stall-body":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"id\":")
                    self.held.append(conn)
                    return
                if self.mode == "reset":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"i")
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    conn.close()
                    return
                if self.mode == "endless-body":  # a 200, then a body that never ends
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                    chunk = b"1000\r\n" + b"x" * 4096 + b"\r\n"
                    deadline = time.time() + 30
                    while not self.stopped.is_set() and time.time() < deadline:
                        conn.sendall(chunk)
                    return
                if self.delay:
                    time.sleep(self.delay)
                if self.upstream:
                    status, answer = self._forward(*req)
                    self.answered.append((status, req[1]))
                    conn.sendall(answer)
                    continue
                if self.interim:
                    conn.sendall(b"HTTP/1.1 %d Interim\r\n\r\n" % self.interim)
                head = "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\n" % (
                    self.status, self.content_type, len(self.body))
                for i in range(self.junk_headers // 100):
                    head += "X-Junk-%04d: %s\r\n" % (i, "j" * 86)
                for name, value in self.headers:
                    head += "%s: %s\r\n" % (name, value)
                # Stamped before the answer goes: the client cannot have it earlier (a
                # stamp after sendall may come after the client's next request was read).
                answered_at = time.monotonic()
                conn.sendall(head.encode() + b"\r\n" + self.body)
                self.answered.append((self.status, req[1]))
                self.timeline.append((read_at, answered_at, req[1]))
        except (OSError, ssl.SSLError):
            pass

    def _forward(self, head, body):
        """The upstream server's status and whole answer to this request, re-framed."""
        import http.client
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        headers.pop("Connection", None)
        c = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=60)
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            data = r.read()
            status = r.status
            ctype = r.getheader("Content-Type", "application/json")
        except (OSError, http.client.HTTPException):
            status, ctype, data = 502, "text/plain", b"upstream failed"
        finally:
            c.close()
        return status, b"HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" % (
            status, ctype.encode(), len(data)) + data

    def close(self, drop_connections=False):
        """Stops listening. `drop_connections`: also end the kept-alive connections, as a
        server that goes down does (else their threads answer what is in flight)."""
        self.stopped.set()
        for c in self.held:
            try:
                c.close()
            except OSError:
                pass
        self.sock.close()
        # The accept loop holds the listening socket until it wakes (0.2 s): once it is
        # gone, nothing listens on the port any more and another server may take it.
        if threading.current_thread() is not self.serving:
            self.serving.join(5)
        for c in self.conns if drop_connections else ():
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class BlackHole:
    """A port whose accept queue is full: a new connection's SYN is dropped, so the
    connect itself times out (without leaving 127.0.0.1)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = []
        for _ in range(8):  # fill the accept queue and the SYN backlog
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fillers.append(s)
        time.sleep(0.2)

    def dsn(self):
        return "http://0123456789abcdef0123456789abcdef@127.0.0.1:%d/1" % self.port

    def close(self):
        for s in self.fillers:
            s.close()
        self.sock.close()
