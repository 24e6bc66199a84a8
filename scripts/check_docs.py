#!/usr/bin/env python3
"""Keep ARCHITECTURE.md and the unsafe-code rule honest.

1. Every source file of the product crates appears in its crate's section
   of ARCHITECTURE.md's code map (`### `crate/src``): by its path inside
   `src/` (`launch/pty.rs`), or through its directory (`sessions/`) when
   the map describes a directory as a whole.
   `lib.rs` and `main.rs` are the crate itself.
   Every file a section names exists.
2. `unsafe` code lives only in `sys` modules (`sys.rs`, `*_sys.rs`, or a
   `sys/` directory); a crate without one forbids unsafe code outright.
3. Where a document quotes the size of a helper's syscall allowlist
   ("N syscalls"), it matches the table in that helper's `syscalls.rs`.

Exit status 1 with one line per problem.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = ["sandbox", "nono", "nono-broker", "nono-proxy", "nono-keyholder",
          "ipc", "audit", "rollback", "trust"]
UNSAFE = re.compile(r"\bunsafe\s*(\{|fn\b|impl\b|extern\b)")
HELPERS = {"broker": "nono-broker", "proxy": "nono-proxy", "keyholder": "nono-keyholder"}


def sources(crate):
    src = ROOT / crate / "src"
    return sorted(p for p in src.rglob("*.rs"))


def is_sys(rel):
    return rel.name == "sys.rs" or rel.name.endswith("_sys.rs") or "sys" in rel.parts[:-1]


def code_comment_free(text):
    """The text without comments and string literals (roughly: enough to
    find the `unsafe` keyword)."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    return text


def section(doc, crate):
    """The code map's section for `crate` (`### `crate/src``), up to the next heading."""
    m = re.search(r"^### `" + re.escape(crate) + r"/src`\n(.*?)(?=^#)", doc, re.M | re.S)
    return m.group(1) if m else None


def check_map(doc, problems):
    for crate in CRATES:
        text = section(doc, crate)
        if text is None:
            problems.append(f"ARCHITECTURE.md: no code map section `{crate}/src`")
            continue
        for path in sources(crate):
            rel = path.relative_to(ROOT / crate / "src")
            if rel.name in ("lib.rs", "main.rs") and len(rel.parts) == 1:
                continue
            name = rel.as_posix()
            dirs = [Path(*rel.parts[:i]).as_posix() + "/" for i in range(1, len(rel.parts))]
            if f"`{name}`" in text or any(f"`{d}`" in text for d in dirs):
                continue
            problems.append(f"ARCHITECTURE.md: {crate}/src/{name} is not in the `{crate}/src` code map")
        check_stale(crate, text, problems)


def check_stale(crate, text, problems):
    """Every `file.rs` the section names exists (directly, or inside a
    directory the same row names)."""
    src = ROOT / crate / "src"
    for line in text.splitlines():
        dirs = re.findall(r"`([\w/]+/)`", line)
        for name in re.findall(r"`([\w/]+\.rs)`", line):
            candidates = [src / name] + [src / d / name for d in dirs]
            if not any(c.exists() for c in candidates):
                problems.append(f"ARCHITECTURE.md: the `{crate}/src` code map names {name}, which does not exist")


def check_unsafe(problems):
    for crate in CRATES:
        has_sys = False
        for path in sources(crate):
            rel = path.relative_to(ROOT / crate / "src")
            code = code_comment_free(path.read_text())
            if is_sys(rel):
                has_sys = True
                continue
            for m in UNSAFE.finditer(code):
                line = code[: m.start()].count("\n") + 1
                problems.append(f"{crate}/src/{rel.as_posix()}:{line}: unsafe code outside a sys module")
        roots = [ROOT / crate / "src" / f for f in ("lib.rs", "main.rs")]
        if not has_sys:
            if not any(r.exists() and "#![forbid(unsafe_code)]" in r.read_text() for r in roots):
                problems.append(f"{crate}: no sys module, so its crate root must #![forbid(unsafe_code)]")


def allowlist_size(crate):
    path = ROOT / crate / "src" / "syscalls.rs"
    if not path.exists():
        return None
    # Entries are `a("name", "why")` calls, plus conditional `AllowedIf { … }`.
    text = code_comment_free(path.read_text())
    return len(re.findall(r'\ba\(\s*""', text)) + len(re.findall(r"\bAllowedIf\s*\{", text))


def check_counts(docs, problems):
    quote = re.compile(r"(\d+)[- ](?:syscalls|system calls)")
    for name, text in docs.items():
        for i, line in enumerate(text.splitlines(), 1):
            for m in quote.finditer(line):
                helpers = [h for h in HELPERS if h in line.lower()]
                if len(helpers) != 1:
                    continue
                size = allowlist_size(HELPERS[helpers[0]])
                if size is not None and size != int(m.group(1)):
                    problems.append(
                        f"{name}:{i}: quotes {m.group(1)} syscalls for {helpers[0]}, its allowlist has {size}")


def main():
    docs = {n: (ROOT / n).read_text() for n in ("ARCHITECTURE.md", "SECURITY.md", "README.md")}
    problems = []
    check_map(docs["ARCHITECTURE.md"], problems)
    check_unsafe(problems)
    check_counts(docs, problems)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) in the documentation checks")
        return 1
    print("docs: code map complete, unsafe only in sys modules, quoted syscall counts match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
