"""scripts/man.py: the markdown subset in, roff out, and a refusal with
file:line for anything outside the subset."""

import pathlib
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "scripts"))
import man  # noqa: E402

TITLE = "# tool(8) - does a thing\n"


def roff(body):
    return man.convert("t.md", TITLE + body, "lbd 9.9")


class Converts(unittest.TestCase):
    def test_title_gives_th_and_name(self):
        out = roff("")
        self.assertIn('.TH TOOL 8 "" "lbd 9.9" "lbd"\n.SH NAME\ntool \\- does a thing\n', out)

    def test_headings(self):
        self.assertIn(".SH GLOBAL_DEFS\n.SS Acted on\n", roff("## GLOBAL_DEFS\n### Acted on\n"))

    def test_paragraph_lines_kept_and_escaped(self):
        out = roff("\nA back\\slash and a-dash\n.starts with a dot\n")
        self.assertIn(".PP\nA back\\eslash and a\\-dash\n\\&.starts with a dot\n", out)

    def test_inline_spans(self):
        out = roff("\n**b** *i* `c d` \\*star\\*\n")
        self.assertIn("\\fBb\\fR \\fIi\\fR \\fB\\%c \\%d\\fR *star*\n", out)

    def test_code_is_verbatim(self):
        self.assertIn("\\fB\\%*x* \\%**y**\\fR", roff("\n`*x* **y**`\n"))

    def test_bullets_with_continuation_and_paragraph(self):
        out = roff("\n- one\n  more\n\n  again\n- two\n")
        self.assertIn(".IP \\(bu 2\none\nmore\n.IP\nagain\n.IP \\(bu 2\ntwo\n", out)

    def test_definitions(self):
        out = roff("\n`-f` *FILE*\n: the file\n  read\n\n`-n`\n: stay\n")
        self.assertIn(".TP\n\\fB\\%\\-f\\fR \\fIFILE\\fR\nthe file\nread\n.TP\n\\fB\\%\\-n\\fR\nstay\n", out)

    def test_verbatim_block(self):
        out = roff("\n```\n  .x {\n}\n```\n")
        self.assertIn(".PP\n.RS 4\n.nf\n  .x {\n}\n.fi\n.RE\n", out)

    def test_glyphs(self):
        self.assertIn("a \\(em b", roff("\na \u2014 b\n"))


class Refuses(unittest.TestCase):
    def refused(self, text, line, words):
        with self.assertRaises(man.ManError) as e:
            man.convert("t.md", text, "lbd")
        self.assertTrue(str(e.exception).startswith(f"t.md:{line}: "), str(e.exception))
        self.assertIn(words, str(e.exception))

    def test_missing_title(self):
        self.refused("## NAME\n", 1, "first line")

    def test_unclosed_spans(self):
        self.refused(TITLE + "\na `b\n", 3, "not closed")
        self.refused(TITLE + "\na **b\n", 3, "not closed")
        self.refused(TITLE + "\na *b\n", 3, "not closed")

    def test_nested_spans(self):
        self.refused(TITLE + "\n**a `b`**\n", 3, "nest")

    def test_non_ascii(self):
        self.refused(TITLE + "\ncaf\u00e9\n", 3, "ASCII")

    def test_whitespace(self):
        self.refused(TITLE + "\ntrailing \n", 3, "trailing spaces")
        self.refused(TITLE + "\n\tx\n", 3, "tab")

    def test_unknown_blocks(self):
        self.refused(TITLE + "## lower\n", 2, "heading")
        self.refused(TITLE + "\n  stray\n", 3, "indented")
        self.refused(TITLE + "\n- a\n  - b\n", 4, "nest")
        self.refused(TITLE + "\n- a\n   three\n", 4, "exactly 2")
        self.refused(TITLE + "\n```\nx\n", 3, "never closed")
        self.refused(TITLE + "\npara\nterm\n: body\n", 4, "blank line")


if __name__ == "__main__":
    unittest.main()
