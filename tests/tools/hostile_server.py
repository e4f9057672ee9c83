#!/usr/bin/env python3
"""A real server that answers health checks the way an attacker would.

    hostile_server.py MODE --port PORT

MODE, for each connection on PORT (IPv4, every address):

  huge     reads the request head, then sends a 200 whose body is 2 MiB of
           'x' on one line, and closes
  chunked  reads the request head, then sends a chunked 200 whose chunks never
           end, until the client goes away
  silent   accepts, then neither reads nor writes until the client goes away
  reset    reads the request head, sends a 200 announcing 100000 bytes and
           1000 of them, then resets the connection (RST)

Each connection has a thread of its own. SIGTERM or SIGINT stops it.
Standard library only.
"""

import argparse
import signal
import socket
import struct
import sys
import threading

HUGE_BODY = b"x" * (2 << 20)
CHUNK = b"1000\r\n" + b"c" * 0x1000 + b"\r\n"
HEAD_LIMIT = 16 * 1024


def read_head(conn):
    """Reads until the empty line that ends a request head, or EOF."""
    data = b""
    while b"\r\n\r\n" not in data and b"\n\n" not in data and len(data) < HEAD_LIMIT:
        got = conn.recv(4096)
        if not got:
            break
        data += got


def wait_gone(conn):
    """Blocks until the client closes its end."""
    while conn.recv(4096):
        pass


def huge(conn):
    read_head(conn)
    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(HUGE_BODY) + HUGE_BODY)


def chunked(conn):
    read_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    while True:
        conn.sendall(CHUNK)


def silent(conn):
    wait_gone(conn)


def reset(conn):
    read_head(conn)
    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"b" * 1000)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


MODES = {"huge": huge, "chunked": chunked, "silent": silent, "reset": reset}


def serve(mode, conn):
    try:
        MODES[mode](conn)
    except OSError:
        pass  # the client went away: what a hostile server expects
    finally:
        conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", args.port))
    listener.listen(64)
    try:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve, args=(args.mode, conn), daemon=True).start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
