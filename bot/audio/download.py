"""What the model downloaders share: a resumable HTTP fetch and Spanish messages for failures.

`fetch` streams a URL into a `.part` file with a progress bar on stderr and, when a previous run
left some bytes there, asks only for the rest (HTTP Range). Every expected failure becomes a
`ModelDownloadError` whose message tells the user, in Spanish, what went wrong and what to do.
"""

from __future__ import annotations

import errno
from pathlib import Path

import requests
from tqdm import tqdm

CHUNK_SIZE = 1 << 16
TIMEOUT = (10.0, 30.0)  # seconds to connect, and of silence mid-download before giving up
RETRY = "make models"  # the command the messages ask the user to run again
_BYTES_BAR = {"unit": "B", "unit_scale": True, "unit_divisor": 1024}  # sizes in binary k, M

_DISK_PROBLEMS = {
    errno.ENOSPC: "no queda espacio libre en el disco",
    errno.EACCES: "no hay permiso de escritura",
    errno.EPERM: "no hay permiso de escritura",
    errno.EROFS: "el disco es de solo lectura",
    errno.ENOTDIR: "parte de la ruta no es una carpeta",
}


class ModelDownloadError(RuntimeError):
    """The model could not be installed; the Spanish message says what failed and what to do."""


def fetch(
    url: str,
    part: Path,
    *,
    label: str,
    progress: bool = True,
    retry: str = RETRY,
    hint: str = "",
) -> None:
    """Streams `url` into `part`, continuing after the bytes a previous run already saved.

    Args:
        url: address of the file.
        part: the file to write; what it already holds is taken as the start of the download.
        label: name shown next to the progress bar.
        progress: show a progress bar on stderr.
        retry: the command the user is asked to run again after a failure.
        hint: a last sentence for HTTP and connection failures (e.g. how to get it by hand).

    Raises:
        ModelDownloadError: HTTP error, failed or cut connection, or fewer bytes than announced;
            the bytes received so far stay in `part` for the next run.
        OSError: the file cannot be written (see `disk_message`).
    """
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
                return fetch(url, part, label=label, progress=progress, retry=retry, hint=hint)
            response.raise_for_status()
            if response.status_code != 206:
                offset = 0  # the server ignored the Range header and sends the whole file
            length = response.headers.get("Content-Length")
            expected = offset + int(length) if length and length.isdigit() else None
            _stream(response, part, offset, expected, label if progress else None)
    except requests.HTTPError as error:
        raise ModelDownloadError(http_error_message(url, error, retry) + hint) from error
    except requests.RequestException as error:
        raise ModelDownloadError(
            f"No se ha podido descargar el modelo de voz desde {url}: la conexión ha fallado "
            f"o se ha cortado. Compruebe su conexión a internet y vuelva a ejecutar `{retry}`; "
            "la descarga continuará donde se quedó. " + hint
        ) from error
    _check_size(part, expected, retry)


def http_error_message(url: str, error: requests.HTTPError, retry: str = RETRY) -> str:
    """The Spanish explanation of an HTTP error status, naming the URL and what to try."""
    status = error.response.status_code if error.response is not None else "?"
    return (
        f"El servidor ha respondido con el error HTTP {status} al pedir {url}. "
        f"Compruebe que la dirección es correcta o vuelva a ejecutar `{retry}` más tarde. "
    )


def _stream(
    response: requests.Response, part: Path, offset: int, expected: int | None, label: str | None
) -> None:
    """Appends (or, from offset 0, writes) the response body to `part`, with a progress bar."""
    bar = tqdm(total=expected, initial=offset, desc=label, disable=label is None, **_BYTES_BAR)
    with part.open("ab" if offset else "wb") as file, bar:
        for chunk in response.iter_content(CHUNK_SIZE):
            file.write(chunk)
            bar.update(len(chunk))


def _check_size(part: Path, expected: int | None, retry: str) -> None:
    received = part.stat().st_size
    if expected is not None and received != expected:
        raise ModelDownloadError(
            f"La descarga del modelo de voz se ha interrumpido: se han recibido {received} de "
            f"{expected} bytes. Vuelva a ejecutar `{retry}`; continuará donde se quedó."
        )


def ensure_target_free(target: Path, what: str, retry: str = RETRY) -> None:
    """Refuses to overwrite a folder the user may care about; an empty one is simply replaced.

    Args:
        target: the folder the model will be installed as.
        what: the kind of model, for the message (e.g. "un modelo Vosk").
        retry: the command the user is asked to run again.

    Raises:
        ModelDownloadError: `target` exists and is not an empty folder.
    """
    if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
        target.rmdir()
    elif target.exists() or target.is_symlink():
        raise ModelDownloadError(
            f"La carpeta {target} ya existe pero no contiene {what} completo. "
            f"Bórrela o muévala a otro sitio y vuelva a ejecutar `{retry}`."
        )


def disk_message(dest: Path, error: OSError, retry: str = RETRY) -> str:
    """The Spanish explanation of a failure to write under `dest` (disk full, permissions...)."""
    reason = _DISK_PROBLEMS.get(error.errno or 0, f"error del sistema: {error.strerror or error}")
    return (
        f"No se ha podido guardar el modelo de voz en {dest} ({reason}). Compruebe el espacio "
        "libre y los permisos, o elija otra carpeta con --dest o BOT_MODELS_DIR, y vuelva a "
        f"ejecutar `{retry}`."
    )
