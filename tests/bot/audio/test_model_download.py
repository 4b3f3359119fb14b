"""The Vosk model downloader, against a real HTTP server on 127.0.0.1 serving generated zips."""

from __future__ import annotations

import errno
import hashlib
import io
import socket
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.audio import model_download
from bot.audio.model_download import (
    ModelDownloadError,
    download_model,
    looks_like_vosk_model,
    main,
)
from bot.settings import DEFAULT_VOSK_MODEL
from tests.helpers.file_server import FileServer, serving

NAME = DEFAULT_VOSK_MODEL
ACOUSTIC_MODEL = bytes(range(256)) * 1024  # 256 KiB: several of the downloader's chunks


def model_zip(top: str = NAME, extra: dict[str, bytes] | None = None, layout: bool = True) -> bytes:
    files = {f"{top}/README": b"small Spanish model\n", **(extra or {})}
    if layout:
        files[f"{top}/am/final.mdl"] = ACOUSTIC_MODEL
        files[f"{top}/conf/model.conf"] = b"--sample-frequency=16000\n"
    buffer = io.BytesIO()
    # Stored, not deflated: a flipped byte then surely fails the CRC check, never zlib first.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as bundle:
        for name, data in files.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def server() -> Iterator[FileServer]:
    with serving(f"/{NAME}.zip") as running:
        yield running


@pytest.fixture(autouse=True)
def no_checksum_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOT_VOSK_MODEL_SHA256", raising=False)


def run(server: FileServer, dest: Path, *extra: str) -> int:
    return main(["--url", server.url(), "--dest", str(dest), "--name", NAME, *extra])


def failure(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_downloads_verifies_and_unpacks(server, tmp_path, capsys):
    archive = model_zip()
    server.files[f"/{NAME}.zip"] = archive
    sha = hashlib.sha256(archive).hexdigest()
    assert run(server, tmp_path, "--sha256", sha.upper()) == 0
    model = tmp_path / NAME
    assert looks_like_vosk_model(model)
    assert (model / "am" / "final.mdl").read_bytes() == ACOUSTIC_MODEL
    assert sorted(p.name for p in tmp_path.iterdir()) == [NAME]  # no zip, .part or staging
    assert f"Modelo de voz listo en {model}" in capsys.readouterr().out


def make_files(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ((), False),
        (("am/final.mdl",), False),
        (("conf/model.conf", "README"), False),
        (("am/final.mdl/x", "conf/model.conf"), False),  # a folder where a file should be
        (("am/final.mdl", "conf/model.conf"), True),
    ],
)
def test_looks_like_vosk_model_needs_both_marker_files(tmp_path, files, expected):
    make_files(tmp_path, *files)
    assert looks_like_vosk_model(tmp_path) is expected
    assert looks_like_vosk_model(tmp_path / "missing") is False


def test_model_already_present_is_not_downloaded_again(server, tmp_path, capsys):
    make_files(tmp_path / NAME, "am/final.mdl", "conf/model.conf")
    assert run(server, tmp_path) == 0
    assert server.ranges == []
    assert "ya está instalado" in capsys.readouterr().out


def test_folder_without_a_model_is_not_overwritten(server, tmp_path, capsys):
    make_files(tmp_path / NAME, "conf/model.conf")  # half a model, or the user's own files
    server.files[f"/{NAME}.zip"] = model_zip()
    assert run(server, tmp_path) == 1
    assert "ya existe pero no contiene un modelo Vosk" in failure(capsys)
    assert server.ranges == [] and (tmp_path / NAME / "conf/model.conf").read_bytes() == b"x"


def test_corrupted_zip_leaves_nothing_behind(server, tmp_path, capsys):
    archive = bytearray(model_zip())
    archive[archive.index(ACOUSTIC_MODEL) + 100] ^= 0xFF
    server.files[f"/{NAME}.zip"] = bytes(archive)
    assert run(server, tmp_path) == 1
    message = failure(capsys)
    assert "está dañado" in message and "am/final.mdl" in message and "make models" in message
    assert list(tmp_path.iterdir()) == []  # no model, no staging folder, no bad zip to reuse


def test_file_that_is_not_a_zip_is_reported(server, tmp_path, capsys):
    server.files[f"/{NAME}.zip"] = b"<html>Not found</html>"
    assert run(server, tmp_path) == 1
    assert "no es un zip legible" in failure(capsys)
    assert list(tmp_path.iterdir()) == []


def test_zip_without_vosk_layout_is_refused(server, tmp_path, capsys):
    server.files[f"/{NAME}.zip"] = model_zip(layout=False)
    assert run(server, tmp_path) == 1
    assert "no contiene un modelo Vosk" in failure(capsys)
    assert list(tmp_path.iterdir()) == []


def test_files_outside_one_top_folder_are_refused(server, tmp_path, capsys):
    server.files[f"/{NAME}.zip"] = model_zip(extra={"stray.txt": b"x"})
    assert run(server, tmp_path) == 1
    assert "una sola carpeta" in failure(capsys)


@pytest.mark.parametrize("member", ["../evil.txt", f"{NAME}/../../evil.txt", "/tmp/evil.txt"])
def test_zip_slip_member_is_refused(server, tmp_path, member):
    dest = tmp_path / "models"
    server.files[f"/{NAME}.zip"] = model_zip(extra={member: b"pwned"})
    with pytest.raises(ModelDownloadError, match="ruta no permitida") as caught:
        download_model(server.url(), dest, NAME, progress=False)
    assert member in str(caught.value)
    assert not (tmp_path / "evil.txt").exists() and list(dest.iterdir()) == []


def test_http_error_names_the_url(server, tmp_path, capsys):
    assert run(server, tmp_path) == 1
    message = failure(capsys)
    assert "error HTTP 404" in message and server.url() in message
    assert "descomprímalo en" in message and "BOT_VOSK_MODEL" in message


def test_no_connection_asks_to_check_it_and_retry(tmp_path, capsys):
    with socket.socket() as probe:  # a port that nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/{NAME}.zip"
    assert main(["--url", url, "--dest", str(tmp_path)]) == 1
    message = failure(capsys)
    assert "Compruebe su conexión a internet" in message and "make models" in message


def test_checksum_mismatch_is_refused(server, tmp_path, capsys):
    server.files[f"/{NAME}.zip"] = model_zip()
    assert run(server, tmp_path, "--sha256", "0" * 64) == 1
    assert "SHA-256" in failure(capsys) and list(tmp_path.iterdir()) == []


def test_checksum_from_environment_is_used(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BOT_VOSK_MODEL_SHA256", "f" * 64)
    server.files[f"/{NAME}.zip"] = model_zip()
    assert run(server, tmp_path) == 1
    assert "BOT_VOSK_MODEL_SHA256" in failure(capsys)


def test_cut_download_is_resumed_with_a_range_request(server, tmp_path, capsys):
    archive = model_zip()
    server.files[f"/{NAME}.zip"] = archive
    (tmp_path / f"{NAME}.zip.part").write_bytes(archive[:1000])  # what a cut-off run left
    model = download_model(server.url(), tmp_path, NAME, progress=False)
    assert server.ranges == ["bytes=1000-"]
    assert (model / "am" / "final.mdl").read_bytes() == ACOUSTIC_MODEL


def test_connection_cut_mid_download_keeps_the_part_for_next_time(server, tmp_path, capsys):
    server.files[f"/{NAME}.zip"] = model_zip()
    server.cut_after = 200_000
    assert run(server, tmp_path) == 1
    assert "continuará donde se quedó" in failure(capsys)
    assert not (tmp_path / NAME).exists()
    saved = (tmp_path / f"{NAME}.zip.part").stat().st_size
    assert saved > 0  # whole chunks received before the cut are kept
    server.cut_after = None
    assert run(server, tmp_path) == 0
    assert server.ranges == [None, f"bytes={saved}-"]
    assert (tmp_path / NAME / "am" / "final.mdl").read_bytes() == ACOUSTIC_MODEL


def test_fewer_bytes_than_content_length_is_an_interrupted_download(server, tmp_path, capsys):
    archive = model_zip()
    server.files[f"/{NAME}.zip"] = archive
    server.overstate_by = 100
    assert run(server, tmp_path) == 1
    assert f"se han recibido {len(archive)} de {len(archive) + 100} bytes" in failure(capsys)
    assert not (tmp_path / NAME).exists() and not (tmp_path / f"{NAME}.zip").exists()


def test_empty_model_folder_does_not_block_the_install(server, tmp_path):
    (tmp_path / NAME).mkdir()
    server.files[f"/{NAME}.zip"] = model_zip()
    download_model(server.url(), tmp_path, NAME, progress=False)
    assert looks_like_vosk_model(tmp_path / NAME)


def test_server_without_range_support_downloads_afresh(server, tmp_path):
    archive = model_zip()
    server.files[f"/{NAME}.zip"] = archive
    server.honour_range = False
    (tmp_path / f"{NAME}.zip.part").write_bytes(b"not the start of this file")
    # The checksum proves the old bytes were dropped: zipfile alone tolerates a junk prefix.
    sha = hashlib.sha256(archive).hexdigest()
    model = download_model(server.url(), tmp_path, NAME, sha256=sha, progress=False)
    assert server.ranges == ["bytes=26-"]
    assert (model / "am" / "final.mdl").read_bytes() == ACOUSTIC_MODEL


def test_unsatisfiable_range_starts_over(server, tmp_path):
    archive = model_zip()
    server.files[f"/{NAME}.zip"] = archive
    (tmp_path / f"{NAME}.zip.part").write_bytes(archive + b"junk")
    download_model(server.url(), tmp_path, NAME, progress=False)
    assert server.ranges == [f"bytes={len(archive) + 4}-", None]
    assert looks_like_vosk_model(tmp_path / NAME)


def test_disk_full_while_unpacking_leaves_no_half_model(server, tmp_path, capsys, monkeypatch):
    server.files[f"/{NAME}.zip"] = model_zip()

    def fill_disk(bundle: zipfile.ZipFile, path: Path) -> None:
        bundle.extract(f"{NAME}/am/final.mdl", path)  # a half model, as a real failure leaves
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "extractall", fill_disk)
    assert run(server, tmp_path) == 1
    assert "no queda espacio libre en el disco" in failure(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{NAME}.zip"]  # kept for the retry


def test_unwritable_destination_is_explained(server, tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    server.files[f"/{NAME}.zip"] = model_zip()
    assert run(server, tmp_path / "file" / "models") == 1
    assert "No se ha podido guardar el modelo de voz" in failure(capsys)


def test_stale_staging_folder_of_a_killed_run_is_removed(server, tmp_path):
    stale = tmp_path / f".{NAME}{model_download.STAGING_INFIX}old"
    (stale / NAME / "am").mkdir(parents=True)
    server.files[f"/{NAME}.zip"] = model_zip()
    download_model(server.url(), tmp_path, NAME, progress=False)
    assert not stale.exists() and looks_like_vosk_model(tmp_path / NAME)
