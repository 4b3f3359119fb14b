"""Downloads and installs the Spanish Vosk speech-recognition model (`make models`).

`python -m bot.audio.model_download [--url URL] [--dest DIR] [--name NAME] [--sha256 HEX]`

The zip is streamed to `<dest>/<name>.zip.part` (resumed by HTTP Range after a cut), renamed to
`<name>.zip`, verified (size, CRCs, Vosk layout, optional SHA-256, no zip-slip) and unpacked
atomically into `<dest>/<name>/`; a `<name>.zip` already there (e.g. fetched by hand) is used as
is. Expected failures end with one Spanish message for the user, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import os
import shutil
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import requests
from tqdm import tqdm

from bot.settings import DEFAULT_VOSK_MODEL, PROJECT_ROOT

MODELS_PAGE = "https://alphacephei.com/vosk/models"
DEFAULT_URL = f"{MODELS_PAGE}/{DEFAULT_VOSK_MODEL}.zip"
# Files every Vosk model has; enough to tell a model from an unrelated or half-written folder.
MODEL_MARKERS = ("am/final.mdl", "conf/model.conf")
CHUNK_SIZE = 1 << 16
TIMEOUT = (10.0, 30.0)  # seconds to connect, and of silence mid-download before giving up
_BYTES_BAR = {"unit": "B", "unit_scale": True, "unit_divisor": 1024}  # sizes in binary k, M
STAGING_INFIX = ".unpacking-"  # `.<name>.unpacking-xxxx`: hidden, and never a valid model name

_DISK_PROBLEMS = {
    errno.ENOSPC: "no queda espacio libre en el disco",
    errno.EACCES: "no hay permiso de escritura",
    errno.EPERM: "no hay permiso de escritura",
    errno.EROFS: "el disco es de solo lectura",
    errno.ENOTDIR: "parte de la ruta no es una carpeta",
}


class ModelDownloadError(RuntimeError):
    """The model could not be installed; the Spanish message says what failed and what to do."""


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
        _ensure_target_free(target)
        dest.mkdir(parents=True, exist_ok=True)
        if not archive.is_file():
            part = dest / f"{name}.zip.part"
            _fetch(url, part, progress)
            part.replace(archive)
        try:
            top = _check_archive(archive, url, dest, sha256)
        except ModelDownloadError:
            archive.unlink(missing_ok=True)  # so the next run downloads it again, not reuses it
            raise
        _unpack(archive, top, target)
        archive.unlink()
    except OSError as error:
        raise ModelDownloadError(_disk_message(dest, error)) from error
    return target


def _ensure_target_free(target: Path) -> None:
    """Refuses to overwrite a folder the user may care about; an empty one is simply replaced."""
    if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
        target.rmdir()
    elif target.exists() or target.is_symlink():
        raise ModelDownloadError(
            f"La carpeta {target} ya existe pero no contiene un modelo Vosk completo. "
            "Bórrela o muévala a otro sitio y vuelva a ejecutar `make models`."
        )


def _fetch(url: str, part: Path, progress: bool) -> None:
    """Streams `url` into `part`, continuing after the bytes a previous run already saved."""
    offset = part.stat().st_size if part.is_file() else 0
    # identity: Content-Length must count the bytes written, not gzip-compressed ones
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        with requests.get(url, headers=headers, stream=True, timeout=TIMEOUT) as response:
            if offset and response.status_code == 416:
                # The saved part is already whole or not a prefix of this file: start over.
                part.unlink()
                return _fetch(url, part, progress)
            response.raise_for_status()
            if response.status_code != 206:
                offset = 0  # the server ignored the Range header and sends the whole file
            length = response.headers.get("Content-Length")
            expected = offset + int(length) if length and length.isdigit() else None
            _stream(response, part, offset, expected, progress)
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else "?"
        raise ModelDownloadError(
            f"El servidor ha respondido con el error HTTP {status} al pedir {url}. "
            "Compruebe que la dirección es correcta o vuelva a ejecutar `make models` más tarde. "
            + _manual_hint(url, part.parent)
        ) from error
    except requests.RequestException as error:
        raise ModelDownloadError(
            f"No se ha podido descargar el modelo de voz desde {url}: la conexión ha fallado "
            "o se ha cortado. Compruebe su conexión a internet y vuelva a ejecutar "
            "`make models`; la descarga continuará donde se quedó. "
            + _manual_hint(url, part.parent)
        ) from error
    _check_size(part, expected)


def _stream(
    response: requests.Response, part: Path, offset: int, expected: int | None, progress: bool
) -> None:
    """Appends (or, from offset 0, writes) the response body to `part`, with a progress bar."""
    name = part.name.removesuffix(".zip.part")
    bar = tqdm(total=expected, initial=offset, desc=name, disable=not progress, **_BYTES_BAR)
    with part.open("ab" if offset else "wb") as file, bar:
        for chunk in response.iter_content(CHUNK_SIZE):
            file.write(chunk)
            bar.update(len(chunk))


def _check_size(part: Path, expected: int | None) -> None:
    received = part.stat().st_size
    if expected is not None and received != expected:
        raise ModelDownloadError(
            f"La descarga del modelo de voz se ha interrumpido: se han recibido {received} de "
            f"{expected} bytes. Vuelva a ejecutar `make models`; continuará donde se quedó."
        )


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


def _disk_message(dest: Path, error: OSError) -> str:
    reason = _DISK_PROBLEMS.get(error.errno or 0, f"error del sistema: {error.strerror or error}")
    return (
        f"No se ha podido guardar el modelo de voz en {dest} ({reason}). Compruebe el espacio "
        "libre y los permisos, o elija otra carpeta con --dest o BOT_MODELS_DIR, y vuelva a "
        "ejecutar `make models`."
    )


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot.audio.model_download",
        description="Descarga e instala el modelo de reconocimiento de voz Vosk en español.",
    )
    models_dir = Path(os.environ.get("BOT_MODELS_DIR", PROJECT_ROOT / "models"))
    sha256 = os.environ.get("BOT_VOSK_MODEL_SHA256") or None
    parser.add_argument("--url", help=f"dirección del zip (por defecto {MODELS_PAGE}/NAME.zip)")
    parser.add_argument("--dest", type=Path, default=models_dir, help="carpeta de modelos")
    parser.add_argument("--name", default=DEFAULT_VOSK_MODEL, help="nombre de la carpeta")
    parser.add_argument("--sha256", default=sha256, help="SHA-256 esperado del zip")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Installs the model from the command line.

    Args:
        argv: command-line arguments without the program name (None: `sys.argv[1:]`).

    Returns:
        The exit status: 0 when the model is installed, non-zero otherwise.
    """
    args = _parse_args(argv)
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
