#!/usr/bin/env python3
"""lbd -t over every keepalived.conf.* sample keepalived ships.

usage: keepalived_samples_test.py LBD SAMPLES_DIR

Each sample must be read with nothing reported as ignored, not supported or
not acted on. The exceptions are listed below by name, each with what lbd
says instead; interfaces and namespaces this host lacks are warnings and
are fine. The
samples are read where Debian's keepalived package installs them: they are
keepalived's, not this project's, and are never copied here.
"""

import pathlib
import re
import subprocess
import sys
import tempfile

# What lbd says about a keyword it reads but does not act on.
REPORTED = re.compile(r"not supported|ignored|not acted on|not enforced|not checked|not served|cannot serve")

# Samples lbd refuses, with the line and the start of the message. fwmark
# services cannot be served at XDP (netfilter sets marks later); RFC 5798
# removed AH authentication.
REFUSED = {
    "keepalived.conf.fwmark": (7, "virtual_server fwmark 1 is not supported: the XDP program forwards packets "
                                  "before netfilter marks them; write a virtual_server ADDR PORT"),
    "keepalived.conf.virtual_server_group": (18, "virtual_server_group VSG_1: fwmark members are not supported: "),
    "keepalived.conf.SSL_GET": (20, "auth_type AH is not supported (use PASS, or none)"),
}

# Lines keepalived 2.2.7 itself rejects ("Invalid rule to address
# 192.168.100./24"): lbd refuses the first, and reads the rest of the file
# cleanly once they are blank.
BROKEN_LINES = {
    "keepalived.conf.vrrp.rules": {
        11: "static_rules: to '192.168.100.' is not an IP address",
        26: "virtual_rules: to '192.168.200.' is not an IP address",
    },
}

# Samples written for a config id (their comment says which to run with).
CONFIG_IDS = {"keepalived.conf.conditional_conf": ["high", "low"]}

# Debian's keepalived 2.2.7 ships 27 samples; far fewer means a wrong path.
MIN_SAMPLES = 20


def check(lbd, path, config_id=None):
    """(exit status, output lines) of lbd -t on path."""
    cmd = [lbd, "-t", "-f", str(path)] + (["-i", config_id] if config_id else [])
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    return run.returncode, [line for line in (run.stdout + run.stderr).splitlines() if line]


# What this host lacks (an interface, a net_namespace): the sample names
# another machine's.
HOST_WARNING = re.compile(r"^warning: .* does not exist on this host")


def reported(lines):
    return [l for l in lines if REPORTED.search(l) and not HOST_WARNING.match(l)]


def check_clean(lbd, path, name, config_id=None):
    status, lines = check(lbd, path, config_id)
    label = name + (f" -i {config_id}" if config_id else "")
    problems = [f"{label}: {l}" for l in reported(lines)]
    if status != 0:
        problems.append(f"{label}: lbd -t exited {status}: " + " | ".join(lines))
    return problems


def check_refused(lbd, path, name):
    line, message = REFUSED[name]
    status, lines = check(lbd, path)
    want = f"{path}:{line}: {message}"
    if status != 1 or not any(l.startswith(want) for l in lines):
        return [f"{name}: expected exit 1 and '{want}...', got {status}: " + " | ".join(lines)]
    return []


def check_broken(lbd, path, name, tmp):
    broken = BROKEN_LINES[name]
    problems = []
    status, lines = check(lbd, path)
    first = min(broken)
    want = f"{path}:{first}: {broken[first]}"
    if status != 1 or want not in lines:
        problems.append(f"{name}: expected exit 1 and '{want}', got {status}: " + " | ".join(lines))
    text = path.read_text().split("\n")
    for number, message in broken.items():
        # Each broken line alone, the others blank: its own message.
        only = [l if i + 1 == number or i + 1 not in broken else "" for i, l in enumerate(text)]
        copy = pathlib.Path(tmp) / f"{name}.{number}"
        copy.write_text("\n".join(only))
        status, lines = check(lbd, copy)
        if f"{copy}:{number}: {message}" not in lines:
            problems.append(f"{name}: line {number} alone: expected '{message}', got " + " | ".join(lines))
    blanked = pathlib.Path(tmp) / name
    blanked.write_text("\n".join("" if i + 1 in broken else l for i, l in enumerate(text)))
    return problems + check_clean(lbd, blanked, f"{name} without lines {sorted(broken)}")


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    lbd, samples = argv[1], pathlib.Path(argv[2])
    paths = sorted(samples.glob("keepalived.conf.*"))
    if len(paths) < MIN_SAMPLES:
        print(f"FAIL: {len(paths)} samples in {samples}: is keepalived installed (scripts/deps.sh)?")
        return 1
    problems = []
    with tempfile.TemporaryDirectory(prefix="lbd-samples.") as tmp:
        for path in paths:
            name = path.name
            if name in REFUSED:
                problems += check_refused(lbd, path, name)
            elif name in BROKEN_LINES:
                problems += check_broken(lbd, path, name, tmp)
            else:
                for config_id in CONFIG_IDS.get(name, [None]):
                    problems += check_clean(lbd, path, name, config_id)
    for p in problems:
        print("FAIL:", p)
    print(f"{len(paths)} samples, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
