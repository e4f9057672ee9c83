#!/usr/bin/env python3
"""Lab client for lbd: counts which real server answers.

Run it inside the client namespace, e.g.
    ip netns exec lbd-cl python3 tests/tools/client.py spread \\
        --proto tcp --addr 10.213.0.100 --port 7 --count 100

Commands (they talk to tests/tools/realserver.py, whose replies carry its name):

  spread --proto tcp|udp --addr A --port P --count N [--timeout S]
      N fresh connections (TCP: connect, read the greeting line, close;
      UDP: a new socket, hence a new source port, per datagram).
      Prints {"counts": {"rs1": n, ...}, "errors": e, "error_kinds": {...}}.
  http --addr A --port P --count N [--timeout S]
      Like spread with "GET /" over a fresh connection each time.
  session --addr A --port P --count N [--timeout S]
      Opens N long-lived TCP connections, prints {"conns": ["rs1", null, ...]},
      then reads commands from stdin, one per line:
        ping  send a line on every connection; prints
              {"replies": ["rs1", null, ...]} (null: error, reset, timeout or
              an already dead connection)
        quit  close everything and exit (end of input does the same).

  steady --addr A --port P [--interval S] [--max-seconds S] [--timeout S]
      Fresh TCP connections one after another (as spread, every --interval
      seconds, default 0.02) until end of input, "quit" on stdin, or
      --max-seconds (default 300). Prints {"ok": n, "errors": e,
      "error_kinds": {...}, "counts": {"rs1": n, ...}} at the end.

spread, http and steady exit 0 even when some attempts failed: the caller asserts.
Every network operation is bounded by --timeout (default 2 s); --parallel
attempts run at once (default 16), so a run takes at most about
ceil(N / parallel) * timeout. IPv6 addresses work everywhere.
Standard library only; every output line is one JSON object, flushed.
"""

import argparse
import asyncio
import collections
import errno
import json
import socket
import sys

DEFAULT_TIMEOUT = 2.0
DEFAULT_PARALLEL = 16
MAX_REPLY = 64 * 1024


def emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def error_kind(exc):
    if isinstance(exc, asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, (asyncio.IncompleteReadError, EOFError)):
        return "eof"
    if isinstance(exc, BadReply):
        return "bad_reply"
    if isinstance(exc, OSError) and exc.errno is not None:
        return errno.errorcode.get(exc.errno, str(exc.errno)).lower()
    return type(exc).__name__


class BadReply(Exception):
    pass


def resolve(addr, port, kind):
    """(family, sockaddr) for a numeric or named address."""
    infos = socket.getaddrinfo(addr, port, 0, kind)
    if not infos:
        raise OSError(errno.EADDRNOTAVAIL, f"cannot resolve {addr}")
    family, _, _, _, sockaddr = infos[0]
    return family, sockaddr


async def close_writer(writer):
    try:
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), 1.0)
    except (OSError, asyncio.TimeoutError):
        pass


async def open_tcp(args):
    return await asyncio.wait_for(
        asyncio.open_connection(args.addr, args.port, limit=MAX_REPLY,
                                local_addr=local_addr(args)),
        args.timeout)


def local_addr(args):
    return (args.source, 0) if args.source else None


def name_of_line(raw):
    text = raw.decode("utf-8", "replace").strip()
    if not text:
        raise BadReply("empty reply")
    return text.split()[0]


# --- one attempt per kind -----------------------------------------------------

async def attempt_tcp(args, i):
    reader, writer = await open_tcp(args)
    try:
        line = await asyncio.wait_for(reader.readuntil(b"\n"), args.timeout)
        return name_of_line(line)
    finally:
        await close_writer(writer)


class _UdpOnce(asyncio.DatagramProtocol):
    def __init__(self):
        self.fut = asyncio.get_running_loop().create_future()

    def datagram_received(self, data, addr):
        if not self.fut.done():
            self.fut.set_result(data)

    def error_received(self, exc):
        if not self.fut.done():
            self.fut.set_exception(exc)

    def connection_lost(self, exc):
        if not self.fut.done():
            self.fut.set_exception(exc or EOFError("closed"))


async def attempt_udp(args, i):
    loop = asyncio.get_running_loop()
    family, sockaddr = resolve(args.addr, args.port, socket.SOCK_DGRAM)
    # A connected socket: only replies from the address we sent to count.
    transport, proto = await loop.create_datagram_endpoint(
        _UdpOnce, remote_addr=sockaddr[:2], family=family,
        local_addr=local_addr(args))
    try:
        payload = f"spread {i}".encode()
        transport.sendto(payload)
        data = await asyncio.wait_for(proto.fut, args.timeout)
        name, _, rest = data.partition(b" ")
        if rest != payload or not name:
            raise BadReply(f"unexpected reply {data[:80]!r}")
        return name.decode("utf-8", "replace")
    finally:
        transport.close()


async def attempt_http(args, i):
    reader, writer = await open_tcp(args)
    try:
        host = f"[{args.addr}]" if ":" in args.addr else args.addr
        writer.write(f"GET / HTTP/1.1\r\nHost: {host}\r\n"
                     "Connection: close\r\n\r\n".encode())
        await asyncio.wait_for(writer.drain(), args.timeout)
        data = await asyncio.wait_for(reader.read(MAX_REPLY), args.timeout)
        # Connection: close -- read until the server closes, bounded.
        while True:
            more = await asyncio.wait_for(reader.read(MAX_REPLY), args.timeout)
            if not more:
                break
            data += more
            if len(data) > MAX_REPLY:
                raise BadReply("response too long")
        head, sep, body = data.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0].split()
        if not sep or len(status) < 2 or status[1] != b"200":
            raise BadReply(f"status {head[:40]!r}")
        return name_of_line(body)
    finally:
        await close_writer(writer)


# --- commands -----------------------------------------------------------------

async def run_spread(args, attempt):
    counts = collections.Counter()
    kinds = collections.Counter()
    sem = asyncio.Semaphore(max(1, args.parallel))

    async def one(i):
        async with sem:
            try:
                # Outer bound: connect + each read is bounded; this caps the sum.
                name = await asyncio.wait_for(attempt(args, i),
                                              args.timeout * 3)
                counts[name] += 1
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError, EOFError, BadReply) as e:
                kinds[error_kind(e)] += 1

    await asyncio.gather(*(one(i) for i in range(args.count)))
    emit({"counts": dict(sorted(counts.items())),
          "errors": sum(kinds.values()),
          "error_kinds": dict(sorted(kinds.items()))})
    return 0


class Conn:
    def __init__(self):
        self.reader = None
        self.writer = None
        self.name = None

    @property
    def alive(self):
        return self.writer is not None

    async def open(self, args):
        try:
            self.reader, self.writer = await open_tcp(args)
            line = await asyncio.wait_for(self.reader.readuntil(b"\n"),
                                          args.timeout)
            self.name = name_of_line(line)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError, BadReply):
            await self.close()
        return self.name

    async def ping(self, args, seq):
        if not self.alive:
            return None
        try:
            self.writer.write(f"ping {seq}\n".encode())
            await asyncio.wait_for(self.writer.drain(), args.timeout)
            line = await asyncio.wait_for(self.reader.readuntil(b"\n"),
                                          args.timeout)
            return name_of_line(line)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError, BadReply):
            # The stream may now be out of step (a late reply); drop it.
            await self.close()
            return None

    async def close(self):
        writer, self.writer, self.reader = self.writer, None, None
        if writer is not None:
            await close_writer(writer)


async def run_session(args):
    loop = asyncio.get_running_loop()
    conns = [Conn() for _ in range(args.count)]
    sem = asyncio.Semaphore(max(1, args.parallel))

    async def open_one(c):
        async with sem:
            return await c.open(args)

    names = await asyncio.gather(*(open_one(c) for c in conns))
    emit({"conns": list(names)})
    seq = 0
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break  # end of input
            cmd = line.strip()
            if not cmd:
                continue
            if cmd == "ping":
                seq += 1
                replies = await asyncio.gather(
                    *(c.ping(args, seq) for c in conns))
                emit({"replies": list(replies)})
            elif cmd == "quit":
                break
            else:
                emit({"error": f"unknown command {cmd!r}"})
    finally:
        await asyncio.gather(*(c.close() for c in conns))
    return 0


async def run_steady(args):
    loop = asyncio.get_running_loop()
    counts = collections.Counter()
    kinds = collections.Counter()
    stop = asyncio.Event()

    async def watch_stdin():
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line or line.strip() == "quit":
                stop.set()
                return

    watcher = asyncio.ensure_future(watch_stdin())
    deadline = loop.time() + args.max_seconds
    i = 0
    while not stop.is_set() and loop.time() < deadline:
        try:
            name = await asyncio.wait_for(attempt_tcp(args, i), args.timeout * 3)
            counts[name] += 1
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError, EOFError, BadReply) as e:
            kinds[error_kind(e)] += 1
        i += 1
        try:
            await asyncio.wait_for(stop.wait(), args.interval)
        except asyncio.TimeoutError:
            pass
    watcher.cancel()
    emit({"ok": sum(counts.values()), "errors": sum(kinds.values()),
          "error_kinds": dict(sorted(kinds.items())),
          "counts": dict(sorted(counts.items()))})
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(
        description="lbd lab client",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1])
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp, port):
        sp.add_argument("--addr", required=True, help="IPv4 or IPv6 address")
        sp.add_argument("--port", type=int, default=port)
        sp.add_argument("--count", type=int, default=1)
        sp.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="bound on each network operation, seconds")
        sp.add_argument("--parallel", type=int, default=DEFAULT_PARALLEL,
                        help="attempts in flight at once")
        sp.add_argument("--source", default=None,
                        help="local address to bind (default: any)")

    sp = sub.add_parser("spread", help="N fresh TCP connections / UDP sockets")
    sp.add_argument("--proto", choices=("tcp", "udp"), default="tcp")
    common(sp, 7)
    common(sub.add_parser("http", help="N fresh HTTP GET / requests"), 80)
    common(sub.add_parser("session", help="N long-lived TCP connections"), 7)
    sp = sub.add_parser("steady", help="TCP connections one after another until told to stop")
    common(sp, 7)
    sp.add_argument("--interval", type=float, default=0.02)
    sp.add_argument("--max-seconds", type=float, default=300.0)

    args = p.parse_args(argv)
    if args.count < 0:
        p.error("--count must be >= 0")
    if args.timeout <= 0:
        p.error("--timeout must be > 0")

    if args.cmd == "spread":
        attempt = attempt_tcp if args.proto == "tcp" else attempt_udp
        return asyncio.run(run_spread(args, attempt))
    if args.cmd == "http":
        return asyncio.run(run_spread(args, attempt_http))
    if args.cmd == "steady":
        return asyncio.run(run_steady(args))
    return asyncio.run(run_session(args))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
