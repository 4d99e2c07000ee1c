"""Every citation resolves inside the repository (issue 19).

A maintainer who clones the repository has only what it holds, so code, tests and docs
cite the README's wire protocol as `README "Wire protocol" §N` (a `§` anywhere means one of
its numbered sections) and other README sections (`README.md, "Exit codes"`), never the
project's contracts outside it (DESIGN.md, WIRE.md, STYLE.md, the shared/ folder they live
in). The repository's top level is fixed, so there is no docs/ folder to cite.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
WIRE_SECTION = "Wire protocol"  # the README section whose numbered subsections a `§` cites
SCANNED_DIRS = ("reconciler", "tests", "examples", "schemas", ".ci")
SUFFIXES = {".py", ".md", ".yaml", ".yml", ".json", ".toml", ".txt", ".sh", ".service", ".cfg", ""}
SELF = Path(__file__).resolve()

# A citation of a document that is not in the repository: "DESIGN.md", "WIRE §1",
# "DESIGN's example", "STYLE practice 6", "../shared/", the API reference's seeds/ file.
OUTSIDE = re.compile(r"\b(?:DESIGN|WIRE|STYLE)(?:\.md\b|'s\b|\s+(?:§|section\b|practice\b))"
                     r"|\bshared/|\bseeds/")

# Files that still cite DESIGN.md / WIRE.md / STYLE.md. They belonged to other work
# packages while the citations moved (wp-docs); the lead applies the replacement lines
# listed in that report after merging and deletes the entry. The list may only shrink:
# test_the_allow_list_only_shrinks fails on an entry that no longer cites anything.
ALLOWED_OUTSIDE: set[str] = set()

# (file, cited title) of README citations that name no heading; same rule as above.
ALLOWED_BROKEN_SECTIONS: set[tuple[str, str]] = set()

README_CITE = re.compile(r"""\bREADME(?:\.md)?(?:'s)?,?\s+"([^"]+)\"""")
SECTION_SIGN = re.compile(r"§\s*(\d+)")
DOCS_PATH = re.compile(r"(?<![\w/.])docs/[\w./-]*\w")
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")


def scanned_files() -> Iterator[Path]:
    yield README
    for top in SCANNED_DIRS:
        for path in sorted((ROOT / top).rglob("*")):
            if (path.is_file() and path.suffix in SUFFIXES and path.resolve() != SELF
                    and "__pycache__" not in path.parts and ".venv" not in path.parts):
                yield path


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def text_of(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return ""


def joined(text: str) -> str:
    """Lines joined with the comment leaders and indentation dropped, so a citation
    wrapped over two lines of a docstring or of `#` comments reads as one."""
    return re.sub(r"\s*\n[ \t]*(?:#+[ \t]*)?", " ", text)


def headings(markdown: str) -> list[str]:
    """The titles of a Markdown file's headings, leaving out fenced code blocks."""
    titles, fenced = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"#{1,6} +(.+?)\s*#*\s*$", line)):
            titles.append(m.group(1))
    return titles


def wire_protocol() -> str:
    """The README's wire protocol section, up to the next section of the same level."""
    text = text_of(README)
    start = text.index(f"\n## {WIRE_SECTION}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else None]


def wire_sections() -> set[str]:
    return {m.group(1) for t in headings(wire_protocol()) if (m := re.match(r"(\d+)\.", t))}


def slug(title: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def outside_citations() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in scanned_files():
        for n, line in enumerate(text_of(path).splitlines(), 1):
            if OUTSIDE.search(line):
                found.setdefault(rel(path), []).append(f"{rel(path)}:{n}: {line.strip()}")
    return found


def test_nothing_cites_documents_outside_the_repository() -> None:
    found = outside_citations()
    new = [line for path in sorted(set(found) - ALLOWED_OUTSIDE) for line in found[path]]
    assert not new, "cite a README section instead:\n" + "\n".join(new)


def test_the_allow_list_only_shrinks() -> None:
    found = outside_citations()
    fixed = sorted(ALLOWED_OUTSIDE - set(found))
    assert not fixed, f"no longer cite outside documents; remove from ALLOWED_OUTSIDE: {fixed}"
    cited = {(rel(p), title) for p in scanned_files() for title in README_CITE.findall(joined(text_of(p)))}
    resolved = {(f, t) for f, t in ALLOWED_BROKEN_SECTIONS if (f, t) not in cited or t in headings(text_of(README))}
    assert not resolved, f"fixed; remove from ALLOWED_BROKEN_SECTIONS: {sorted(resolved)}"


def test_every_cited_readme_section_is_a_heading() -> None:
    titles = set(headings(text_of(README)))
    broken = sorted(f"{rel(p)}: README section {title!r}" for p in scanned_files()
                    for title in README_CITE.findall(joined(text_of(p)))
                    if title not in titles and (rel(p), title) not in ALLOWED_BROKEN_SECTIONS)
    assert not broken, "no such heading in README.md:\n" + "\n".join(broken)


def test_every_section_sign_names_a_section_of_the_wire_protocol() -> None:
    sections = wire_sections()
    assert sections == {str(n) for n in range(7)}, sections  # §0..§6, as the code cites them
    broken = []
    for path in scanned_files():
        for n, line in enumerate(text_of(path).splitlines(), 1):
            if rel(path) in ALLOWED_OUTSIDE and OUTSIDE.search(line):
                continue  # an outside document's §, reported by the allow-list above
            broken += [f"{rel(path)}:{n}: §{s}" for s in SECTION_SIGN.findall(line) if s not in sections]
    assert not broken, f"README {WIRE_SECTION!r} has no such section:\n" + "\n".join(broken)


def test_every_cited_docs_file_and_link_exists() -> None:
    broken = [f"{rel(p)}: {cited}" for p in scanned_files() for cited in DOCS_PATH.findall(text_of(p))
              if not (ROOT / cited).exists()]
    for md in [p for p in scanned_files() if p.suffix == ".md"]:
        for target in MD_LINK.findall(text_of(md)):
            if re.match(r"[a-z]+:", target):
                continue  # a URL: not this test's to fetch
            file, _, anchor = target.partition("#")
            where = (md.parent / file).resolve() if file else md
            if not where.exists():
                broken.append(f"{rel(md)}: link {target}")
            elif anchor and where.suffix == ".md" and anchor not in {slug(t) for t in headings(text_of(where))}:
                broken.append(f"{rel(md)}: link {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_the_patterns_catch_citations_and_only_them() -> None:
    """What counts as a citation of an outside document, and a README section cited over
    two comment lines."""
    for cited in ("(WIRE.md §1)", "DESIGN §2", "(DESIGN §4, WIRE §1)", "DESIGN's example",
                  "STYLE practice 6", "DESIGN.md section 2", "../shared/DESIGN.md", "seeds/000_1f.txt"):
        assert OUTSIDE.search(cited), cited
    for code in ("_STYLE = {", "WIRE_DATE = '20250102T030405Z'", "shared_cache/", "a DESIGN decision"):
        assert not OUTSIDE.search(code), code
    assert README_CITE.findall(joined('x  # (README.md, "Pointing it at TOS\n    # Vectors")')) == [
        "Pointing it at TOS Vectors"]
    assert README_CITE.findall(joined('the README\'s "Using reconciler as a\n    library" section')) == [
        "Using reconciler as a library"]
