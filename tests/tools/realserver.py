#!/usr/bin/env python3
"""Real server for the lbd lab: TCP line echo, UDP echo and a tiny HTTP server.

    realserver.py NAME [--tcp-port 7] [--udp-port 7] [--http-port 80]

Every reply carries NAME so a client can tell which real server answered:

  TCP  on connect sends "NAME\\n"; then each received line L gets "NAME L\\n".
  UDP  each datagram P gets the datagram "NAME P".
  HTTP GET / -> 200, body "NAME\\n", Content-Length, Connection: close;
       HEAD / -> the same headers without a body; anything else 404.

Each port is bound twice, 0.0.0.0 and :: (IPV6_V6ONLY), so both families work
and the VIP on lo is served as well as the interface address (direct routing).
UDP replies are sent from the address the datagram was sent to (IP_PKTINFO /
IPV6_PKTINFO): with direct routing or a tunnel the client sent to the VIP, and
a reply from the real's own address would be dropped by a connected client.

Nothing is logged per request. SIGTERM or SIGINT stops it (exit 0).
Standard library only.
"""

import argparse
import asyncio
import errno
import signal
import socket
import struct
import sys

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # linux/in.h
IPV6_RECVPKTINFO = getattr(socket, "IPV6_RECVPKTINFO", 49)  # linux/in6.h
IPV6_PKTINFO = getattr(socket, "IPV6_PKTINFO", 50)

MAX_LINE = 64 * 1024
MAX_HTTP_HEAD = 16 * 1024
HTTP_HEAD_TIMEOUT = 10.0
UDP_BUFSIZE = 65535


def listen_socket(family, kind, port):
    """A bound socket for one family; IPv6 sockets are IPv6 only."""
    sock = socket.socket(family, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        host = "::" if family == socket.AF_INET6 else "0.0.0.0"
        sock.bind((host, port))
        if kind == socket.SOCK_STREAM:
            sock.listen(1024)
        sock.setblocking(False)
        return sock
    except BaseException:
        sock.close()
        raise


# Open connections, so that shutdown can drop them all at once.
CONNECTIONS = set()


async def close_writer(writer):
    CONNECTIONS.discard(writer)
    try:
        writer.close()
        await writer.wait_closed()
    except (OSError, asyncio.CancelledError):
        pass


# --- TCP echo -----------------------------------------------------------------

def make_echo_handler(name):
    prefix = name.encode()

    async def handle(reader, writer):
        CONNECTIONS.add(writer)
        try:
            writer.write(prefix + b"\n")
            await writer.drain()
            while True:
                try:
                    line = await reader.readuntil(b"\n")
                except asyncio.IncompleteReadError as e:
                    line = e.partial  # last line without a newline, or EOF
                    if not line:
                        break
                line = line.rstrip(b"\r\n")
                writer.write(prefix + b" " + line + b"\n")
                await writer.drain()
        except (OSError, asyncio.LimitOverrunError, ValueError,
                asyncio.CancelledError):
            pass  # a cancelled handler (shutdown) just ends quietly
        finally:
            await close_writer(writer)

    return handle


# --- HTTP ---------------------------------------------------------------------

def http_response(version, status, reason, body, head_only):
    head = (
        f"{version} {status} {reason}\r\n"
        "Content-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n"
        "\r\n"
    ).encode()
    return head if head_only else head + body


async def read_http_head(reader):
    """Request line and header lines (CRLF or bare LF), [] on early EOF."""
    lines = []
    total = 0
    while True:
        line = await reader.readline()
        if not line:
            return lines
        total += len(line)
        if total > MAX_HTTP_HEAD:
            raise ValueError("request head too long")
        line = line.rstrip(b"\r\n")
        if line:
            lines.append(line.decode("latin-1"))
        elif lines:  # blank line ends the head (leading blanks are skipped)
            return lines


def make_http_handler(name):
    body_ok = (name + "\n").encode()
    body_404 = b"not found\n"
    body_400 = b"bad request\n"

    async def handle(reader, writer):
        CONNECTIONS.add(writer)
        try:
            lines = await asyncio.wait_for(read_http_head(reader),
                                           HTTP_HEAD_TIMEOUT)
            if not lines:
                return
            parts = lines[0].split()
            if len(parts) != 3 or not parts[2].startswith("HTTP/"):
                writer.write(http_response("HTTP/1.0", 400, "Bad Request",
                                           body_400, False))
            else:
                method, target, version = parts
                if version not in ("HTTP/1.0", "HTTP/1.1"):
                    version = "HTTP/1.1"
                path = target.split("?", 1)[0]
                head_only = method == "HEAD"
                if method in ("GET", "HEAD") and path == "/":
                    writer.write(http_response(version, 200, "OK", body_ok,
                                               head_only))
                else:
                    writer.write(http_response(version, 404, "Not Found",
                                               body_404, head_only))
            await writer.drain()
        except (OSError, asyncio.TimeoutError, asyncio.LimitOverrunError,
                ValueError, asyncio.CancelledError):
            pass
        finally:
            await close_writer(writer)

    return handle


# --- UDP ----------------------------------------------------------------------

class UdpEcho:
    """Non-blocking UDP echo that replies from the datagram's destination.

    asyncio's datagram transport has no access to ancillary data, so this uses
    recvmsg/sendmsg on a non-blocking socket from a loop reader callback.
    """

    def __init__(self, loop, sock, name):
        self.loop = loop
        self.sock = sock
        self.prefix = name.encode() + b" "
        self.family = sock.family
        if self.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
            self.cmsg_space = socket.CMSG_SPACE(20)
        else:
            sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
            self.cmsg_space = socket.CMSG_SPACE(12)
        loop.add_reader(sock.fileno(), self.on_readable)

    def close(self):
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()

    def reply_ancillary(self, ancdata):
        """Ancillary data selecting the received destination as source."""
        for level, kind, data in ancdata:
            if (self.family == socket.AF_INET and level == socket.IPPROTO_IP
                    and kind == IP_PKTINFO and len(data) >= 12):
                # struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }
                dst = data[8:12]
                return [(socket.IPPROTO_IP, IP_PKTINFO,
                         struct.pack("=i4s4s", 0, dst, b"\0" * 4))]
            if (self.family == socket.AF_INET6
                    and level == socket.IPPROTO_IPV6
                    and kind == IPV6_PKTINFO and len(data) >= 20):
                # struct in6_pktinfo { in6_addr addr; unsigned int ifindex; }
                dst = data[0:16]
                if dst[0] == 0xFF:  # multicast destination: let routing pick
                    return []
                return [(socket.IPPROTO_IPV6, IPV6_PKTINFO,
                         struct.pack("=16sI", dst, 0))]
        return []

    def on_readable(self):
        for _ in range(64):  # bounded batch, then let other tasks run
            try:
                payload, ancdata, _flags, peer = self.sock.recvmsg(
                    UDP_BUFSIZE, self.cmsg_space)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            reply = self.prefix + payload
            anc = self.reply_ancillary(ancdata)
            try:
                self.sock.sendmsg([reply], anc, 0, peer)
            except OSError as e:
                if anc and e.errno in (errno.EINVAL, errno.EADDRNOTAVAIL):
                    # Destination address vanished (VIP removed): best effort.
                    try:
                        self.sock.sendmsg([reply], [], 0, peer)
                    except OSError:
                        pass


# --- main ---------------------------------------------------------------------

def families():
    fams = [socket.AF_INET]
    if socket.has_ipv6:
        fams.append(socket.AF_INET6)
    return fams


async def serve(args):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    servers = []
    udp = []
    try:
        for fam in families():
            if args.tcp_port:
                sock = listen_socket(fam, socket.SOCK_STREAM, args.tcp_port)
                servers.append(await asyncio.start_server(
                    make_echo_handler(args.name), sock=sock, limit=MAX_LINE))
            if args.http_port:
                sock = listen_socket(fam, socket.SOCK_STREAM, args.http_port)
                servers.append(await asyncio.start_server(
                    make_http_handler(args.name), sock=sock,
                    limit=MAX_HTTP_HEAD))
            if args.udp_port:
                sock = listen_socket(fam, socket.SOCK_DGRAM, args.udp_port)
                udp.append(UdpEcho(loop, sock, args.name))
        print(f"realserver {args.name}: tcp {args.tcp_port} udp "
              f"{args.udp_port} http {args.http_port}", file=sys.stderr,
              flush=True)
        await stop.wait()
    finally:
        for s in servers:
            s.close()
        for u in udp:
            u.close()
        for w in list(CONNECTIONS):
            w.transport.abort()
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("name", help="name sent in every reply (e.g. rs1)")
    p.add_argument("--tcp-port", type=int, default=7,
                   help="TCP line-echo port (0 disables; default 7)")
    p.add_argument("--udp-port", type=int, default=7,
                   help="UDP echo port (0 disables; default 7)")
    p.add_argument("--http-port", type=int, default=80,
                   help="HTTP port (0 disables; default 80)")
    args = p.parse_args(argv)
    if not args.name or any(c.isspace() for c in args.name):
        p.error("NAME must be non-empty and contain no whitespace")
    try:
        return asyncio.run(serve(args))
    except OSError as e:
        print(f"realserver {args.name}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
