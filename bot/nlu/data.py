"""The trainers' NLU files (`data/nlu/<topic>.yml`), read with line numbers and edited in place.

Edits touch only the lines they are about: adding an example inserts one line at the end of its
intent's block, editing replaces one line, deleting removes one. Comments, order, quoting and
blank lines stay as the trainer left them, so a change reads as a one-line diff in git. (A YAML
round trip through a parser would re-indent and re-wrap whole files.)

Every edit names the line and the text it expects there; when the file changed in between, the
edit is refused (`StaleEdit`) rather than applied to the wrong line.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.text import printable, unaccented, without_entity_marks

INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{1,59}$")
TOPIC_NAME = INTENT_NAME
MAX_EXAMPLE_CHARS = 300
_INTENT_LINE = re.compile(
    r"""^(?P<indent>\s*)-\s+intent:\s*["']?(?P<name>[^\s"'#]+)["']?\s*(#.*)?$"""
)
_EXAMPLES_LINE = re.compile(r"^(?P<indent>\s*)examples:\s*\|[-+]?\s*(#.*)?$")
_ITEM_LINE = re.compile(r"^(?P<indent>\s*)-\s(?P<text>.*?)\s*$")
_OTHER_KEY = re.compile(r"^\s*-\s+(synonym|regex|lookup):")
_INTENTS_KEY = re.compile(r"^intents:\s*(#.*)?$")


class NluDataError(ValueError):
    """An edit that cannot be made; the message is Spanish, for the trainer."""


class StaleEdit(NluDataError):
    """The line no longer holds the text the edit was about: the file changed meanwhile."""


@dataclass(frozen=True)
class Example:
    """One training sentence where it is written.

    Attributes:
        intent: the intent it teaches.
        text: the sentence as written, with any entity marks (`[Madrid](city)`).
        file: its file, relative to the project (`data/nlu/orders.yml`).
        line: its line number, from 1.
    """

    intent: str
    text: str
    file: str
    line: int

    @property
    def plain(self) -> str:
        """The sentence as a customer would say it: entity marks removed."""
        return without_entity_marks(self.text)

    def to_json(self) -> dict[str, object]:
        return {"intent": self.intent, "text": self.text, "file": self.file, "line": self.line}


@dataclass(frozen=True)
class IntentBlock:
    """Where an intent's examples are in a file: the `examples: |` line and the last example."""

    intent: str
    file: str
    header_line: int
    last_line: int
    item_indent: str


def clean_example(text: str) -> str:
    """One line of trainer text fit for a YAML block: control characters out, whitespace
    collapsed, length checked."""
    text = " ".join(printable(str(text)).split())
    if not text:
        raise NluDataError("Escriba la frase del ejemplo.")
    if len(text) > MAX_EXAMPLE_CHARS:
        raise NluDataError(f"La frase es demasiado larga (máximo {MAX_EXAMPLE_CHARS} caracteres).")
    return text


def check_intent_name(name: str) -> str:
    if not INTENT_NAME.match(name):
        raise NluDataError(
            "El nombre de la intención solo puede tener minúsculas sin tildes, cifras y guiones "
            "bajos, y empezar por una letra (por ejemplo: consultar_factura)."
        )
    return name


class NluFile:
    """One NLU file: its lines, its examples and its intent blocks."""

    def __init__(self, path: Path, relative: str) -> None:
        self.path = path
        self.relative = relative
        try:
            self.lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        except (OSError, UnicodeDecodeError) as error:
            raise NluDataError(
                f"No se puede leer {relative}: guárdelo como texto UTF-8 y vuelva a intentarlo."
            ) from error

    def scan(self) -> tuple[list[Example], list[IntentBlock]]:
        """The intent examples and blocks, by line (synonyms, regexes and lookups skipped)."""
        examples: list[Example] = []
        blocks: list[IntentBlock] = []
        intent: str | None = None
        block: IntentBlock | None = None
        block_indent = -1
        for number, line in enumerate(self.lines, start=1):
            stripped = line.rstrip("\n")
            if block is not None:
                item = _ITEM_LINE.match(stripped)
                if not stripped.strip():
                    continue
                if len(stripped) - len(stripped.lstrip()) > block_indent and item:
                    examples.append(
                        Example(block.intent, item.group("text"), self.relative, number)
                    )
                    block = IntentBlock(
                        block.intent, self.relative, block.header_line, number, item.group("indent")
                    )
                    blocks[-1] = block
                    continue
                if len(stripped) - len(stripped.lstrip()) > block_indent:
                    continue  # a comment or continuation inside the block
                block = None
            if match := _INTENT_LINE.match(stripped):
                intent = match.group("name")
            elif _OTHER_KEY.match(stripped):
                intent = None
            elif intent and (match := _EXAMPLES_LINE.match(stripped)):
                block_indent = len(match.group("indent"))
                block = IntentBlock(intent, self.relative, number, number, " " * (block_indent + 2))
                blocks.append(block)
                intent = None
        return examples, blocks

    def write(self) -> None:
        """Atomically: a crash mid-write never leaves a half file for `rasa train`."""
        text = "".join(self.lines)
        try:
            yaml.safe_load(text)  # never write a file the parser would reject
        except yaml.YAMLError as error:
            raise NluDataError(
                f"No se ha guardado: {self.relative} tiene un error de formato. Corríjalo "
                "(`python -m bot nlu check` le dice en qué línea) y vuelva a intentarlo."
            ) from error
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, self.path)


class NluData:
    """Every NLU file of a project, for reading and for the trainers' edits.

    Args:
        project: the project folder (holding `data/nlu/`).
    """

    def __init__(self, project: Path) -> None:
        self.project = project
        self.folder = project / "data" / "nlu"
        self._lock = threading.Lock()

    def files(self) -> list[NluFile]:
        return [
            NluFile(path, path.relative_to(self.project).as_posix())
            for path in sorted(self.folder.glob("*.yml"))
        ]

    def topics(self) -> list[str]:
        return [path.stem for path in sorted(self.folder.glob("*.yml"))]

    def examples(self) -> list[Example]:
        return [example for nlu_file in self.files() for example in nlu_file.scan()[0]]

    def search(self, intent: str | None = None, query: str | None = None) -> list[Example]:
        """Examples of an intent and/or containing the words of `query` (accents and case
        ignored)."""
        words = unaccented(query or "").lower().split()
        found = []
        for example in self.examples():
            if intent and example.intent != intent:
                continue
            plain = unaccented(example.plain).lower()
            if all(word in plain for word in words):
                found.append(example)
        return found

    def add(self, intent: str, text: str, topic: str | None = None) -> Example:
        """Appends an example to its intent's block; a new intent gets a block at the end of
        `data/nlu/<topic>.yml` (the topic is required then) and is declared in
        `domain/<topic>.yml`, or Rasa would not train it."""
        text = clean_example(text)
        with self._lock:
            for nlu_file in self.files():
                blocks = [b for b in nlu_file.scan()[1] if b.intent == intent]
                if blocks:
                    return self._insert(nlu_file, blocks[-1], intent, text)
            return self._new_intent(check_intent_name(intent), text, topic)

    def update(self, file: str, line: int, old_text: str, new_text: str, intent: str) -> Example:
        """Replaces one example; a new intent moves it to that intent's block."""
        new_text = clean_example(new_text)
        with self._lock:
            nlu_file, example = self._find(file, line, old_text)
            if intent == example.intent:
                old_line = nlu_file.lines[line - 1]
                prefix = old_line[: old_line.index("- ") + 2]
                nlu_file.lines[line - 1] = f"{prefix}{new_text}\n"
                nlu_file.write()
                return Example(intent, new_text, file, line)
            original = list(nlu_file.lines)
            del nlu_file.lines[line - 1]
            nlu_file.write()
        try:
            return self.add(intent, new_text, topic=Path(file).stem)
        except Exception:
            nlu_file.lines = original  # put it back where it was: nothing is lost
            nlu_file.write()
            raise

    def delete(self, file: str, line: int, text: str) -> None:
        with self._lock:
            nlu_file, _ = self._find(file, line, text)
            del nlu_file.lines[line - 1]
            nlu_file.write()

    def _find(self, file: str, line: int, text: str) -> tuple[NluFile, Example]:
        for nlu_file in self.files():
            if nlu_file.relative != file:
                continue
            for example in nlu_file.scan()[0]:
                if example.line == line and example.text == text:
                    return nlu_file, example
        raise StaleEdit(
            "Ese ejemplo ya no está donde estaba: el archivo ha cambiado. Vuelva a cargar la lista."
        )

    def _insert(self, nlu_file: NluFile, block: IntentBlock, intent: str, text: str) -> Example:
        line = block.last_line + 1
        nlu_file.lines.insert(line - 1, f"{block.item_indent}- {text}\n")
        if line >= 2 and not nlu_file.lines[line - 2].endswith("\n"):
            nlu_file.lines[line - 2] += "\n"
        nlu_file.write()
        return Example(intent, text, nlu_file.relative, line)

    def _new_intent(self, intent: str, text: str, topic: str | None) -> Example:
        if not topic or not TOPIC_NAME.match(topic):
            raise NluDataError("Elija el tema (archivo) de la nueva intención.")
        path = self.folder / f"{topic}.yml"
        if not path.exists():
            path.write_text('version: "3.1"\nnlu:\n', encoding="utf-8")
        nlu_file = NluFile(path, path.relative_to(self.project).as_posix())
        if nlu_file.lines and not nlu_file.lines[-1].endswith("\n"):
            nlu_file.lines[-1] += "\n"
        nlu_file.lines += [f"- intent: {intent}\n", "  examples: |\n", f"    - {text}\n"]
        nlu_file.write()
        declare_intent(self.project, intent, topic)
        return Example(intent, text, nlu_file.relative, len(nlu_file.lines))


def iter_intents(examples: list[Example]) -> Iterator[tuple[str, list[Example]]]:
    """Examples grouped by intent, in the order intents first appear."""
    groups: dict[str, list[Example]] = {}
    for example in examples:
        groups.setdefault(example.intent, []).append(example)
    yield from groups.items()


def declare_intent(project: Path, intent: str, topic: str) -> bool:
    """Adds a new intent to `domain/<topic>.yml` (Rasa trains only intents its domain lists),
    one line at the end of the `intents:` list; False when it was already declared."""
    path = project / "domain" / f"{topic}.yml"
    if not path.exists():
        path.write_text(f'version: "3.1"\n\nintents:\n  - {intent}\n', encoding="utf-8")
        return True
    declared = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if intent in [
        next(iter(i)) if isinstance(i, dict) else i for i in declared.get("intents") or []
    ]:
        return False
    domain_file = NluFile(path, path.name)
    lines = domain_file.lines
    start = next((n for n, line in enumerate(lines) if _INTENTS_KEY.match(line)), None)
    if start is None and "intents" in declared:
        raise NluDataError(
            f"No sé añadir la intención a domain/{path.name}: escriba su lista «intents:» con un "
            "guion por línea."
        )
    if start is None:
        lines += ["\nintents:\n", f"  - {intent}\n"]
    else:
        end = start + 1
        while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
            end += 1
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1
        lines.insert(end, f"  - {intent}\n")
    domain_file.write()
    return True
