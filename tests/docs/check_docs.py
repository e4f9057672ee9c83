#!/usr/bin/env python3
"""Checks that the man pages and the debugging guide keep up with the code.

  render PAGE...        groff renders each page without a single warning
  keywords SRC_DIR PAGE every word the config parser knows is on the page
  flags MAIN_CPP PAGE   every flag lbd's command line declares is on the page
  maps MAPS_H DOC       every map the lb program pins is in DOC
  reasons ABI_H DOC     every verdict reason lbctl stats prints is in DOC
  rules YAML            Prometheus alerting rules: groups of rules, each with
                        alert, expr, severity and summary
  dashboard JSON        a Grafana dashboard: every panel has a place and a
                        title, every target an expression

Each exits 0 when all is well, 1 with one line per problem otherwise.
"""

import pathlib
import re
import shutil
import subprocess
import sys

# String literals of the parser sources that are not words of the config
# language: the nouns of error messages. Anything else a parser source
# spells out, a keyword, an option or a value, must be on lbd.conf(5).
NOT_CONFIG_WORDS = {
    "IPv4": "family name in messages",
    "IPv6": "family name in messages",
    "port": "what a message says is wrong",
    "destination": "what a message says is wrong (a route's)",
    "prefix": "what a message says is wrong (a rule's from or to)",
}

# A literal that could be written in a config file: no spaces, no braces.
WORDLIKE = re.compile(r"^-?[A-Za-z0-9][A-Za-z0-9_.-]*$")


def cpp_literals(text):
    """(literal, line) for every string literal outside comments and #include lines."""
    out = []
    i, line, n = 0, 1, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif text.startswith("//", i) or text.startswith("#include", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            line += text.count("\n", i, end)
            i = end
        elif c == "R" and text.startswith('R"', i) and not (text[i - 1:i].isalnum() or text[i - 1:i] == "_"):
            open_paren = text.index("(", i)
            close = ")" + text[i + 2:open_paren] + '"'
            end = text.index(close, open_paren) + len(close)
            out.append((text[open_paren + 1:end - len(close)], line))
            line += text.count("\n", i, end)
            i = end
        elif c == '"' or (c == "'" and not text[i - 1:i].isalnum()):  # 1'000 is a number
            j = i + 1
            while text[j] != c:
                j += 2 if text[j] == "\\" else 1
            if c == '"':
                out.append((text[i + 1:j], line))
            i = j + 1
        else:
            i += 1
    return out


def page_words(path):
    """The words a markdown page shows as literal text: `code` and **bold**
    spans outside verbatim blocks (an example is not a description)."""
    words, spans = set(), set()
    fenced = False
    for line in pathlib.Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        for span in re.findall(r"`([^`]+)`", line) + re.findall(r"\*\*([^*]+)\*\*", line):
            spans.add(span)
            words.update(w for w in re.split(r"[^A-Za-z0-9_.+-]+", span) if w)
    return words, spans


def check_render(pages):
    groff = shutil.which("groff")
    if not groff:
        return ["groff is not installed (Debian: groff-base)"]
    problems = []
    for page in pages:
        for device in ("utf8", "ps"):
            run = subprocess.run([groff, "-man", "-ww", "-z", "-T", device, page], capture_output=True, text=True)
            for msg in run.stderr.splitlines():
                problems.append(f"{page} (-T {device}): {msg}")
            if run.returncode != 0 and not run.stderr:
                problems.append(f"{page} (-T {device}): groff exited {run.returncode}")
    return problems


def check_keywords(src_dir, page):
    sources = sorted(pathlib.Path(src_dir).glob("*.cpp")) + sorted(pathlib.Path(src_dir).glob("*.h"))
    found = {}
    for src in sources:
        for literal, line in cpp_literals(src.read_text(encoding="utf-8")):
            if WORDLIKE.match(literal) and literal not in NOT_CONFIG_WORDS:
                found.setdefault(literal, f"{src}:{line}")
    # An extractor that found nothing would pass everything.
    anchors = {"global_defs", "vrrp_instance", "virtual_server", "real_server", "TCP_CHECK", "include"}
    if not anchors <= found.keys():
        return [f"{src_dir}: the literal extractor missed {sorted(anchors - found.keys())}; fix check_docs.py"]
    words, _ = page_words(page)
    return [
        f"{where}: '{word}' is not in {page}: document it in a `code` span (or, if no config file can "
        f"contain it, add it to NOT_CONFIG_WORDS in {__file__})"
        for word, where in sorted(found.items(), key=lambda kv: kv[1])
        if word not in words
    ]


def check_flags(main_cpp, page):
    text = pathlib.Path(main_cpp).read_text(encoding="utf-8")
    flags = []
    for names in re.findall(r'add_(?:option|flag)\(\s*"([^"]+)"', text):
        flags += [n for n in names.split(",") if n]
    if not flags:
        return [f"{main_cpp}: no add_option/add_flag found; fix check_docs.py"]
    _, spans = page_words(page)
    return [f"{main_cpp}: flag {flag} is not in {page} as `{flag}`" for flag in flags if flag not in spans]


def pinned_maps(maps_h):
    text = pathlib.Path(maps_h).read_text(encoding="utf-8")
    return [name for body, name in re.findall(r'struct\s*\{(.*?)\}\s*(\w+)\s+SEC\("\.maps"\)', text, re.S)
            if "LIBBPF_PIN_BY_NAME" in body]


def check_maps(maps_h, doc):
    maps = pinned_maps(maps_h)
    if not maps:
        return [f"{maps_h}: no pinned maps found; fix check_docs.py"]
    words, _ = page_words(doc)
    return [f"{maps_h}: pinned map {m} is not in {doc} as `{m}`" for m in maps if m not in words]


def check_reasons(abi_h, doc):
    abi = pathlib.Path(abi_h).read_text(encoding="utf-8")
    reasons = re.findall(r'X\(\s*LBD_V?R_\w+\s*,\s*"([a-z0-9_]+)"\s*\)', abi)
    if not {"fwd_tx", "rx_queued"} <= set(reasons):
        return [f"{abi_h}: LBD_REASONS / LBD_VRRP_REASONS not found; fix check_docs.py"]
    _, spans = page_words(doc)
    return [f"{abi_h}: reason {r} is not in {doc} as `{r}`" for r in dict.fromkeys(reasons) if r not in spans]


def parsed(path, parse, error, kind):
    """(the file parsed, []), or (None, [why it does not parse])."""
    try:
        return parse(pathlib.Path(path).read_text(encoding="utf-8")), []
    except error as e:
        return None, [f"{path}: not {kind}: {e}"]


def check_rules(path):
    import yaml  # python3-yaml; here only, so that the other checks need nothing

    doc, problems = parsed(path, yaml.safe_load, yaml.YAMLError, "YAML")
    if problems:
        return problems
    groups = doc.get("groups") if isinstance(doc, dict) else None
    if not groups:
        return [f"{path}: no groups"]
    for group in groups:
        rules = group.get("rules") or []
        if not group.get("name") or not rules:
            problems.append(f"{path}: a group without a name or rules")
        for rule in rules:
            name = rule.get("alert", "?")
            if not re.fullmatch(r"Lbd[A-Z][A-Za-z]+", name):
                problems.append(f"{path}: alert '{name}' is not named LbdCamelCase")
            if not isinstance(rule.get("expr"), str) or not rule["expr"].strip():
                problems.append(f"{path}: {name}: no expr")
            if rule.get("labels", {}).get("severity") not in ("critical", "warning"):
                problems.append(f"{path}: {name}: severity is neither critical nor warning")
            if not rule.get("annotations", {}).get("summary"):
                problems.append(f"{path}: {name}: no summary")
            if "for" in rule and not re.fullmatch(r"\d+[smh]", str(rule["for"])):
                problems.append(f"{path}: {name}: 'for' is not a duration")
            unknown = set(rule) - {"alert", "expr", "for", "labels", "annotations"}
            if unknown:
                problems.append(f"{path}: {name}: unknown keys {sorted(unknown)}")
    return problems


def check_dashboard(path):
    import json

    dash, problems = parsed(path, json.loads, json.JSONDecodeError, "JSON")
    if problems:
        return problems
    if not dash.get("title") or not dash.get("uid"):
        problems.append(f"{path}: no title or uid")
    panels = dash.get("panels") or []
    if not panels:
        problems.append(f"{path}: no panels")
    ids = [p.get("id") for p in panels]
    if len(set(ids)) != len(ids):
        problems.append(f"{path}: panel ids repeat")
    for p in panels:
        title = p.get("title", "?")
        pos = p.get("gridPos", {})
        if not title or not all(isinstance(pos.get(k), int) for k in ("h", "w", "x", "y")):
            problems.append(f"{path}: panel {p.get('id')} '{title}' has no title or place")
        elif pos["x"] + pos["w"] > 24:
            problems.append(f"{path}: panel '{title}' is wider than the grid")
        if p.get("type") == "row":
            continue
        targets = p.get("targets") or []
        if not targets or not all(t.get("expr") for t in targets):
            problems.append(f"{path}: panel '{title}' has a target without an expression")
    return problems


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    command, args = argv[1], argv[2:]
    checks = {
        "render": lambda: check_render(args),
        "keywords": lambda: check_keywords(*args),
        "flags": lambda: check_flags(*args),
        "maps": lambda: check_maps(*args),
        "reasons": lambda: check_reasons(*args),
        "rules": lambda: check_rules(*args),
        "dashboard": lambda: check_dashboard(*args),
    }
    if command not in checks:
        print(__doc__, file=sys.stderr)
        return 2
    problems = checks[command]()
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
