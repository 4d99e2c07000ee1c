"""Safe YAML to plain data, remembering where every value and key came from.

PyYAML composes nodes (which carry marks); this module builds the Python values from
the nodes itself, so that it can record positions by JSON path, refuse every tag that
is not plain data (no object construction, ever), report duplicate keys, and apply
`${VAR}` interpolation with a precise location. Deviations from `yaml.safe_load`:

- timestamps stay strings (the manifest has no dates; `Version: 2025-12-01` is a string);
- mapping keys are always the scalar's text (`1: x` has the key "1");
- a repeated key is an error instead of "last one wins".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.errors import Diagnostic
from reconciler.manifest._interpolate import Interpolator
from reconciler.manifest.model import Source
from reconciler.util.text import cut, lone_surrogate

# A position in a YAML document: keys and list indexes from the root (not a file path).
YamlPath = tuple[Any, ...]

_STD = "tag:yaml.org,2002:"
# Values built again through an alias beyond this are an attack ("billion laughs") or a
# mistake. Only alias expansions count: a large estate written out in full is bounded by
# the file size limit, not by this.
_MAX_ALIAS_VALUES = 200_000


class _CachedResolver:
    """Remembers the implicit tag of plain scalars: PyYAML's resolver runs a chain of regexes
    for each one, and a manifest repeats the same keys and values thousands of times."""

    _tags: dict[str, str] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and implicit[0] and len(value) <= 64:
            tag = self._tags.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)  # type: ignore[misc]
                if len(self._tags) < 4096:
                    self._tags[value] = tag
            return tag
        return super().resolve(kind, value, implicit)  # type: ignore[misc]


class _Loader(_CachedResolver, yaml.SafeLoader):
    """Used to compose nodes; of its constructors only the int/float/bool scalar ones are called."""


class _FastLoader(_CachedResolver, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser (when PyYAML has it): the same nodes and marks, ~7x faster. Its
    error messages are vaguer, so a document it rejects is parsed again with _Loader."""


class Doc:
    """One YAML document (or JSON text) as plain data plus where each part came from.

    Positions are kept as the parser's marks and become a Source only when asked for: a
    manifest of thousands of indexes has tens of thousands of values, and only the few
    with a problem are ever reported. (A plain class: a dataclass costs ~0.5 ms of every
    `validate` to create.)
    """

    __slots__ = ("file", "value", "start", "positions", "key_positions", "interpolated", "plain_raw",
                 "literal_blocks", "broken", "offset")

    def __init__(self, file: str, value: Any, start: Source) -> None:
        self.file = file
        self.value = value
        self.start = start
        self.positions: dict[YamlPath, Any] = {}  # path -> mark of the value's start
        self.key_positions: dict[YamlPath, Any] = {}  # path -> mark of its key
        self.interpolated: set[YamlPath] = set()  # strings that had ${...}
        self.plain_raw: dict[YamlPath, str] = {}  # unquoted non-strings: source text
        self.literal_blocks: dict[YamlPath, tuple[int, int]] = {}  # '|' strings: 0-based content start
        self.broken: set[YamlPath] = set()  # values already reported (bad tag, undefined ${VAR}, ...)
        self.offset: Callable[[Source], Source] | None = None  # maps positions in embedded text to the file's

    def is_broken(self, path: YamlPath) -> bool:
        """Whether `path` is at or under a value that already has an error (so no more are piled on)."""
        broken = self.broken
        return bool(broken) and any(tuple(path[:n]) in broken for n in range(len(path) + 1))

    def source(self, mark: Any) -> Source:
        src = _source(self.file, mark)
        return self.offset(src) if self.offset is not None else src

    def at(self, path: YamlPath) -> Source:
        path = tuple(path)
        while path:
            if path in self.positions:
                return self.source(self.positions[path])
            path = path[:-1]
        return self.source(self.positions[()]) if () in self.positions else self.start

    def key_at(self, path: YamlPath) -> Source:
        mark = self.key_positions.get(tuple(path))
        return self.source(mark) if mark is not None else self.at(path)


class _TooBig(Exception):
    def __init__(self, mark: Any) -> None:
        super().__init__()
        self.mark = mark  # where the alias whose expansion went over the limit is used


def _source(file: str, mark: Any) -> Source:
    return Source(file, mark.line + 1, mark.column + 1)


def _tag_text(tag: str) -> str:
    return "!!" + tag[len(_STD):] if tag.startswith(_STD) else tag


class _Builder:
    def __init__(self, doc: Doc, interp: Interpolator | None, diags: list[Diagnostic], text: str):
        self.doc = doc
        self.text = text  # marks index into it (libyaml's marks carry no buffer of their own)
        self.interp = interp
        self.diags = diags
        self.count = 0  # values built through an alias (a collection node met again)
        self.expanding = 0  # > 0 while building inside such a node
        self.built: set[int] = set()  # ids of the collection nodes built so far
        self.expansion_mark: Any = None
        self.active: set[int] = set()
        self._constructor = _Loader("")

    def error(self, src: Source, message: str, path: YamlPath | None = None) -> None:
        self.diags.append(Diagnostic(src.file, src.line, src.col, message))
        if path is not None:
            self.doc.broken.add(path)

    def fail(self, node: Node, message: str, path: YamlPath | None = None) -> None:
        """An error at the start of `node`."""
        self.error(self.doc.source(node.start_mark), message, path)

    def build(self, node: Node, path: YamlPath) -> Any:
        if self.expanding:
            self.count += 1
            if self.count > _MAX_ALIAS_VALUES:
                raise _TooBig(self.expansion_mark)
        self.doc.positions[path] = node.start_mark
        if id(node) in self.active:
            self.fail(node, "recursive YAML alias: a node cannot contain itself", path)
            return None
        # The composer gives every use of an anchor the same node object, so a collection
        # met again is an alias being expanded; scalars are not tracked (an alias of one
        # costs one value, and there are no more aliases than bytes).
        again = False
        if not isinstance(node, ScalarNode):
            again = id(node) in self.built
            self.built.add(id(node))
            if again and not self.expanding:
                self.expansion_mark = node.start_mark
            self.expanding += again
        self.active.add(id(node))
        try:
            if isinstance(node, ScalarNode):
                return self.scalar(node, path)
            if isinstance(node, SequenceNode):
                if node.tag != _STD + "seq":
                    self.fail(node, f"unsupported YAML tag {_tag_text(node.tag)!r}: only plain lists are allowed", path)
                    return None
                return [self.build(child, path + (i,)) for i, child in enumerate(node.value)]
            if isinstance(node, MappingNode):
                if node.tag != _STD + "map":
                    self.fail(node, f"unsupported YAML tag {_tag_text(node.tag)!r}: only plain mappings are allowed",
                              path)
                    return None
                return self.mapping(node, path)
            return None  # pragma: no cover - PyYAML has no other node kinds
        finally:
            self.active.discard(id(node))
            self.expanding -= again

    def scalar(self, node: ScalarNode, path: YamlPath) -> Any:
        tag = node.tag
        if tag in (_STD + "str", _STD + "timestamp"):
            return self.string(node, path)
        try:
            if tag == _STD + "null":
                return None
            value: bool | int | float
            if tag == _STD + "bool" and node.value.lower() not in ("true", "false"):
                # YAML 1.1's yes/no/on/off: strings in YAML 1.2, as editors and the JSON Schema
                # read them, so a field that wants a boolean refuses them (one rule, with a hint)
                return self.checked(node, node.value, path)
            if tag == _STD + "bool":
                value = self._constructor.construct_yaml_bool(node)
            elif tag == _STD + "int":
                value = self._constructor.construct_yaml_int(node)
            elif tag == _STD + "float":
                value = self._constructor.construct_yaml_float(node)
            else:
                self.fail(node, f"unsupported YAML tag {_tag_text(tag)!r}: only strings, numbers, "
                                f"booleans, null, lists and mappings are allowed", path)
                return None
        except Exception as e:  # int() of 10,000 digits, a bad explicit !!int, ...
            self.fail(node, f"invalid {_tag_text(tag)[2:]} {cut(node.value, 40, '...')!r}: {cut(str(e), 120)}", path)
            return None
        if not node.style:  # plain: None from PyYAML, "" from libyaml
            self.doc.plain_raw[path] = node.value
        return value

    def string(self, node: ScalarNode, path: YamlPath) -> str:
        text = node.value
        if node.style == "|":
            self.doc.literal_blocks[path] = _block_content_start(node, self.text)
        if self.interp is None:
            return self.checked(node, text, path)
        result, substituted, problems = self.interp.expand(text)
        if substituted:
            self.doc.interpolated.add(path)
        for p in problems:
            self.error(_token_source(self.doc.file, node, p.token, self.text), p.message, path)
        return self.checked(node, result, path)

    def checked(self, node: Node, text: str, path: YamlPath | None = None) -> str:
        problem = lone_surrogate(text)
        if problem:
            self.fail(node, problem, path)
        return text

    def mapping(self, node: MappingNode, path: YamlPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: list[tuple[Node, Node]] = []
        key_positions = self.doc.key_positions
        for key_node, value_node in node.value:
            if key_node.tag == _STD + "merge":
                merged.extend(self.merge_pairs(value_node))
                continue
            if not isinstance(key_node, ScalarNode):
                self.fail(key_node, "mapping keys must be plain strings")
                continue
            key = self.checked(key_node, key_node.value)
            key_path = path + (key,)
            if key in out:
                first = self.doc.source(key_positions[key_path])
                self.fail(key_node, f"duplicate key {key!r} (first at line {first.line}, column {first.col})")
                continue
            key_positions[key_path] = key_node.start_mark
            out[key] = self.build(value_node, key_path)
        for key_node, value_node in merged:  # explicit keys win over merged ones
            if isinstance(key_node, ScalarNode) and key_node.value not in out:
                key = key_node.value
                key_positions[path + (key,)] = key_node.start_mark
                out[key] = self.build(value_node, path + (key,))
        return out

    def merge_pairs(self, node: Node) -> Iterator[tuple[Node, Node]]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        for src in sources:
            if not isinstance(src, MappingNode):
                self.fail(src, "'<<' (merge) needs a mapping or a list of mappings")
                continue
            yield from src.value


def _block_content_start(node: ScalarNode, buf: str) -> tuple[int, int]:
    """(0-based line, 0-based column) of the first content line of a '|' block scalar."""
    ptr = node.start_mark.index
    if not buf:
        return node.start_mark.line + 1, 0
    nl = buf.find("\n", ptr)
    if nl < 0:
        return node.start_mark.line + 1, 0
    line, i = node.start_mark.line + 1, nl + 1
    while True:  # skip blank lines before the content
        j = i
        while j < len(buf) and buf[j] == " ":
            j += 1
        if j < len(buf) and buf[j] == "\n":
            line, i = line + 1, j + 1
            continue
        return line, j - i


def _token_source(file: str, node: ScalarNode, token: str, buf: str) -> Source:
    """The position of `token` (e.g. "${NAME}") in the raw text of `node`, else the node's."""
    start, end = node.start_mark, node.end_mark
    if buf and token:
        raw = buf[start.index:end.index]
        off = raw.find(token)
        if off >= 0:
            before = raw[:off]
            newlines = before.count("\n")
            if newlines:
                return Source(file, start.line + newlines + 1, off - before.rfind("\n"))
            return Source(file, start.line + 1, start.column + off + 1)
    return _source(file, start)


# PyYAML's parser vocabulary ("expected <block end>") in the words of someone editing a file:
# (a fragment of its problem text, the plain sentence, whether to point where it started).
_PLAIN: tuple[tuple[str, str, bool], ...] = (
    ("expected <block end>",
     "inconsistent indentation: this line is indented differently from the lines around it", False),
    ("did not find expected key", "inconsistent indentation (or a '-' or ':' missing)", False),
    ("could not find expected ':'",
     "a key without ':' (or a line that should be indented under the one above)", False),
    ("mapping values are not allowed here",
     "unexpected ':': quote a value that contains ': ', or fix the indentation", False),
    ("expected ',' or ']'", "a '[' list that is not closed with ']'", True),
    ("expected ',' or '}'", "a '{' mapping that is not closed with '}'", True),
    ("found duplicate anchor", "an anchor (&name) defined twice", False),
)


def _plain_words(e: yaml.MarkedYAMLError) -> tuple[str, bool] | None:
    problem, context = e.problem or "", e.context or ""
    if problem.startswith("found undefined alias "):
        name = problem.removeprefix("found undefined alias ").strip("'")
        return f"alias *{name} has no anchor &{name} before it", False
    if problem.startswith("found character ") and "that cannot start any token" in problem:
        char = problem.removeprefix("found character ").split(" that cannot", 1)[0]
        if char == "'\\t'":
            return "a tab character: YAML indents with spaces only", False
        # '@' and '`' are reserved: no plain value may start with them (`name: @abc`)
        return f"{char} is reserved in YAML and cannot start an unquoted value: put the value in quotes", False
    if "quoted scalar" in context and "end of stream" in problem:
        return "a quoted string that is never closed", True
    for fragment, words, at_start in _PLAIN:
        if fragment in problem:
            return words, at_start
    return None


def _yaml_error(file: str, text: str, e: Exception) -> Diagnostic:
    if isinstance(e, yaml.MarkedYAMLError):
        plain = _plain_words(e)
        mark = (e.context_mark if plain and plain[1] else None) or e.problem_mark or e.context_mark
        parts = [p for p in (e.context, e.problem) if p]
        msg = "invalid YAML: " + (plain[0] if plain else "; ".join(parts) if parts else str(e))
        if mark is not None:
            return Diagnostic(file, mark.line + 1, mark.column + 1, msg)
        return Diagnostic(file, 1, 1, msg)
    if isinstance(e, yaml.reader.ReaderError):
        before = text[: e.position]
        line = before.count("\n") + 1
        col = e.position - (before.rfind("\n") + 1) + 1
        ch = e.character if isinstance(e.character, str) else chr(e.character)
        return Diagnostic(file, line, col, f"invalid YAML: special character U+{ord(ch):04X} is not allowed")
    return Diagnostic(file, 1, 1, f"invalid YAML: {e}")


def load_documents(
    text: str, file: str, interp: Interpolator | None, diags: list[Diagnostic]
) -> list[Doc]:
    """Every non-empty document of `text`; problems are appended to `diags`.

    With `interp` None, strings are left alone (used to locate values in JSON files).
    """
    if hasattr(yaml, "CSafeLoader"):
        fast_diags: list[Diagnostic] = []
        docs = _load_documents(text, file, interp, fast_diags, _FastLoader)
        if not any(d.message.startswith("invalid YAML") for d in fast_diags):
            diags.extend(fast_diags)
            return docs
    return _load_documents(text, file, interp, diags, _Loader)


def _load_documents(
    text: str, file: str, interp: Interpolator | None, diags: list[Diagnostic], loader_class: type[Any]
) -> list[Doc]:
    docs: list[Doc] = []
    loader: Any = None
    try:
        loader = loader_class(text)
        loader.name = file
        while loader.check_node():
            node = loader.get_node()
            if node is None or (isinstance(node, ScalarNode) and node.tag == _STD + "null"
                                and node.value in ("", "~", "null")):
                continue  # an empty document
            start = _source(file, node.start_mark)
            doc = Doc(file=file, value=None, start=start)
            builder = _Builder(doc, interp, diags, text)
            try:
                doc.value = builder.build(node, ())
            except _TooBig as e:
                at = _source(file, e.mark) if e.mark is not None else start
                diags.append(Diagnostic(file, at.line, at.col,
                                        f"aliases of the YAML anchor here expand to more than "
                                        f"{_MAX_ALIAS_VALUES} values (an alias bomb?)"))
                continue
            docs.append(doc)
    except (yaml.YAMLError, ValueError) as e:
        diags.append(_yaml_error(file, text, e))
    except RecursionError:
        diags.append(Diagnostic(file, 1, 1, "invalid YAML: nested too deeply"))
    finally:
        if loader is not None:
            loader.dispose()
    return docs


def json_positions(text: str, file: str, offset: Callable[[Source], Source] | None = None) -> Doc:
    """Best-effort positions of the values of a JSON text (JSON is nearly YAML).

    Returns a Doc whose `at()` falls back to the start when the text is not YAML-readable.
    """
    fallback = Source(file, 1, 1)
    diags: list[Diagnostic] = []
    try:
        docs = load_documents(text.replace("\t", " "), file, None, diags)
    except Exception:  # positions are a nicety; never let them fail a load
        docs = []
    doc = docs[0] if len(docs) == 1 and not diags else Doc(file=file, value=None, start=fallback)
    if offset is not None:
        doc.offset = offset
        doc.start = offset(doc.start)
    return doc
