#!/usr/bin/env python3
"""Issue 8 section 3 measures over src/: fn bodies over 80 lines, files over 700 lines,
module "rooms" over 20% of src/ lines. Brace counting skips strings, chars and comments,
which is enough for this code base (no proc-macro tricks); it reports, it never fails."""
import os
import re
import sys

FN_LIMIT, FILE_LIMIT, ROOM_SHARE = 80, 700, 0.20
FN_RE = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+|async\s+|unsafe\s+)*fn\s+(\w+)")


def strip(line, state):
    """Drop comments, strings and char literals from a line; state carries block comments and raw strings."""
    out, i = [], 0
    while i < len(line):
        if state["block"]:
            j = line.find("*/", i)
            if j < 0:
                return "".join(out)
            state["block"], i = False, j + 2
            continue
        if state["raw"] is not None:
            j = line.find(state["raw"], i)
            if j < 0:
                return "".join(out)
            i, state["raw"] = j + len(state["raw"]), None
            continue
        if state["str"]:
            c = line[i]
            if c == "\\":
                i += 2
                continue
            if c == '"':
                state["str"] = False
            i += 1
            continue
        c = line[i]
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            state["block"], i = True, i + 2
            continue
        m = re.match(r'b?r(#*)"', line[i:])
        if m and (i == 0 or not (line[i - 1].isalnum() or line[i - 1] == "_")):
            state["raw"], i = '"' + m.group(1), i + m.end()
            continue
        if c == '"':
            state["str"], i = True, i + 1
            continue
        m = re.match(r"'(\\.|[^\\'])'", line[i:]) or re.match(r"'\\u\{[0-9a-fA-F]+\}'", line[i:])
        if m:
            i += m.end()
            continue
        out.append(c)
        i += 1
    return "".join(out)


def long_fns(path):
    state = {"block": False, "raw": None, "str": False}
    stack, pending, found = [], None, []
    depth = 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            code = strip(line, state)
            m = FN_RE.match(code)
            if m and pending is None:
                pending = (m.group(4), n)
            for c in code:
                if c == "{":
                    depth += 1
                    if pending is not None:
                        stack.append((pending[0], pending[1], depth))
                        pending = None
                elif c == "}":
                    if stack and stack[-1][2] == depth:
                        name, start, _ = stack.pop()
                        if n - start + 1 > FN_LIMIT:
                            found.append((name, start, n - start + 1))
                    depth -= 1
                elif c == ";" and pending is not None:
                    pending = None  # a declaration without a body (trait method)
    return found


def main(root):
    files = {}
    for d, _, names in os.walk(root):
        for name in names:
            if name.endswith(".rs"):
                p = os.path.join(d, name)
                with open(p, encoding="utf-8") as f:
                    files[p] = sum(1 for _ in f)
    total = sum(files.values())
    print(f"src lines: {total} in {len(files)} files")
    print(f"\nfn bodies over {FN_LIMIT} lines:")
    offenders = 0
    for p in sorted(files):
        for name, start, length in long_fns(p):
            offenders += 1
            print(f"  {p}:{start} {name} {length}")
    print(f"  ({offenders})")
    print(f"\nfiles over {FILE_LIMIT} lines:")
    big = [(n, p) for p, n in files.items() if n > FILE_LIMIT]
    for n, p in sorted(big, reverse=True):
        print(f"  {p} {n}")
    print(f"  ({len(big)})")
    rooms = {}
    for p, n in files.items():
        rel = os.path.relpath(p, root).split(os.sep)
        room = rel[0] if len(rel) > 1 else rel[0][:-3]
        rooms[room] = rooms.get(room, 0) + n
    print(f"\nrooms (a folder, or a top-level file), top 8; over {ROOM_SHARE:.0%} marked:")
    for room, n in sorted(rooms.items(), key=lambda kv: -kv[1])[:8]:
        mark = "  OVER" if n / total > ROOM_SHARE else ""
        print(f"  {room:16} {n:6} {n / total:6.1%}{mark}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "src")
