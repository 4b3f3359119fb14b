"""Training sentences as a call delivers them, so typed and spoken input score alike.

A recogniser writes no capitals or punctuation, often no accents (Vosk), and slips on some words
("cita" heard as "sita", "hablar" as "ablar"). For every example of the NLU data, training also
sees its spoken form: lower case, no punctuation, no accents, and, for some sentences, the slips
of data/speech/slips.yml. Those slips are not invented: `python -m bot nlu slips` finds them by
speaking the training sentences with the project's voices and recognising them with the call's
recogniser (bot/training/spoken.py).

`write_spoken_variants` writes the variants as an NLU file of their own for `rasa train`
(scripts/train.sh); they live under var/, never in data/nlu, so trainers edit only their own
sentences.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable
from difflib import SequenceMatcher
from pathlib import Path

import yaml
from rapidfuzz.fuzz import ratio

from bot.nlu.data import NluFile
from bot.settings import PROJECT_ROOT
from bot.text import spoken_form

SLIPS_FILE = PROJECT_ROOT / "data" / "speech" / "slips.yml"
SPOKEN_DATA = "var/build/nlu-spoken"  # relative to the project: made before each training
SLIP_SHARE = 3  # one sentence in three gets the slips of its words
MIN_SLIP_SIMILARITY = 70  # "sita" for "cita", not "mentira" for "ventas"
MIN_SLIP_COUNT = 1


def with_slips(text: str, slips: dict[str, list[str]]) -> str:
    """The spoken form with each word that has a known slip replaced by its first slip."""
    words = spoken_form(text).split()
    return " ".join(slips[word][0] if word in slips else word for word in words)


def load_slips(path: Path = SLIPS_FILE) -> dict[str, list[str]]:
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found = data.get("slips") or {}
    return {spoken_form(str(word)): [spoken_form(str(s)) for s in heard] for word, heard in
            found.items() if heard}  # fmt: skip


def spoken_variants(
    examples: Iterable[tuple[str, str]], slips: dict[str, list[str]]
) -> dict[str, list[str]]:
    """{intent: the new sentences}: each example's spoken form (and, for one in three, its slips),
    leaving out what the data already holds."""
    examples = list(examples)
    known = {" ".join(text.lower().split()) for text, _ in examples}  # as the featuriser sees them
    variants: dict[str, list[str]] = {}
    for text, intent in examples:
        forms = [spoken_form(text)]
        if zlib.crc32(text.encode()) % SLIP_SHARE == 0:  # the same sentences on every run
            forms.append(with_slips(text, slips))
        for form in forms:
            if form and form not in known:
                known.add(form)
                variants.setdefault(intent, []).append(form)
    return variants


def write_spoken_variants(nlu_dir: Path, out: Path, slips_file: Path = SLIPS_FILE) -> int:
    """Writes the spoken variants of every example under `nlu_dir` to `out`; returns how many."""
    examples = []
    for path in sorted(nlu_dir.glob("*.yml")):
        found, _ = NluFile(path, path.name).scan()
        examples += [(example.plain, example.intent) for example in found]
    variants = spoken_variants(examples, load_slips(slips_file))
    lines = ["# Made by bot/nlu/spoken_forms.py from data/nlu: do not edit.", 'version: "3.1"']
    lines.append("nlu:")
    for intent, texts in variants.items():
        lines += [f"- intent: {intent}", "  examples: |", *(f"    - {text}" for text in texts)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sum(len(texts) for texts in variants.values())


def training_data(project: Path) -> tuple[str, ...]:
    """Writes the spoken variants of the project's NLU data and returns the `--data` paths of
    a training with them (relative to the project, as `rasa train` is run there)."""
    write_spoken_variants(project / "data" / "nlu", project / SPOKEN_DATA / "spoken.yml")
    return ("data/nlu", SPOKEN_DATA, "data/rules")


def mine_slips(pairs: Iterable[tuple[str, str]]) -> Counter[tuple[str, str]]:
    """Word slips in (said, heard) pairs: words replaced one for one ("cita" -> "sita") when
    what was heard still sounds like what was said."""
    found: Counter[tuple[str, str]] = Counter()
    for said, heard in pairs:
        a, b = spoken_form(said).split(), spoken_form(heard).split()
        for op, i1, i2, j1, j2 in SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
            if op != "replace" or i2 - i1 != j2 - j1:
                continue  # words joined or lost change the count: not a slip of one word
            for before, after in zip(a[i1:i2], b[j1:j2], strict=True):
                if after.isalpha() and ratio(before, after) >= MIN_SLIP_SIMILARITY:
                    found[(before, after)] += 1
    return found


def slips_yaml(found: Counter[tuple[str, str]], sentences: int, voices: list[str]) -> str:
    """The slips as data/speech/slips.yml: each said word with what was heard, most often
    first."""
    by_word: dict[str, list[str]] = {}
    for (said, heard), count in found.most_common():
        if count >= MIN_SLIP_COUNT:
            by_word.setdefault(said, []).append(heard)
    header = (
        "# Words the recogniser heard as other words, found by `python -m bot nlu slips`:\n"
        f"# {sentences} training sentences spoken by {' and '.join(voices)} and recognised by\n"
        "# Whisper. Training adds sentences with these slips (bot/nlu/spoken_forms.py).\n"
        "# Trainers may add slips heard on real calls.\n"
    )
    return header + yaml.safe_dump({"slips": by_word}, allow_unicode=True, sort_keys=True)


if __name__ == "__main__":  # scripts/train.sh: the variants of this project, before `rasa train`
    print(" ".join(training_data(PROJECT_ROOT)))
