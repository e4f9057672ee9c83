#!/usr/bin/env python3
"""The order between lbd's libraries, as the build enforces it (cmake/Layers.cmake).

  includes SRC_DIR          every #include of ours in userspace/ and cli/ names a
                            folder its own folder may use, and none climbs out with ".."
  paths BUILD_DIR           each library is compiled with exactly the include
                            directories of the folders it may use (compile_commands.json)
  probes BUILD_DIR          a file of each library that includes a header of a folder
                            it may not use fails to compile ("No such file"), and one
                            that includes a header it may use compiles
  links LBCTL               lbctl links neither libxdp, libnl nor OpenSSL
"""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

# What each folder may use besides itself (transitively closed below). The
# same order cmake/Layers.cmake builds, written down once more on purpose:
# this is the specification the build is checked against.
USES = {
    "util": set(),
    "config": {"util"},
    "net": {"util"},
    "notify": {"util"},
    "dataplane": {"config", "net"},
    "check": {"config"},
    "vrrp": {"config", "net", "notify"},
    "announce": {"config", "net"},
    "ctl": {"dataplane", "check", "vrrp", "announce"},
    "daemon": {"ctl"},
}
# lbctl: util and the control protocol only.
CLI_USES = {"util", "protocol"}
# Who may include bpf/lbd_abi.h and the programs' headers.
ABI_USERS = {"config", "dataplane", "vrrp", "ctl", "daemon"}
# One header of each folder, for the probes.
PROBE_HEADER = {
    "util": "util/log.h",
    "config": "config/model.h",
    "net": "net/netlink.h",
    "notify": "notify/smtp.h",
    "dataplane": "dataplane/maglev.h",
    "check": "check/pool.h",
    "vrrp": "vrrp/packet.h",
    "announce": "announce/selection.h",
    "ctl": "ctl/server.h",
    "daemon": "daemon/daemon.h",
}


def closure(folder):
    seen, todo = set(), list(USES[folder])
    while todo:
        f = todo.pop()
        if f not in seen:
            seen.add(f)
            todo.extend(USES[f])
    return seen


INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def check_includes(src):
    errors = []
    roots = [("userspace", f) for f in USES] + [("cli", None), ("userspace", "decap")]
    for top, folder in roots:
        d = os.path.join(src, top, folder) if folder else os.path.join(src, top)
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            if not os.path.isfile(path):
                continue
            allowed = closure(folder) | {folder} if folder in USES else CLI_USES | {"util"}
            if folder == "decap":
                allowed = {"util"}
            for header in INCLUDE.findall(open(path, encoding="utf-8").read()):
                rel = os.path.relpath(path, src)
                if ".." in header.split("/"):
                    errors.append(f"{rel}: #include \"{header}\" climbs out of its folder")
                    continue
                if "/" not in header:
                    continue  # same folder, a generated skeleton, or bpf/
                first = header.split("/")[0]
                if first == "ctl" and header == "ctl/protocol.h" and "protocol" in allowed:
                    continue
                if first in USES and first not in allowed:
                    errors.append(f"{rel}: #include \"{header}\": {folder or 'cli'} may not use {first}")
    return errors


def commands(build):
    with open(os.path.join(build, "compile_commands.json"), encoding="utf-8") as f:
        return json.load(f)


TARGET = re.compile(r"CMakeFiles/([\w.-]+)\.dir/")


def layer_of(entry):
    """The folder whose library (or lbctl, "cli") this compile is for; None for others."""
    m = TARGET.search(entry.get("output", "") or entry["command"])
    if not m:
        return None
    target = m.group(1)
    if target == "lbctl":
        return "cli"
    if target == "lbd":
        return "daemon"
    if target.startswith("lbd_") and target[4:] in USES:
        return target[4:]
    return None


def include_dirs(args):
    out = []
    for i, a in enumerate(args):
        if a.startswith("-I"):
            out.append(a[2:] or args[i + 1])
    return out


def check_paths(build, src):
    errors = []
    layers_dir = os.path.join(os.path.abspath(build), "layers")
    for e in commands(build):
        layer = layer_of(e)
        if layer is None:
            continue
        dirs = include_dirs(shlex.split(e["command"]))
        farms = {os.path.basename(d) for d in dirs if os.path.dirname(d) == layers_dir}
        want = (closure(layer) | {layer}) if layer != "cli" else CLI_USES
        if farms != want:
            errors.append(f"{os.path.relpath(e['file'], src)}: sees {sorted(farms)}, should see {sorted(want)}")
        abi = os.path.join(src, "bpf") in dirs
        if layer != "cli" and abi != (layer in ABI_USERS or any(u in ABI_USERS for u in closure(layer))):
            errors.append(f"{os.path.relpath(e['file'], src)}: bpf/ on its path: {abi}")
        if layer == "cli" and abi:
            errors.append(f"{os.path.relpath(e['file'], src)}: lbctl sees bpf/")
    return errors


def compiles(entry, header):
    """Whether `#include "header"` compiles with the flags of `entry`."""
    args = shlex.split(entry["command"])
    i = args.index("-c")
    with tempfile.TemporaryDirectory() as tmp:
        probe = os.path.join(tmp, "probe.cpp")
        with open(probe, "w", encoding="utf-8") as f:
            f.write(f'#include "{header}"\n')
        cmd = [a for j, a in enumerate(args) if j not in (i, i + 1) and a != "-o" and args[j - 1] != "-o"]
        cmd += ["-fsyntax-only", "-c", probe]
        r = subprocess.run(cmd, cwd=entry["directory"], capture_output=True, text=True)
        return r.returncode == 0, r.stderr


def check_probes(build, src):
    errors, done = [], set()
    for e in commands(build):
        layer = layer_of(e)
        if layer is None or layer in done:
            continue
        done.add(layer)
        allowed = (closure(layer) | {layer}) if layer != "cli" else {"util"}
        for folder, header in PROBE_HEADER.items():
            ok, stderr = compiles(e, header)
            if folder in allowed and not ok:
                errors.append(f"{layer} cannot include {header}, which it may use:\n{stderr}")
            if folder not in allowed:
                if ok:
                    errors.append(f"{layer} can include {header}, which it may not use")
                elif "No such file" not in stderr:
                    errors.append(f"{layer} including {header} failed, but not for want of the file:\n{stderr}")
        if layer == "cli":
            ok, stderr = compiles(e, "ctl/protocol.h")
            if not ok:
                errors.append(f"lbctl cannot include ctl/protocol.h:\n{stderr}")
    missing = (set(USES) | {"cli"}) - done
    if missing:
        errors.append(f"no compile command for {sorted(missing)}")
    return errors


def check_links(lbctl):
    out = subprocess.run(["ldd", lbctl], capture_output=True, text=True, check=True).stdout
    return [f"lbctl links {lib}" for lib in ("libxdp", "libnl", "libssl", "libcrypto") if lib in out]


def main():
    what, where = sys.argv[1], sys.argv[2]
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    errors = {
        "includes": lambda: check_includes(where),
        "paths": lambda: check_paths(where, src),
        "probes": lambda: check_probes(where, src),
        "links": lambda: check_links(where),
    }[what]()
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
