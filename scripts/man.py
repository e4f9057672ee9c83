#!/usr/bin/env python3
"""Man pages from one markdown source each: docs/man/NAME.SECTION.md -> roff.

The input is a small, strict subset of markdown; anything outside it is an
error with file:line, so a page never renders differently from how it reads.

  # NAME(SECTION) - SUMMARY     first line: .TH, and the NAME section
  ## SECTION                    .SH; capitals, digits, _ and spaces only
  ### Subsection                .SS
  text lines                    a paragraph (.PP); blank lines separate blocks
  - item                        a bullet; its further lines indented 2 spaces
  TERM                          a definition entry (.TP): one line, then a
  : body                        line starting ": "; further lines of the body
                                indented 2 spaces, and after a blank line
                                indented paragraphs continue the entry
  ```                           verbatim lines, indented; nothing inside is
  ...                           markup
  ```

Inline, within one line: **bold**, *italic*, `code` (shown bold, taken
verbatim); backslash makes the next \\, * or ` literal. Spans do not nest.
"""

import argparse
import os
import re
import sys
import tempfile

# Typographic characters a page may use; any other non-ASCII is refused
# rather than left to the device's mercy.
GLYPHS = {
    "\u2014": "\\(em",
    "\u2013": "\\(en",
    "\u00d7": "\\(mu",
    "\u2192": "\\(->",
    "\u2264": "\\(<=",
    "\u2265": "\\(>=",
}

TITLE = re.compile(r"^# ([a-z][a-z0-9._-]*)\(([1-9][a-z]*)\) - (\S.*)$")
SECTION = re.compile(r"^## ([A-Z][A-Z0-9_ ]*)$")
SUBSECTION = re.compile(r"^### (\S.*)$")
FENCE = "```"


class ManError(Exception):
    pass


def escape(text, where):
    """Plain text to roff: backslashes and hyphens escaped, glyphs named."""
    out = []
    for c in text:
        if c == "\\":
            out.append("\\e")
        elif c == "-":
            out.append("\\-")
        elif c in GLYPHS:
            out.append(GLYPHS[c])
        elif ord(c) > 126 or (ord(c) < 32 and c != "\t"):
            raise ManError(f"{where}: character {c!r} is not in the subset (use ASCII)")
        else:
            out.append(c)
    return "".join(out)


def inline(text, where):
    """One line of text with **bold**, *italic* and `code` spans to roff."""
    out = []
    plain = []
    i = 0

    def flush():
        out.append(escape("".join(plain), where))
        plain.clear()

    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in "\\*`":
            plain.append(text[i + 1])
            i += 2
        elif c == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise ManError(f"{where}: ` is not closed on this line")
            if end == i + 1:
                raise ManError(f"{where}: empty `` span")
            flush()
            # \% keeps roff from hyphenating a keyword or path at a line end.
            code = escape(text[i + 1:end], where).replace(" ", " \\%")
            out.append("\\fB\\%" + code + "\\fR")
            i = end + 1
        elif text.startswith("**", i):
            end = text.find("**", i + 2)
            if end < 0:
                raise ManError(f"{where}: ** is not closed on this line")
            flush()
            out.append("\\fB" + span(text[i + 2:end], "**", where) + "\\fR")
            i = end + 2
        elif c == "*":
            end = text.find("*", i + 1)
            if end < 0:
                raise ManError(f"{where}: * is not closed on this line (write \\* for a star)")
            flush()
            out.append("\\fI" + span(text[i + 1:end], "*", where) + "\\fR")
            i = end + 1
        else:
            plain.append(c)
            i += 1
    flush()
    return "".join(out)


def span(body, marker, where):
    if not body or body != body.strip():
        raise ManError(f"{where}: {marker}...{marker} must hold text without surrounding spaces")
    if "`" in body or "*" in body:
        raise ManError(f"{where}: spans do not nest")
    return escape(body, where)


def text_line(text, where):
    """An input line of filled text; a leading . or ' would be a request."""
    line = inline(text.strip(), where)
    return "\\&" + line if line[:1] in (".", "'") else line


class Converter:
    def __init__(self, path, lines, source):
        self.path = path
        self.lines = lines
        self.source = source
        self.out = []
        self.pos = 0

    def where(self, index=None):
        return f"{self.path}:{(self.pos if index is None else index) + 1}"

    def peek(self, offset=0):
        i = self.pos + offset
        return self.lines[i] if i < len(self.lines) else None

    def run(self):
        self.title()
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            if line.strip() == "":
                self.pos += 1
            elif line.startswith("#"):
                self.heading(line)
            elif line == FENCE:
                self.verbatim()
            elif line.startswith("- "):
                self.bullets()
            elif line.startswith(" "):
                raise ManError(f"{self.where()}: indented line outside a list item or definition")
            elif (self.peek(1) or "").startswith(": "):
                self.definitions()
            else:
                self.paragraph()
        return "\n".join(self.out) + "\n"

    def title(self):
        m = TITLE.match(self.lines[0]) if self.lines else None
        if not m:
            raise ManError(f"{self.path}:1: the first line must be '# NAME(SECTION) - SUMMARY'")
        name, section, summary = m.groups()
        self.out.append(f'.\\" Generated by scripts/man.py from docs/man/{name}.{section}.md: edit that file.')
        self.out.append(f'.TH {escape(name.upper(), self.where(0))} {section} "" "{self.source}" "lbd"')
        self.out.append(".SH NAME")
        self.out.append(f"{escape(name, self.where(0))} \\- {inline(summary, self.where(0))}")
        self.pos = 1

    def heading(self, line):
        if m := SECTION.match(line):
            self.out.append(f".SH {m.group(1)}")
        elif m := SUBSECTION.match(line):
            self.out.append(f".SS {inline(m.group(1), self.where())}")
        else:
            raise ManError(f"{self.where()}: a heading is '## SECTION' (capitals) or '### Subsection'")
        self.pos += 1

    def verbatim(self):
        start = self.pos
        self.pos += 1
        self.out += [".PP", ".RS 4", ".nf"]
        while self.peek() != FENCE:
            line = self.peek()
            if line is None:
                raise ManError(f"{self.where(start)}: ``` is never closed")
            text = escape(line, self.where())
            self.out.append("\\&" + text if text[:1] in (".", "'") else text)
            self.pos += 1
        self.pos += 1
        self.out += [".fi", ".RE"]

    def continuation(self):
        """The lines indented 2 spaces that follow, stripped of the indent."""
        lines = []
        while (line := self.peek()) is not None and line.startswith("  "):
            if line.startswith("   "):
                raise ManError(f"{self.where()}: continuation lines are indented exactly 2 spaces")
            lines.append((line[2:], self.where()))
            self.pos += 1
        return lines

    def block_lines(self, first, first_where):
        self.out.append(text_line(first, first_where))
        for text, where in self.continuation():
            if text.startswith("- ") or text.startswith(": "):
                raise ManError(f"{where}: lists and definitions do not nest")
            self.out.append(text_line(text, where))

    def more_paragraphs(self):
        """Indented paragraphs after a blank line continue the item above."""
        while self.peek() == "" and (self.peek(1) or "").startswith("  "):
            self.pos += 1
            self.out.append(".IP")
            first = self.continuation()
            for text, where in first:
                if text.startswith("- ") or text.startswith(": "):
                    raise ManError(f"{where}: lists and definitions do not nest")
                self.out.append(text_line(text, where))

    def bullets(self):
        while (line := self.peek()) is not None and line.startswith("- "):
            self.out.append(".IP \\(bu 2")
            where = self.where()
            self.pos += 1
            self.block_lines(line[2:], where)
            self.more_paragraphs()
            if self.peek() == "" and (self.peek(1) or "").startswith("- "):
                self.pos += 1

    def definitions(self):
        while (term := self.peek()) is not None and (self.peek(1) or "").startswith(": "):
            if term.strip() == "" or term.startswith((" ", "#", "- ", FENCE)):
                raise ManError(f"{self.where()}: a definition's term is one plain line")
            self.out.append(".TP")
            self.out.append(text_line(term, self.where()))
            self.pos += 1
            body, where = self.peek()[2:], self.where()
            self.pos += 1
            self.block_lines(body, where)
            self.more_paragraphs()
            if self.peek() == "" and (self.peek(2) or "").startswith(": "):
                self.pos += 1

    def paragraph(self):
        self.out.append(".PP")
        while (line := self.peek()) is not None and line.strip() != "":
            if line.startswith(("#", "- ", " ", FENCE)) or line.startswith(": "):
                raise ManError(f"{self.where()}: a paragraph ends with a blank line before another block")
            if (self.peek(1) or "").startswith(": "):
                raise ManError(f"{self.where()}: a definition's term needs a blank line before it")
            self.out.append(text_line(line, self.where()))
            self.pos += 1


def convert(path, text, source):
    if "\t" in text:
        line = text[: text.index("\t")].count("\n") + 1
        raise ManError(f"{path}:{line}: tab; indent with spaces")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for i, line in enumerate(lines):
        if line != line.rstrip():
            raise ManError(f"{path}:{i + 1}: trailing spaces")
    return Converter(path, lines, source).run()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("input", help="the page's markdown, docs/man/NAME.SECTION.md")
    parser.add_argument("-o", "--output", required=True, help="the roff file to write")
    parser.add_argument("--source", default="lbd", help="the .TH footer, e.g. 'lbd 0.1.0'")
    args = parser.parse_args()
    with open(args.input, encoding="utf-8") as f:
        text = f.read()
    try:
        roff = convert(args.input, text, args.source)
    except ManError as e:
        print(e, file=sys.stderr)
        return 1
    # Written aside and renamed: a failed run never leaves half a page for
    # the build to take as up to date.
    directory = os.path.dirname(os.path.abspath(args.output))
    with tempfile.NamedTemporaryFile("w", dir=directory, delete=False, encoding="ascii") as f:
        f.write(roff)
    os.replace(f.name, args.output)
    os.chmod(args.output, 0o644)
    return 0


if __name__ == "__main__":
    sys.exit(main())
