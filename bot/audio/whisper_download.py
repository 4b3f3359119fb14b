"""Downloads a Whisper model for faster-whisper by name (`make models WHISPER=small`).

The models are faster-whisper's published CTranslate2 conversions on Hugging Face, under the
names faster-whisper itself accepts. The Hugging Face API lists each file of the model's
repository with its size and, for large (LFS) files such as `model.bin`, its SHA-256. Every file
is streamed into a hidden staging folder, `<dest>/.whisper-<name>.download/` (resumed by HTTP
Range after a cut), checked against that size and SHA-256, and only when all are there and good
is the folder renamed to `<dest>/whisper-<name>/`: an interrupted run never leaves a folder that
looks like a complete model. `HF_ENDPOINT` replaces `https://huggingface.co` (a mirror, or the
tests' local server).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bot.audio.download import (
    TIMEOUT,
    ModelDownloadError,
    disk_message,
    ensure_target_free,
    fetch,
    http_error_message,
)
from bot.audio.whisper_model import looks_like_whisper_model, sha256_of

DEFAULT_ENDPOINT = "https://huggingface.co"
REVISION = "main"
# Model name -> Hugging Face repository, as faster-whisper's `utils._MODELS` maps them.
MODELS = {
    "tiny": "Systran/faster-whisper-tiny",
    "tiny.en": "Systran/faster-whisper-tiny.en",
    "base": "Systran/faster-whisper-base",
    "base.en": "Systran/faster-whisper-base.en",
    "small": "Systran/faster-whisper-small",
    "small.en": "Systran/faster-whisper-small.en",
    "medium": "Systran/faster-whisper-medium",
    "medium.en": "Systran/faster-whisper-medium.en",
    "large-v1": "Systran/faster-whisper-large-v1",
    "large-v2": "Systran/faster-whisper-large-v2",
    "large-v3": "Systran/faster-whisper-large-v3",
    "large": "Systran/faster-whisper-large-v3",
    "distil-large-v2": "Systran/faster-distil-whisper-large-v2",
    "distil-medium.en": "Systran/faster-distil-whisper-medium.en",
    "distil-small.en": "Systran/faster-distil-whisper-small.en",
    "distil-large-v3": "Systran/faster-distil-whisper-large-v3",
    "distil-large-v3.5": "distil-whisper/distil-large-v3.5-ct2",
    "large-v3-turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
    "turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
}
# What faster-whisper loads; newer conversions ship vocabulary.json instead of vocabulary.txt.
REQUIRED_FILES = ("config.json", "tokenizer.json", "model.bin")
VOCABULARY_FILES = ("vocabulary.txt", "vocabulary.json")
OPTIONAL_FILES = ("preprocessor_config.json",)
STAGING_SUFFIX = ".download"  # `.whisper-<name>.download`: hidden, kept for the next run
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class RemoteFile:
    """A file of the model's repository as the Hugging Face API describes it."""

    path: str
    size: int
    sha256: str | None  # known for LFS files only


def folder_name(name: str) -> str:
    """The installed model's folder name: `whisper-small` for `small`."""
    return f"whisper-{name}"


def is_installed(path: Path) -> bool:
    """Whether `path` holds a whole model (cheap: its files exist; either vocabulary will do)."""
    if looks_like_whisper_model(path):  # the files with vocabulary.txt
        return True
    files = (*REQUIRED_FILES, VOCABULARY_FILES[1])
    return all((path / file).is_file() for file in files)


def repository(name: str) -> str:
    """The Hugging Face repository of the model `name`.

    Raises:
        ModelDownloadError: `name` is not one of `MODELS`; the message lists the valid names.
    """
    if name not in MODELS:
        raise ModelDownloadError(
            f"No existe ningún modelo Whisper llamado «{name}». Los nombres válidos son: "
            f"{', '.join(MODELS)}. Por ejemplo: `make models WHISPER=small`."
        )
    return MODELS[name]


def endpoint() -> str:
    """The Hugging Face address: `HF_ENDPOINT` when set, else `https://huggingface.co`."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def install(name: str, dest: Path, progress: bool = True) -> Path:
    """Downloads, verifies and installs the Whisper model `name` unless it is already there.

    Args:
        name: a model name faster-whisper knows, e.g. `small` (see `MODELS`).
        dest: models directory; created when missing.
        progress: show a progress bar on stderr while downloading.

    Returns:
        The model directory, `dest / "whisper-<name>"`.

    Raises:
        ModelDownloadError: anything went wrong; nothing that looks like a model is left behind.
    """
    repo = repository(name)
    target = dest / folder_name(name)
    if is_installed(target):
        return target
    retry, hint = f"make models WHISPER={name}", _manual_hint(repo, target)
    try:
        ensure_target_free(target, "un modelo Whisper", retry)
        files = list_files(repo, retry, hint)
        staging = dest / f".{target.name}{STAGING_SUFFIX}"
        staging.mkdir(parents=True, exist_ok=True)
        for remote in files:
            _download(repo, remote, staging, progress, retry, hint)
        staging.rename(target)
    except OSError as error:
        raise ModelDownloadError(disk_message(dest, error, retry)) from error
    return target


def list_files(repo: str, retry: str, hint: str = "") -> list[RemoteFile]:
    """Asks the Hugging Face API which files to fetch, with their sizes and SHA-256 sums.

    Args:
        repo: the model's repository, e.g. `Systran/faster-whisper-small`.
        retry: the command the user is asked to run again after a failure.
        hint: a last sentence for the messages (how to get the model by hand).

    Returns:
        The files faster-whisper needs, `model.bin` last.

    Raises:
        ModelDownloadError: the API cannot be reached, fails, or lacks a file the model needs.
    """
    url = f"{endpoint()}/api/models/{repo}/tree/{REVISION}"
    try:
        response = requests.get(url, timeout=TIMEOUT)
        response.raise_for_status()
    except requests.HTTPError as error:
        raise ModelDownloadError(http_error_message(url, error, retry) + hint) from error
    except requests.RequestException as error:
        raise ModelDownloadError(
            f"No se ha podido consultar la lista de archivos del modelo en {url}: la conexión ha "
            f"fallado. Compruebe su conexión a internet y vuelva a ejecutar `{retry}`. " + hint
        ) from error
    try:
        return _plan(response.json(), repo)
    except (ValueError, TypeError, KeyError) as error:
        raise ModelDownloadError(
            f"La respuesta de {url} no es la lista de archivos que se esperaba. Compruebe "
            f"HF_ENDPOINT, si lo ha definido, y vuelva a ejecutar `{retry}`. " + hint
        ) from error


def _plan(entries: list[dict[str, Any]], repo: str) -> list[RemoteFile]:
    """The files to fetch, small ones first so a wrong address fails before the big download."""
    listed = {entry["path"]: entry for entry in entries if entry["type"] == "file"}
    vocabulary = next((file for file in VOCABULARY_FILES if file in listed), VOCABULARY_FILES[0])
    wanted = [*REQUIRED_FILES[:-1], vocabulary, *(f for f in OPTIONAL_FILES if f in listed)]
    wanted.append(REQUIRED_FILES[-1])  # model.bin, the big one, last
    missing = [file for file in wanted if file not in listed]
    if missing:
        raise ModelDownloadError(
            f"El repositorio {repo} no contiene un modelo para faster-whisper (faltan "
            f"{', '.join(missing)}). Compruebe HF_ENDPOINT, si lo ha definido."
        )
    return [_remote_file(listed[file]) for file in wanted]


def _remote_file(entry: dict[str, Any]) -> RemoteFile:
    size = entry["size"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError(f"bad size for {entry['path']}: {size!r}")
    lfs = entry.get("lfs") or {}
    digest = str(lfs.get("oid") or lfs.get("sha256") or "").lower()
    return RemoteFile(entry["path"], size, digest if _SHA256.fullmatch(digest) else None)


def _download(
    repo: str, remote: RemoteFile, staging: Path, progress: bool, retry: str, hint: str
) -> None:
    """Fetches one file into `staging` (unless an earlier run did) and verifies it."""
    final = staging / remote.path
    if not final.is_file():
        part = staging / f"{remote.path}.part"
        if not (part.is_file() and part.stat().st_size == remote.size):
            url = f"{endpoint()}/{repo}/resolve/{REVISION}/{remote.path}"
            fetch(url, part, label=remote.path, progress=progress, retry=retry, hint=hint)
        part.replace(final)
    _verify(final, remote, retry)


def _verify(path: Path, remote: RemoteFile, retry: str) -> None:
    """Checks the size and, when known, the SHA-256; a bad file is deleted for the next run."""
    size = path.stat().st_size
    problem = None
    if size != remote.size:
        problem = f"mide {size} bytes y Hugging Face anuncia {remote.size}"
    elif remote.sha256 and (digest := sha256_of(path)) != remote.sha256:
        problem = f"su suma SHA-256 es {digest} y la esperada es {remote.sha256}"
    if problem:
        path.unlink()
        raise ModelDownloadError(
            f"El archivo descargado {remote.path} no es el esperado ({problem}) y se ha borrado. "
            f"Vuelva a ejecutar `{retry}` para descargarlo de nuevo."
        )


def _manual_hint(repo: str, target: Path) -> str:
    return (
        f"Si el problema continúa, descargue a mano los archivos de {endpoint()}/{repo} "
        f"(model.bin, config.json, tokenizer.json y vocabulary.txt o vocabulary.json) en "
        f"{target}, o indique en BOT_WHISPER_MODEL la carpeta de otro modelo Whisper."
    )


def run(name: str, dest: Path) -> int:
    """Installs the model from the command line, telling the user in Spanish how it went.

    Args:
        name: the model name the user gave.
        dest: models directory.

    Returns:
        The exit status: 0 when the model is installed, non-zero otherwise.
    """
    try:
        repo = repository(name)
    except ModelDownloadError as error:
        print(error, file=sys.stderr)
        return 1
    target = dest / folder_name(name)
    if is_installed(target):
        print(f"El modelo Whisper {name} ya está instalado en {target}; no hace falta descargarlo.")
        return 0
    print(f"Descargando el modelo Whisper {name} desde {endpoint()}/{repo} ...", flush=True)
    try:
        path = install(name, dest)
    except ModelDownloadError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\nDescarga interrumpida: vuelva a ejecutar `make models WHISPER={name}`.")
        return 130
    print(f"Modelo Whisper listo en {path}. Para usarlo, indique BOT_WHISPER_MODEL={path}.")
    return 0
