"""Downloads and installs the speech-recognition models (`make models`).

`python -m bot.audio.model_download [--url URL] [--dest DIR] [--name NAME] [--sha256 HEX]`
installs the Spanish Vosk model, which this module handles;
`python -m bot.audio.model_download --whisper NAME [--dest DIR]` installs the Whisper model NAME
instead (`make models WHISPER=NAME`; see `bot.audio.whisper_download`).

The zip is streamed to `<dest>/<name>.zip.part` (resumed by HTTP Range after a cut), renamed to
`<name>.zip`, verified (size, CRCs, Vosk layout, optional SHA-256, no zip-slip) and unpacked
atomically into `<dest>/<name>/`; a `<name>.zip` already there (e.g. fetched by hand) is used as
is. Expected failures end with one Spanish message for the user, never a traceback.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from bot.audio import whisper_download
from bot.audio.download import (
    CHUNK_SIZE,
    ModelDownloadError,
    disk_message,
    ensure_target_free,
    fetch,
)
from bot.settings import DEFAULT_VOSK_MODEL, models_dir

MODELS_PAGE = "https://alphacephei.com/vosk/models"
DEFAULT_URL = f"{MODELS_PAGE}/{DEFAULT_VOSK_MODEL}.zip"
# Files every Vosk model has; enough to tell a model from an unrelated or half-written folder.
MODEL_MARKERS = ("am/final.mdl", "conf/model.conf")
STAGING_INFIX = ".unpacking-"  # `.<name>.unpacking-xxxx`: hidden, and never a valid model name


def looks_like_vosk_model(path: Path) -> bool:
    """Tells whether a directory holds a Vosk model (cheap: only checks a few files exist).

    Args:
        path: the model directory, e.g. `models/vosk-model-small-es-0.42`.

    Returns:
        True when the files every Vosk model has are there.
    """
    return all((path / marker).is_file() for marker in MODEL_MARKERS)


def download_model(
    url: str, dest: Path, name: str, sha256: str | None = None, progress: bool = True
) -> Path:
    """Downloads, verifies and unpacks a Vosk model unless it is already installed.

    Args:
        url: address of the model's zip archive.
        dest: models directory; created when missing.
        name: folder name of the installed model under `dest`.
        sha256: expected hex SHA-256 of the archive, or None to skip that check.
        progress: show a progress bar on stderr while downloading.

    Returns:
        The model directory, `dest / name`.

    Raises:
        ModelDownloadError: anything went wrong; nothing that looks like a model is left behind.
    """
    target = dest / name
    if looks_like_vosk_model(target):
        return target
    archive = dest / f"{name}.zip"
    try:
        ensure_target_free(target, "un modelo Vosk")
        dest.mkdir(parents=True, exist_ok=True)
        if not archive.is_file():
            part = dest / f"{name}.zip.part"
            fetch(url, part, label=name, progress=progress, hint=_manual_hint(url, dest))
            part.replace(archive)
        try:
            top = _check_archive(archive, url, dest, sha256)
        except ModelDownloadError:
            archive.unlink(missing_ok=True)  # so the next run downloads it again, not reuses it
            raise
        _unpack(archive, top, target)
        archive.unlink()
    except OSError as error:
        raise ModelDownloadError(disk_message(dest, error)) from error
    return target


def _check_archive(archive: Path, url: str, dest: Path, sha256: str | None) -> str:
    """Verifies the archive and returns the name of its single top folder (the model)."""
    if sha256:
        _check_sha256(archive, sha256.strip().lower())
    try:
        with zipfile.ZipFile(archive) as bundle:
            names = bundle.namelist()
            _refuse_escaping_members(names)
            top = _model_top_folder(names, url)
            broken = bundle.testzip()  # reads every member and checks its CRC
    except (zipfile.BadZipFile, zlib.error, EOFError):
        broken = ""  # not even the zip's index can be read
    if broken is not None:
        what = f"{broken} no supera la comprobación CRC" if broken else "no es un zip legible"
        raise ModelDownloadError(
            f"El archivo descargado {archive.name} está dañado ({what}) y se ha borrado. "
            "Vuelva a ejecutar `make models` para descargarlo de nuevo. " + _manual_hint(url, dest)
        )
    return top


def _check_sha256(archive: Path, expected: str) -> None:
    digest = hashlib.sha256()
    with archive.open("rb") as file:
        for block in iter(lambda: file.read(CHUNK_SIZE), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise ModelDownloadError(
            f"La suma SHA-256 del archivo descargado {archive.name} no coincide con la esperada "
            f"(esperada {expected}, obtenida {digest.hexdigest()}); el archivo se ha borrado. "
            "Vuelva a ejecutar `make models`; si vuelve a fallar, compruebe el valor de "
            "--sha256 o de BOT_VOSK_MODEL_SHA256."
        )


def _refuse_escaping_members(names: list[str]) -> None:
    """Zip-slip guard: no absolute paths and no `..`, whatever separator the archive used."""
    for member in names:
        parts = PurePosixPath(member.replace("\\", "/")).parts
        # "/x" is absolute, "C:/x" is absolute on Windows, ".." climbs out of the target
        if ".." in parts or (parts and (parts[0] == "/" or parts[0].endswith(":"))):
            raise ModelDownloadError(
                f"El archivo descargado contiene una ruta no permitida ({member}) que saldría "
                "de la carpeta de modelos, así que no se ha descomprimido y se ha borrado. "
                f"Descargue el modelo de la página oficial de Vosk ({MODELS_PAGE})."
            )


def _model_top_folder(names: list[str], url: str) -> str:
    tops = {PurePosixPath(member).parts[0] for member in names if member.strip("/")}
    top = tops.pop() if len(tops) == 1 else ""
    if not top or any(f"{top}/{marker}" not in names for marker in MODEL_MARKERS):
        raise ModelDownloadError(
            f"El archivo {url} no contiene un modelo Vosk (se esperaba una sola carpeta con "
            f"{' y '.join(MODEL_MARKERS)}) y se ha borrado. Compruebe la dirección (--url) o "
            "indique en BOT_VOSK_MODEL la carpeta de un modelo Vosk ya descomprimido."
        )
    return top


def _unpack(archive: Path, top: str, target: Path) -> None:
    """Extracts next to the target, then renames: a model folder only ever appears complete."""
    for stale in target.parent.glob(f".{target.name}{STAGING_INFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a run that was killed mid-unpack
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}{STAGING_INFIX}", dir=target.parent))
    try:
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(staging)
        (staging / top).rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _manual_hint(url: str, dest: Path) -> str:
    return (
        f"Si el problema continúa, descargue {url} a mano y descomprímalo en {dest}, "
        "o indique en BOT_VOSK_MODEL la carpeta de otro modelo Vosk."
    )


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot.audio.model_download",
        description="Descarga e instala el modelo de reconocimiento de voz Vosk en español "
        "o, con --whisper, un modelo Whisper para faster-whisper.",
    )
    models = models_dir()
    sha256 = os.environ.get("BOT_VOSK_MODEL_SHA256") or None
    parser.add_argument("--url", help=f"dirección del zip (por defecto {MODELS_PAGE}/NAME.zip)")
    parser.add_argument("--dest", type=Path, default=models, help="carpeta de modelos")
    parser.add_argument("--name", default=DEFAULT_VOSK_MODEL, help="nombre de la carpeta (Vosk)")
    parser.add_argument("--sha256", default=sha256, help="SHA-256 esperado del zip (Vosk)")
    parser.add_argument(
        "--whisper",
        metavar="NOMBRE",
        help="instala el modelo Whisper NOMBRE (tiny, base, small, medium, large-v3...) "
        "en lugar del modelo Vosk",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Installs the model from the command line.

    Args:
        argv: command-line arguments without the program name (None: `sys.argv[1:]`).

    Returns:
        The exit status: 0 when the model is installed, non-zero otherwise.
    """
    args = _parse_args(argv)
    if args.whisper is not None:
        return whisper_download.run(args.whisper, args.dest)
    target = args.dest / args.name
    if looks_like_vosk_model(target):
        print(f"El modelo de voz ya está instalado en {target}; no hace falta descargarlo.")
        return 0
    url = args.url or f"{MODELS_PAGE}/{args.name}.zip"
    print(f"Descargando el modelo de voz desde {url} ...", flush=True)
    try:
        path = download_model(url, args.dest, args.name, args.sha256)
    except ModelDownloadError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nDescarga interrumpida: vuelva a ejecutar `make models` para continuar.")
        return 130
    print(f"Modelo de voz listo en {path}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
