#!/usr/bin/env python3
"""Watches the next hops of one route: prints a JSON line each time their
number changes, for a bounded time.

    route_watch.py --dst 10.216.0.100 --duration 10

Each line: {"t_ms": <unix time in ms>, "hops": <next hops>, "gateways": [...]};
the first line is the state at start. Polls `ip -j route show DST` every
5 ms (its family's table), so a change is seen within about that. Exit 0.
"""

import argparse
import json
import subprocess
import sys
import time


def hops(dst):
    family = "-6" if ":" in dst else "-4"
    out = subprocess.run(["ip", "-j", family, "route", "show", dst],
                         capture_output=True, text=True, timeout=5).stdout
    gateways = []
    for route in json.loads(out or "[]"):
        for hop in route.get("nexthops") or [route]:
            if "gateway" in hop:
                gateways.append(hop["gateway"])
    return gateways


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dst", required=True)
    ap.add_argument("--duration", type=float, required=True)
    a = ap.parse_args()
    end = time.time() + a.duration
    last = None
    while time.time() < end:
        gateways = hops(a.dst)
        if gateways != last:
            print(json.dumps({"t_ms": int(time.time() * 1000), "hops": len(gateways),
                              "gateways": gateways}), flush=True)
            last = gateways
        time.sleep(0.005)


if __name__ == "__main__":
    sys.exit(main())
