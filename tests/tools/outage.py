#!/usr/bin/env python3
"""How long a VIP stopped answering: pings it at a fixed interval for a
bounded time and reports the longest silence.

    outage.py --addr 10.213.0.100 --interval 0.01 --duration 8
    outage.py --addr 10.216.0.100 --udp 7 --flows 8 --interval 0.01 --duration 8

Runs ping(8) (iputils, -D timestamps, -O reports missing replies) and prints
one JSON object: {"sent": n, "replies": n, "max_gap_ms": g, "gap_start": t}
where max_gap_ms is the longest time between two consecutive replies minus
one interval: the time the address was not answering. Exit 0 even with
losses: the caller asserts.

With --udp PORT it probes a UDP echo service instead (a VIP that is on no
interface answers no ping: lbd forwards its services only), from --flows
sockets at once, each its own flow (source port), so that ECMP spreads them
over the nodes: each flow's longest silence is measured, "max_gap_ms" is
the longest of all, "flows_gap_ms" lists them.
"""

import argparse
import json
import re
import selectors
import socket
import subprocess
import sys
import time

REPLY = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)")


def udp_probe(a):
    family = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    socks = []
    for _ in range(a.flows):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.setblocking(False)
        s.connect((a.addr, a.udp))
        socks.append(s)
    stamps = [[] for _ in socks]
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        sel.register(s, selectors.EVENT_READ, i)
    start = time.monotonic()
    end = start + a.duration
    next_send, sent = start, 0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if now >= next_send:
            for s in socks:
                try:
                    s.send(b"p%d" % sent)
                except OSError:
                    pass  # unreachable for now: a silence like any other
            sent += 1
            next_send += a.interval
        for key, _ in sel.select(max(0.0, min(next_send, end) - time.monotonic())):
            while True:
                try:
                    key.fileobj.recv(2048)
                except (BlockingIOError, OSError):
                    break
                stamps[key.data].append(time.monotonic())
    # From each flow's first answer (the first packets wait for neighbour
    # resolution on the way) to the end: a flow that stops answering has
    # been silent since its last answer.
    gaps = []
    for st in stamps:
        marks = (st or [start]) + [end]
        gaps.append(round(max(0.0, max(b - a_ for a_, b in zip(marks, marks[1:])) - a.interval) * 1000, 1))
    json.dump({"sent": sent * len(socks), "replies": sum(len(st) for st in stamps),
               "max_gap_ms": max(gaps), "flows_gap_ms": gaps}, sys.stdout)
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--interval", type=float, default=0.01)
    ap.add_argument("--duration", type=float, required=True)
    ap.add_argument("--udp", type=int, default=0, help="probe this UDP echo port instead of pinging")
    ap.add_argument("--flows", type=int, default=1, help="with --udp: sockets probing at once")
    a = ap.parse_args()
    if a.udp:
        return udp_probe(a)
    cmd = ["ping", "-n", "-D", "-O", "-i", str(a.interval), "-W", "1",
           "-w", str(int(a.duration + 0.999)), a.addr]
    out = subprocess.run(cmd, capture_output=True, text=True,
                         timeout=a.duration + 10).stdout
    stamps = []
    for line in out.splitlines():
        m = REPLY.match(line)
        if m:
            stamps.append(float(m.group(1)))
    sent = int(a.duration / a.interval)
    gap, start = 0.0, None
    for prev, cur in zip(stamps, stamps[1:]):
        if cur - prev > gap:
            gap, start = cur - prev, prev
    lost = max(0.0, gap - a.interval)
    json.dump({"sent": sent, "replies": len(stamps),
               "max_gap_ms": round(lost * 1000, 1), "gap_start": start},
              sys.stdout)
    print()


if __name__ == "__main__":
    main()
