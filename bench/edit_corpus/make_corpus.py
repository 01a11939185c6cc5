#!/usr/bin/env python3
"""Builds the edit-format corpus of bench/edit_bench from real patches.

Source: the quilt patches (debian/patches) of a few small Debian source
packages, downloaded from deb.debian.org. Each patch is applied to the
package's upstream tree in series order with GNU patch (--fuzz=0); every text
file it modifies gives one real edit (the file before, the file after). From
each edit the cases are derived mechanically, per edit format and defect, the
way models get edits wrong (see DEFECTS). A case is a directory with `meta`
(format, defect, path, source, expect), `before`, `after` and `answer` (what
the model wrote). Deterministic: the random choices are seeded per edit.

Usage: make_corpus.py OUT_DIR [CACHE_DIR]
"""
import difflib
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

MIRROR = "http://deb.debian.org/debian/pool/main"
# (source package, pool directory, Debian version, upstream version, orig compression)
PACKAGES = [
    ("less", "l/less", "590-2.1~deb12u2", "590", "gz"),
    ("bc", "b/bc", "1.07.1-3", "1.07.1", "gz"),
]
FFFD = "\ufffd".encode()
MAX_WHOLE_FILE_LINES = 400


def fetch(url, cache):
    path = os.path.join(cache, url.rsplit("/", 1)[1])
    if not os.path.exists(path):
        subprocess.run(["curl", "-sSfL", "--retry", "3", "-o", path + ".part", url], check=True)
        os.rename(path + ".part", path)
    return path


def real_edits(cache):
    """Yields (source, path, before, after, patch_text) for every modified text file."""
    for name, pool, version, upstream, comp in PACKAGES:
        debian = fetch(f"{MIRROR}/{pool}/{name}_{version}.debian.tar.xz", cache)
        orig = fetch(f"{MIRROR}/{pool}/{name}_{upstream}.orig.tar.{comp}", cache)
        work = tempfile.mkdtemp(prefix=f"corpus-{name}-")
        with tarfile.open(orig) as t:
            t.extractall(work)
        top = os.path.join(work, next(d for d in os.listdir(work)))
        with tarfile.open(debian) as t:
            t.extractall(top)
        patches = os.path.join(top, "debian", "patches")
        series = [l.split()[0] for l in open(os.path.join(patches, "series")) if l.strip() and not l.startswith("#")]
        for patch_name in series:
            text = open(os.path.join(patches, patch_name), "rb").read()
            paths = sorted(set(p.split(b"/", 1)[1].decode() for p in re.findall(rb"^\+\+\+ (\S+)", text, re.M)
                               if b"/" in p))
            before = {}
            for p in paths:
                f = os.path.join(top, p)
                if os.path.isfile(f):
                    before[p] = open(f, "rb").read()
            r = subprocess.run(["patch", "-p1", "-s", "-N", "--fuzz=0", "--no-backup-if-mismatch", "-i",
                                os.path.join(patches, patch_name)], cwd=top, capture_output=True)
            if r.returncode != 0:
                continue
            for p, b in before.items():
                f = os.path.join(top, p)
                if not os.path.isfile(f):
                    continue
                a = open(f, "rb").read()
                if a != b and b"\0" not in a + b:
                    yield f"{name}/{patch_name}", p, b, a, text
        shutil.rmtree(work)


def lines(data):
    return data.splitlines(keepends=True)


def hunks(before, after, context=3):
    """Hunks of a -> b as (old_start, old_lines_with_kinds); kinds ' ', '-', '+'."""
    a, b = lines(before), lines(after)
    out = []
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        body = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                body += [(b" ", l) for l in a[i1:i2]]
            if tag in ("replace", "delete"):
                body += [(b"-", l) for l in a[i1:i2]]
            if tag in ("replace", "insert"):
                body += [(b"+", l) for l in b[j1:j2]]
        out.append((group[0][1] + 1, group[0][3] + 1, body))
    return out


def nl(line):
    return line if line.endswith(b"\n") else line + b"\n"


def unified(path, hs, shift=lambda k: 0, count_delta=lambda k: (0, 0)):
    p = path.encode()
    out = b"--- a/" + p + b"\n+++ b/" + p + b"\n"
    for k, (old_start, new_start, body) in enumerate(hs):
        old_n = sum(1 for kind, _ in body if kind != b"+")
        new_n = sum(1 for kind, _ in body if kind != b"-")
        d_old, d_new = count_delta(k)
        out += b"@@ -%d,%d +%d,%d @@\n" % (max(1, old_start + shift(k)), max(0, old_n + d_old),
                                          max(1, new_start + shift(k)), max(0, new_n + d_new))
        for kind, line in body:
            out += kind + nl(line)
            if not line.endswith(b"\n"):
                out += b"\\ No newline at end of file\n"
    return out


def search_replace(path, hs):
    out = b"Summary: the change.\n\n"
    for _, _, body in hs:
        old = b"".join(nl(l) for k, l in body if k != b"+")
        new = b"".join(nl(l) for k, l in body if k != b"-")
        out += path.encode() + b"\n<<<<<<< SEARCH\n" + old + b"=======\n" + new + b">>>>>>> REPLACE\n\n"
    return out


def apply_patch(path, hs):
    out = b"*** Begin Patch\n*** Update File: " + path.encode() + b"\n"
    for _, _, body in hs:
        out += b"@@\n" + b"".join(k + nl(l) for k, l in body)
    return out + b"*** End Patch\n"


def whole_file(path, after):
    return b"Summary: the change.\n\n" + path.encode() + b"\n```\n" + nl(after) + b"```\n"


def mangle(line):
    """Whitespace-only damage, as models copy lines: tabs to spaces, trailing blanks."""
    body = line.rstrip(b"\n")
    return body.replace(b"\t", b"    ").rstrip() + b"  \n"


def with_body(hs, f):
    return [(o, n, f(body)) for o, n, body in hs]


def mangle_context(body):
    return [(k, mangle(l) if k != b"+" else l) for k, l in body]


def drop_edges(body):
    if len(body) > 2 and body[0][0] == b" " and any(k != b" " for k, _ in body[1:]):
        body = body[1:]
    if len(body) > 2 and body[-1][0] == b" " and any(k != b" " for k, _ in body[:-1]):
        body = body[:-1]
    return body


def latin1(before, after):
    """Makes the edit's unchanged lines Latin-1 (e -> \\xe9) in both versions."""
    a, b = lines(before), lines(after)
    a2, b2 = list(a), list(b)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                a2[i1 + k] = a[i1 + k].replace(b"e", b"\xe9")
                b2[j1 + k] = b[j1 + k].replace(b"e", b"\xe9")
    return b"".join(a2), b"".join(b2)


def seen(data):
    """What the model saw of non-UTF-8 bytes: U+FFFD (the prompt's JSON)."""
    return data.decode("utf-8", errors="replace").encode()


MAIL_HEAD = (b"From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n"
             b"From: A Developer <dev@example.org>\nSubject: [PATCH] the change\n\n"
             b"Signed-off-by: A Developer <dev@example.org>\n---\n\n")
MAIL_TAIL = b"-- \n2.39.2\n\n"
PROSE = b"\nThis keeps the behaviour and fixes the bug; let me know if anything else is needed.\n"


def cases_for(source, path, before, after, patch_text, rng):
    hs = hunks(before, after)
    if not hs:
        return
    # Ambiguity: the first hunk's old lines copied to the top of the file, so
    # every place its lines fit appears twice; the stated line fits neither.
    old_first = b"".join(nl(l) for k, l in hs[0][2] if k != b"+")
    amb_before, amb_after = old_first + before, old_first + after
    amb_first = hunks(amb_before, amb_after)[:1]
    l_before, l_after = latin1(before, after)
    l_hs = hunks(seen(l_before), seen(l_after))
    drift = rng.choice([-40, -25, -10, -3, -1, 1, 2, 7, 15, 40])
    miscount = [(rng.choice([-2, -1, 1, 2, 3]), rng.choice([-2, -1, 1, 2, 3])) for _ in hs]

    def case(fmt, defect, answer, b=before, a=after, expect="apply"):
        return dict(format=fmt, defect=defect, path=path, source=source, before=b, after=a, answer=answer,
                    expect=expect)

    u = lambda h, **kw: unified(path, h, **kw)
    yield case("UNIFIED_DIFF", "clean", u(hs))
    yield case("UNIFIED_DIFF", "miscounted hunks", u(hs, count_delta=lambda k: miscount[k]))
    yield case("UNIFIED_DIFF", "drift ±1..40 lines", u(hs, shift=lambda k: drift))
    yield case("UNIFIED_DIFF", "whitespace-mangled context", u(with_body(hs, mangle_context)))
    yield case("UNIFIED_DIFF", "missing edge context", u(with_body(hs, drop_edges)))
    yield case("UNIFIED_DIFF", "mail signature", MAIL_HEAD + b"diff --git a/%s b/%s\n" % (path.encode(), path.encode())
               + u(hs) + MAIL_TAIL)
    yield case("UNIFIED_DIFF", "trailing prose", b"```diff\n" + u(hs) + b"```\n" + PROSE)
    yield case("UNIFIED_DIFF", "ambiguous repeated context", u(amb_first, shift=lambda k: 3), amb_before,
               amb_after, "reject")
    yield case("UNIFIED_DIFF", "non-UTF-8 file", u(l_hs), l_before, l_after)
    for fmt, writer in (("SEARCH_REPLACE", search_replace), ("APPLY_PATCH", apply_patch)):
        w = lambda h: writer(path, h)
        yield case(fmt, "clean", w(hs))
        yield case(fmt, "whitespace-mangled context", w(with_body(hs, mangle_context)))
        yield case(fmt, "missing edge context", w(with_body(hs, drop_edges)))
        yield case(fmt, "trailing prose", w(hs) + PROSE)
        yield case(fmt, "ambiguous repeated context", w(amb_first), amb_before, amb_after, "reject")
        yield case(fmt, "non-UTF-8 file", w(l_hs), l_before, l_after)
    if len(lines(after)) <= MAX_WHOLE_FILE_LINES and b"```" not in after:
        yield case("WHOLE_FILE", "clean", whole_file(path, after))
        yield case("WHOLE_FILE", "trailing prose", whole_file(path, after) + PROSE)
        # The model can only write back what it saw: U+FFFD for the Latin-1 bytes.
        yield case("WHOLE_FILE", "non-UTF-8 file", whole_file(path, seen(l_after)), l_before, l_after, "reject")
    # The real patch as Debian ships it (often a git format-patch mail), for this file only.
    if len(re.findall(rb"^\+\+\+ ", patch_text, re.M)) == 1:
        yield case("UNIFIED_DIFF", "real Debian patch file", patch_text)


def main():
    out = sys.argv[1]
    cache = sys.argv[2] if len(sys.argv) > 2 else os.path.expanduser("~/.cache/autopack/debian-sources")
    os.makedirs(cache, exist_ok=True)
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    n = 0
    for source, path, before, after, patch_text in real_edits(cache):
        rng = random.Random(f"{source}:{path}")
        for c in cases_for(source, path, before, after, patch_text, rng):
            n += 1
            d = os.path.join(out, "%04d" % n)
            os.makedirs(d)
            for key in ("before", "after", "answer"):
                open(os.path.join(d, key), "wb").write(c[key])
            open(os.path.join(d, "meta"), "w").write(
                "".join(f"{k}={c[k]}\n" for k in ("format", "defect", "path", "source", "expect")))
    print(f"{n} cases in {out}")


if __name__ == "__main__":
    main()
