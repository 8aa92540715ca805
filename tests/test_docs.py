"""The docs stay true to the code.

Checked in every Markdown file that documents the project (``README.md``, ``docs/*.md``
and any other ``README.md`` in the tree):

* every relative link points to an existing file, and a ``#anchor`` to an existing
  heading (GitHub's heading ids);

and in ``README.md`` and ``docs/*.md``:

* every code reference `` `path/to/file.py` `` names an existing file (a `` `dir/` ``
  an existing directory), and every `` `path/to/file.py::name` `` (``name`` may be
  dotted: ``Class.method``) a ``def``, ``class`` or assignment in that file;
* fenced Python blocks follow one of three conventions, by their info string:

  - ```` ```python run ````: an example that must run without error (in a fresh
    namespace, from the repository root) and assert something about its result;
  - ```` ```python source=path/to/file.py::name ````: an excerpt that must be copied
    verbatim from that file (inside ``name`` when given); a line ``...`` marks
    omitted lines, and indentation may be shifted as a whole;
  - plain ```` ```python ````: a sketch (code to be written, e.g. a new op), which
    must at least compile;

* ``docs/README.md`` links to every page in ``docs/``.
"""

from __future__ import annotations

import ast
import os
import re
import textwrap
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

import minigrad

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
# Generated or third-party trees whose Markdown is not the project's documentation.
_SKIP_DIRS = {"out", "build", "dist", "comparison_report", "node_modules", "site-packages", "venv"}


def _readmes() -> list[Path]:
    """Every README.md of the project, outside hidden, generated and installed trees."""
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(".") and d not in _SKIP_DIRS and not d.endswith(".egg-info")
        ]
        if "README.md" in files:
            found.append(Path(folder) / "README.md")
    return found


MARKDOWN = sorted({*_readmes(), *DOCS})
CODE_REF_FILES = [ROOT / "README.md", *DOCS]


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# ------------------------------------------------------------------ Markdown parsing
@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    info: str
    code: str

    @property
    def id(self) -> str:
        return f"{_rel(self.path)}:{self.line}"


_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>.*)$")


@cache
def _parse(path: Path) -> tuple[str, tuple[Block, ...]]:
    """The prose (fenced blocks blanked, so line numbers still match) and the blocks."""
    lines = path.read_text(encoding="utf-8").splitlines()
    prose: list[str] = []
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None:
            prose.append(lines[i])
            i += 1
            continue
        fence, indent = m["fence"], len(m["indent"])
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            close = lines[j].strip()
            if close.startswith(fence[0] * len(fence)) and not close.strip(fence[0]):
                break
            body.append(lines[j][indent:] if lines[j][:indent].isspace() else lines[j])
            j += 1
        blocks.append(Block(path, i + 1, m["info"].strip(), "\n".join(body) + "\n"))
        prose.extend([""] * (j + 1 - i))
        i = j + 1
    return "\n".join(prose), tuple(blocks)


_INLINE_CODE = re.compile(r"(`+)(.+?)\1")


def _without_inline_code(text: str) -> str:
    return _INLINE_CODE.sub(lambda m: " " * len(m[0]), text)


def _slug(heading: str) -> str:
    """GitHub's id for a heading: markup dropped, lower case, punctuation removed
    (letters, digits, spaces, hyphens and underscores kept), spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links -> their text
    text = text.replace("`", "").replace("*", "").lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in ("L", "N"))
    return kept.replace(" ", "-")


@cache
def _anchors(path: Path) -> frozenset[str]:
    prose, _ = _parse(path)
    seen: dict[str, int] = {}
    anchors = set()
    for line in prose.splitlines():
        m = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        slug = _slug(m[1])
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return frozenset(anchors)


_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?(?P<target>[^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"
)
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(?P<target>\S+?)>?(?:\s+\".*\")?\s*$", re.M)


def _links(path: Path) -> list[tuple[int, str]]:
    prose, _ = _parse(path)
    found = []
    for n, line in enumerate(prose.splitlines(), 1):
        text = _without_inline_code(line)
        found += [(n, m["target"]) for m in _LINK.finditer(text)]
        found += [(n, m["target"]) for m in _REF_DEF.finditer(text)]
    return found


def _relative_links() -> list[tuple[Path, int, str]]:
    return [
        (path, n, target)
        for path in MARKDOWN
        for n, target in _links(path)
        if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target)  # http:, https:, mailto:
    ]


# ------------------------------------------------------------------ code references
_PY_REF = re.compile(r"^(?P<path>[\w.-]+(?:/[\w.-]+)*\.py)(?:::(?P<name>[A-Za-z_][\w.]*))?$")
_DIR_REF = re.compile(r"^[\w.-]+(?:/[\w.-]+)*/$")


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _names_of(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):  # ``x = ...`` and ``a, b = ...``
        targets = [e for t in node.targets for e in (t.elts if isinstance(t, ast.Tuple) else [t])]
        return [t.id for t in targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def _definition(path: Path, dotted: str) -> ast.stmt | None:
    """The def/class/assignment ``dotted`` (``Class.method``) at module level of ``path``."""
    scope: list[ast.stmt] = _tree(path).body
    node: ast.stmt | None = None
    for part in dotted.split("."):
        node = next((n for n in scope if part in _names_of(n)), None)
        if node is None:
            return None
        scope = getattr(node, "body", [])
    return node


def _code_refs() -> list[tuple[Path, int, str]]:
    refs = []
    for path in CODE_REF_FILES:
        prose, _ = _parse(path)
        for n, line in enumerate(prose.splitlines(), 1):
            for m in _INLINE_CODE.finditer(line):
                span = m[2].strip()
                if _PY_REF.match(span) or _DIR_REF.match(span):
                    refs.append((path, n, span))
    return refs


# ------------------------------------------------------------------ code blocks
def _python_blocks() -> list[Block]:
    return [
        b for path in CODE_REF_FILES for b in _parse(path)[1] if b.info.split(" ")[0] == "python"
    ]


def _kind(block: Block) -> str:
    words = block.info.split()[1:]
    if not words:
        return "sketch"
    if words == ["run"]:
        return "run"
    if len(words) == 1 and words[0].startswith("source="):
        return "source"
    return "unknown"


RUNNABLE = [b for b in _python_blocks() if _kind(b) == "run"]
EXCERPTS = [b for b in _python_blocks() if _kind(b) == "source"]


def _chunks(code: str) -> list[list[str]]:
    """The excerpt's runs of consecutive lines between ``...`` markers, each dedented."""
    chunks, current = [], []
    for line in code.splitlines():
        if line.strip() == "...":
            chunks.append(current)
            current = []
        else:
            current.append(line)
    chunks.append(current)
    result = []
    for chunk in chunks:
        text = textwrap.dedent("\n".join(chunk)).strip("\n")
        if text:
            result.append([line.rstrip() for line in text.splitlines()])
    return result


def _find(chunk: list[str], lines: list[str], start: int, stop: int) -> int | None:
    """Index just past the first place in ``lines[start:stop]`` where ``chunk`` appears
    with one common extra indentation; None if nowhere."""
    for i in range(start, stop - len(chunk) + 1):
        first = lines[i]
        if not first.endswith(chunk[0]):
            continue
        prefix = first[: len(first) - len(chunk[0])]
        if prefix.strip():
            continue
        if all(
            (lines[i + k].strip() == "") if not c else lines[i + k] == prefix + c
            for k, c in enumerate(chunk)
        ):
            return i + len(chunk)
    return None


# ------------------------------------------------------------------ the tests
def test_the_docs_exist_and_the_index_lists_each() -> None:
    names = {p.name for p in DOCS}
    expected = {
        "README.md",
        "how-minigrad-works.md",
        "math.md",
        "minigrad-vs-pytorch.md",
        "adding-an-op.md",
    }
    assert expected <= names, f"missing docs: {sorted(expected - names)}"
    index_targets = {t.split("#")[0] for _, t in _links(ROOT / "docs" / "README.md")}
    unlisted = sorted(p.name for p in DOCS if p.name != "README.md" and p.name not in index_targets)
    assert not unlisted, f"docs/README.md does not link to {unlisted}"


def test_relative_links_resolve() -> None:
    links = _relative_links()
    assert links, "no relative links found: the link parser is broken"
    bad = []
    for path, n, target in links:
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        where = f"{_rel(path)}:{n}: {target}"
        if not dest.exists():
            bad.append(f"{where} (no such file)")
        elif not dest.is_relative_to(ROOT):
            bad.append(f"{where} (outside the repository)")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            bad.append(f"{where} (no heading with id {anchor!r} in {_rel(dest)})")
    assert not bad, "broken links:\n" + "\n".join(bad)


def test_code_references_name_existing_files_and_definitions() -> None:
    refs = _code_refs()
    assert any("::" in r for _, _, r in refs), "no `file.py::name` references found"
    bad = []
    for path, n, ref in refs:
        file_part, _, name = ref.partition("::")
        target = ROOT / file_part
        where = f"{_rel(path)}:{n}: `{ref}`"
        if ref.endswith("/"):
            if not target.is_dir():
                bad.append(f"{where} (no such directory)")
        elif not target.is_file():
            bad.append(f"{where} (no such file)")
        elif name and _definition(target, name) is None:
            bad.append(f"{where} (no def, class or assignment {name!r} in {file_part})")
    assert not bad, "stale code references:\n" + "\n".join(bad)


def test_python_blocks_follow_a_convention_and_compile() -> None:
    blocks = _python_blocks()
    assert RUNNABLE and EXCERPTS, "expected runnable examples and source excerpts in the docs"
    bad = [f"{b.id}: unknown info string {b.info!r}" for b in blocks if _kind(b) == "unknown"]
    for b in blocks:
        if _kind(b) in ("run", "sketch"):
            try:
                compile(b.code, b.id, "exec")
            except SyntaxError as e:
                bad.append(f"{b.id}: {e}")
    bad += [
        f"{b.id}: a runnable example must assert its result"
        for b in RUNNABLE
        if not re.search(r"^\s*assert\b", b.code, re.M)
    ]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("block", EXCERPTS, ids=lambda b: b.id)
def test_excerpt_is_copied_verbatim_from_its_source(block: Block) -> None:
    ref = block.info.split("source=", 1)[1]
    file_part, _, name = ref.partition("::")
    path = ROOT / file_part
    assert path.is_file(), f"{block.id}: no such file {file_part}"
    lines = [line.rstrip() for line in path.read_text(encoding="utf-8").splitlines()]
    start, stop = 0, len(lines)
    if name:
        node = _definition(path, name)
        assert node is not None, f"{block.id}: no definition {name!r} in {file_part}"
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        start, stop = first - 1, node.end_lineno
    for chunk in _chunks(block.code):
        found = _find(chunk, lines, start, stop)
        assert found is not None, (
            f"{block.id}: these lines are not in {ref} (in this order):\n" + "\n".join(chunk)
        )
        start = found


@pytest.fixture
def clean_state():
    """Each example starts from minigrad's defaults and leaves them as it found them."""
    dtype, grad_mode = minigrad.get_default_dtype(), minigrad.is_grad_enabled()
    minigrad.manual_seed(0)
    yield
    minigrad.set_default_dtype(dtype)
    minigrad.set_grad_enabled(grad_mode)


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda b: b.id)
def test_runnable_example_runs(block: Block, clean_state: None, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    exec(compile(block.code, block.id, "exec"), {"__name__": "__docs__"})
