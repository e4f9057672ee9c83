#!/usr/bin/env python3
"""How long a VIP stopped answering: pings it at a fixed interval for a
bounded time and reports the longest silence.

    outage.py --addr 10.213.0.100 --interval 0.01 --duration 8

Runs ping(8) (iputils, -D timestamps, -O reports missing replies) and prints
one JSON object: {"sent": n, "replies": n, "max_gap_ms": g, "gap_start": t}
where max_gap_ms is the longest time between two consecutive replies minus
one interval: the time the address was not answering. Exit 0 even with
losses: the caller asserts.
"""

import argparse
import json
import re
import subprocess
import sys

REPLY = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--interval", type=float, default=0.01)
    ap.add_argument("--duration", type=float, required=True)
    a = ap.parse_args()
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
