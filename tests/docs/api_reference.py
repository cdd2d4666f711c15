#!/usr/bin/env python3
"""docs/api.md against the headers, so that the reference cannot go stale.

Usage: api_reference.py <include-dir> <api.md>      check (exit 1 on a mismatch)
       api_reference.py <include-dir> --list        print the public names per header

The public names of a header under include/plexus/ (none under a detail/
path) are what it declares at namespace scope in namespace plexus or a
namespace inside it other than `detail` (and anonymous ones): classes,
structs, unions, enums, type aliases (using/typedef), functions, variables,
and the macros it #defines, except a macro it #undefs again or one whose
name holds _IMPL or _DETAIL_ (helpers of other macros). Members are not
listed. A name in a sub-namespace is written qualified from plexus, e.g.
`testing::check_loss_gradient`.

docs/api.md has one section per header, `## plexus/<path>.hpp`, and in it one
line per public name: "- `name` — what it is". A header that declares no
public name is a line "- `plexus/<path>.hpp` — what it holds" of the section
"## Headers without public names of their own" instead. Every mismatch is
reported as `<header>: <name> ...`.
Only the Python 3 standard library is used.
"""

import os
import re
import sys

IDENT = re.compile(r"[A-Za-z_]\w*")
INTERNAL_MACRO = re.compile(r"_IMPL|_DETAIL_")
KEYWORDS_BEFORE_NAME = {"inline", "static", "constexpr", "extern", "const", "volatile", "typename",
                        "unsigned", "signed", "long", "short", "explicit", "virtual", "friend", "mutable",
                        "thread_local", "consteval", "constinit", "noexcept"}


def strip_code(text):
    """Comments, string and character literals blanked; newlines kept."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == 'R' and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) if m else -1
            if not m or end < 0:
                out.append(c)
                i += 1
                continue
            j = end + len(m.group(1)) + 2
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def split_preprocessor(text):
    """(code without preprocessor lines, [(directive, name)] of #define/#undef)."""
    code, macros = [], []
    lines = text.split("\n")
    k = 0
    while k < len(lines):
        line = lines[k]
        if line.lstrip().startswith("#"):
            full = line
            while full.endswith("\\") and k + 1 < len(lines):
                k += 1
                full = full[:-1] + " " + lines[k]
            m = re.match(r"\s*#\s*(define|undef)\s+([A-Za-z_]\w*)", full)
            if m:
                macros.append((m.group(1), m.group(2)))
            code.append("")
        else:
            code.append(line)
        k += 1
    return "\n".join(code), macros


def skip_balanced(s, i, open_c, close_c):
    """Index just past the bracket closing the one at s[i]."""
    depth = 0
    while i < len(s):
        if s[i] == open_c:
            depth += 1
        elif s[i] == close_c:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def strip_templates(stmt):
    """`template <...>` heads and [[attributes]] removed."""
    stmt = re.sub(r"\[\[.*?\]\]", " ", stmt)
    while True:
        m = re.match(r"\s*template\s*<", stmt)
        if not m:
            return stmt
        lt = m.end() - 1
        depth, j = 0, lt
        while j < len(stmt):
            if stmt[j] in "<(":
                depth += 1
            elif stmt[j] in ">)":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        stmt = stmt[j + 1:]


def top_level(stmt):
    """stmt with everything inside (), <> (best effort) and {} blanked."""
    out, depth_p, depth_a = [], 0, 0
    for k, c in enumerate(stmt):
        if c in "({[":
            depth_p += 1
            out.append(c if depth_p == 1 and depth_a == 0 else " ")
            continue
        if c in ")}]":
            depth_p -= 1
            out.append(c if depth_p == 0 and depth_a == 0 else " ")
            continue
        if depth_p == 0 and c == "<" and not stmt.startswith("<<", k) and not stmt[max(0, k - 1):k + 1] == "<<" \
                and "operator" not in stmt[max(0, k - 10):k]:
            depth_a += 1
            out.append(" ")
            continue
        if depth_p == 0 and c == ">" and depth_a > 0 and not stmt[max(0, k - 1):k + 1] == "->":
            depth_a -= 1
            out.append(" ")
            continue
        out.append(c if depth_p == 0 and depth_a == 0 else " ")
    return "".join(out)


def declared_name(stmt, at_semicolon):
    """The name a namespace-scope declaration introduces, or None."""
    s = strip_templates(stmt).strip()
    if not s:
        return None
    m = re.match(r"(?:typedef\b.*?\b([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*$)", s, re.S)
    if m and s.startswith("typedef"):
        return m.group(1)
    m = re.match(r"using\s+([A-Za-z_]\w*)\s*=", s)
    if m:
        return m.group(1)
    if s.startswith("using") or s.startswith("static_assert") or s.startswith("extern template"):
        return None
    m = re.match(r"(?:class|struct|union)\s+(?:alignas\s*\([^)]*\)\s*)?([A-Za-z_]\w*)\s*(<)?", s)
    if m:
        # a specialisation adds no name, nor does a forward declaration
        if m.group(2) or (at_semicolon and re.fullmatch(r"(?:class|struct|union)\s+[A-Za-z_]\w*", s)):
            return None
        return m.group(1)
    m = re.match(r"enum\s+(?:class\s+|struct\s+)?([A-Za-z_]\w*)", s)
    if m:
        return m.group(1)
    top = top_level(s)
    # A function: the identifier (or operator) right before the first top-level '(',
    # with a return type before it (a macro call or deduction guide has none).
    eq = top.find("=")
    paren = top.find("(")
    if paren >= 0 and (eq < 0 or paren < eq):
        head = top[:paren].rstrip()
        m = re.search(r"(operator\s*(?:\(\s*\)|[^\w\s(]+|\s[\w:]+))\s*$", head)
        if m:
            name = re.sub(r"\s+", "", m.group(1)) if not re.search(r"\s[\w:]", m.group(1)) else m.group(1)
            before = head[:m.start()]
        else:
            m = re.search(r"([A-Za-z_][\w:]*)\s*$", head)
            if not m:
                return None
            name, before = m.group(1), head[:m.start()]
        words = [w for w in IDENT.findall(before) if w not in KEYWORDS_BEFORE_NAME]
        if not words and not re.search(r"[*&>]", before):
            return None
        if "::" in name or before.rstrip().endswith("::"):  # a member defined out of its class
            return None
        return name
    # A variable: the last identifier before '=' or '{' (or the end), after a type.
    head = top[:eq] if eq >= 0 else top
    head = re.sub(r"\[\s*\]", " ", head).rstrip()
    m = re.search(r"([A-Za-z_]\w*)\s*$", head)
    storage = {"inline", "static", "constexpr", "extern", "thread_local", "constinit"}
    if m and [w for w in IDENT.findall(head[:m.start()]) if w not in storage]:
        return m.group(1)
    return None


def public_names(path):
    """The public names one header declares, in order of appearance."""
    with open(path, encoding="utf-8") as f:
        code, macros = split_preprocessor(strip_code(f.read()))
    names = []
    undefined = {name for d, name in macros if d == "undef"}
    for d, name in macros:
        if d == "define" and name not in undefined and not INTERNAL_MACRO.search(name) and name not in names:
            names.append(name)

    # Walk the code: a stack of scopes, ("ns", [names]) for `namespace a::b {`
    # or ("other", []) for any other braces.
    stack = []
    stmt_start = 0
    i, n = 0, len(code)

    def public_scope():
        if any(kind != "ns" for kind, _ in stack):
            return None
        ns = [part for _, parts in stack for part in parts]
        if not ns or ns[0] != "plexus" or any(part in ("detail", "") for part in ns[1:]):
            return None
        return "::".join(ns[1:])

    def record(stmt, at_semicolon):
        scope = public_scope()
        if scope is None:
            return
        name = declared_name(stmt, at_semicolon)
        if name:
            full = f"{scope}::{name}" if scope else name
            if full not in names:
                names.append(full)

    while i < n:
        c = code[i]
        if c == "{":
            stmt = code[stmt_start:i]
            s = strip_templates(stmt).strip()
            m = re.fullmatch(r"(?:inline\s+)?namespace\s*([\w:]*)\s*", s, re.S)
            if m:
                stack.append(("ns", m.group(1).split("::") if m.group(1) else [""]))
                i += 1
                stmt_start = i
                continue
            top = top_level(s)
            if re.search(r"(?<![=!<>])=(?!=)", top) and not re.match(r"(class|struct|union|enum)\b", s):
                # an initialiser: skip the braces, the statement goes on to its ';'
                i = skip_balanced(code, i, "{", "}")
                continue
            record(stmt, False)
            stack.append(("other", []))
            i += 1
            stmt_start = i
            continue
        if c == "}":
            if stack:
                stack.pop()
            i += 1
            stmt_start = i
            continue
        if c == ";":
            record(code[stmt_start:i], True)
            i += 1
            stmt_start = i
            continue
        if c == "(":
            i = skip_balanced(code, i, "(", ")")
            continue
        i += 1
    return names


def headers(include_dir):
    root = os.path.join(include_dir, "plexus")
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "detail")
        for f in sorted(filenames):
            if f.endswith(".hpp"):
                found.append(os.path.relpath(os.path.join(dirpath, f), include_dir).replace(os.sep, "/"))
    return sorted(found)


NO_NAMES_SECTION = "## Headers without public names of their own"


def read_api(md_path):
    """({header: [names]}, [headers listed as having no public names], problems of form)."""
    sections, no_names, problems, current = {}, [], [], None
    with open(md_path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            m = re.match(r"## (plexus/\S+\.hpp)\s*$", line)
            if m:
                current = m.group(1)
                if current in sections:
                    problems.append(f"{md_path}:{number}: a second section for {current}")
                sections.setdefault(current, [])
                continue
            if line.startswith("## "):
                current = NO_NAMES_SECTION if line.strip() == NO_NAMES_SECTION else None
                continue
            m = re.match(r"- `([^`]+)`", line)
            if not m or not current:
                continue
            if not re.match(r"- `[^`]+` — \S", line):
                problems.append(f"{md_path}:{number}: {m.group(1)} has no ' — description'")
            listed = no_names if current == NO_NAMES_SECTION else sections[current]
            if m.group(1) in listed:
                problems.append(f"{md_path}:{number}: {m.group(1)} is listed twice")
            listed.append(m.group(1))
    return sections, no_names, problems


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    include_dir = argv[1]
    found = {h: public_names(os.path.join(include_dir, h)) for h in headers(include_dir)}
    if argv[2] == "--list":
        for h, names in found.items():
            print(f"## {h}")
            for name in names:
                print(f"- `{name}`")
        return 0
    documented, no_names, problems = read_api(argv[2])
    for h, names in found.items():
        listed = documented.get(h)
        if listed is None:
            for name in names:
                problems.append(f"{h}: {name} is public but docs/api.md has no section '## {h}'")
            if not names and h not in no_names:
                problems.append(f"{h}: a header docs/api.md does not name (it declares no public name: "
                                f"list it under '{NO_NAMES_SECTION[3:]}')")
            continue
        for name in names:
            if name not in listed:
                problems.append(f"{h}: {name} is public but not listed in docs/api.md")
    for h, listed in documented.items():
        if h not in found:
            problems.append(f"{h}: docs/api.md has a section for it but there is no such header")
            continue
        for name in listed:
            if name not in found[h]:
                problems.append(f"{h}: {name} is listed in docs/api.md but the header declares no such public name")
    for h in no_names:
        if h not in found:
            problems.append(f"{h}: listed under '{NO_NAMES_SECTION[3:]}' but there is no such header")
        elif found[h]:
            problems.append(f"{h}: listed under '{NO_NAMES_SECTION[3:]}' but it declares public names "
                            f"({', '.join(found[h])}): give it a section '## {h}'")
        if h in documented:
            problems.append(f"{h}: has a section and is listed under '{NO_NAMES_SECTION[3:]}' too")
    total = sum(len(v) for v in found.values())
    if problems:
        for p in problems:
            print(p)
        print(f"FAIL: {len(problems)} problem(s); {total} public names in {len(found)} headers")
        return 1
    print(f"PASS: docs/api.md lists the {total} public names of {len(found)} headers")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
