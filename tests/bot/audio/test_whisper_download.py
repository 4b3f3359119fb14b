"""The Whisper model downloader, against a local HTTP server imitating the Hugging Face Hub."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.audio import whisper_download
from bot.audio.download import ModelDownloadError
from bot.audio.model_download import main
from bot.audio.whisper_download import MODELS, install, is_installed
from bot.audio.whisper_model import MODEL_FILES, looks_like_whisper_model
from tests.helpers.file_server import FileServer, serving

REPO = "Systran/faster-whisper-small"
WEIGHTS = bytes(range(256)) * 1024  # 256 KiB: several of the downloader's chunks
FILES = {
    "config.json": b'{"suppress_ids": []}\n',
    "tokenizer.json": b'{"model": {}}\n',
    "vocabulary.txt": b"<|endoftext|>\nhola\n",
    "model.bin": WEIGHTS,
}
LFS = ("model.bin",)  # the files the Hub stores with LFS, and so lists with a SHA-256
CDN = "/cdn/model.bin"  # where the Hub redirects downloads of LFS files


def tree_entry(path: str, data: bytes) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "file", "oid": "1" * 40, "size": len(data), "path": path}
    if path in LFS:
        sha = hashlib.sha256(data).hexdigest()
        entry["lfs"] = {"oid": sha, "size": len(data), "pointerSize": 134}
    return entry


def publish(
    server: FileServer,
    repo: str = REPO,
    files: dict[str, bytes] = FILES,
    changes: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Serves `files` as the Hub serves a repository, each tree entry updated with `changes`."""
    entries = [{"type": "directory", "oid": "2" * 40, "size": 0, "path": "docs"}]
    extra = {"README.md": b"# faster-whisper\n", ".gitattributes": b"*.bin filter=lfs\n"}
    for path, data in {**extra, **files}.items():
        entries.append({**tree_entry(path, data), **(changes or {}).get(path, {})})
        resolve = f"/{repo}/resolve/main/{path}"
        if path in LFS:
            server.redirects[resolve] = CDN
            server.files[CDN] = data
        else:
            server.files[resolve] = data
    server.files[f"/api/models/{repo}/tree/main"] = json.dumps(entries).encode()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FileServer]:
    with serving() as running:
        monkeypatch.setenv("HF_ENDPOINT", running.url("/"))  # the trailing slash is dropped
        yield running


def run(dest: Path, name: str = "small") -> int:
    return main(["--whisper", name, "--dest", str(dest)])


def failure(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def nothing_looks_like_a_model(dest: Path) -> bool:
    folders = [path for path in dest.rglob("*") if path.is_dir()] + [dest]
    return not any(is_installed(folder) for folder in folders)


def staged(dest: Path, name: str = "small") -> Path:
    return dest / f".whisper-{name}{whisper_download.STAGING_SUFFIX}"


def test_downloads_verifies_and_installs_by_name(hub, tmp_path, capsys):
    publish(hub)
    assert run(tmp_path) == 0
    model = tmp_path / "whisper-small"
    assert looks_like_whisper_model(model)
    assert {path.name: path.read_bytes() for path in model.iterdir()} == FILES
    assert sorted(path.name for path in tmp_path.iterdir()) == ["whisper-small"]  # no staging
    fetched = [path for path, _ in hub.requests]
    assert fetched[0] == f"/api/models/{REPO}/tree/main" and fetched[-1] == CDN  # big one last
    assert not any("README" in path or "gitattributes" in path for path in fetched)
    out = capsys.readouterr().out
    assert f"Modelo Whisper listo en {model}" in out and f"BOT_WHISPER_MODEL={model}" in out


def test_newer_layout_with_vocabulary_json_and_preprocessor_config(hub, tmp_path):
    files = {**FILES, "preprocessor_config.json": b'{"feature_size": 128}\n'}
    files["vocabulary.json"] = b'["<|endoftext|>", "hola"]'
    del files["vocabulary.txt"]
    publish(hub, "Systran/faster-whisper-large-v3", files)
    model = install("large", tmp_path, progress=False)  # `large` is large-v3
    assert model == tmp_path / "whisper-large" and is_installed(model)
    assert {path.name: path.read_bytes() for path in model.iterdir()} == files
    hub.requests.clear()
    assert install("large", tmp_path, progress=False) == model and hub.requests == []


def test_model_already_installed_is_not_downloaded_again(hub, tmp_path, capsys):
    for file in MODEL_FILES:
        (tmp_path / "whisper-small").mkdir(exist_ok=True)
        (tmp_path / "whisper-small" / file).write_bytes(b"x")
    assert run(tmp_path) == 0
    assert "ya está instalado" in capsys.readouterr().out and hub.requests == []


def test_unknown_name_lists_the_valid_ones(hub, tmp_path, capsys):
    assert run(tmp_path, "huge") == 1
    message = failure(capsys)
    assert "«huge»" in message and "make models WHISPER=small" in message
    assert all(name in message for name in MODELS)
    assert hub.requests == [] and list(tmp_path.iterdir()) == []


def test_checksum_mismatch_leaves_nothing_that_looks_like_a_model(hub, tmp_path, capsys):
    publish(hub, changes={"model.bin": {"lfs": {"oid": "0" * 64, "size": len(WEIGHTS)}}})
    assert run(tmp_path) == 1
    message = failure(capsys)
    assert "model.bin" in message and "SHA-256" in message and "0" * 64 in message
    assert "se ha borrado" in message and "make models WHISPER=small" in message
    assert not (tmp_path / "whisper-small").exists() and nothing_looks_like_a_model(tmp_path)
    publish(hub)  # the Hub serves the right sums again: only model.bin is fetched anew
    hub.requests.clear()
    assert run(tmp_path) == 0
    assert [path for path, _ in hub.requests][1:] == [f"/{REPO}/resolve/main/model.bin", CDN]


def test_size_mismatch_is_refused(hub, tmp_path, capsys):
    publish(hub, changes={"config.json": {"size": len(FILES["config.json"]) + 5}})
    assert run(tmp_path) == 1
    message = failure(capsys)
    size = len(FILES["config.json"])
    assert f"config.json no es el esperado (mide {size} bytes" in message
    assert f"anuncia {size + 5}" in message
    assert not (tmp_path / "whisper-small").exists() and nothing_looks_like_a_model(tmp_path)
    assert not (staged(tmp_path) / "config.json").exists()


def test_cut_download_is_resumed_with_a_range_request(hub, tmp_path, capsys):
    publish(hub)
    hub.cut_after = 200_000  # only model.bin is longer
    assert run(tmp_path) == 1
    assert "continuará donde se quedó" in failure(capsys)
    assert not (tmp_path / "whisper-small").exists() and nothing_looks_like_a_model(tmp_path)
    saved = (staged(tmp_path) / "model.bin.part").stat().st_size
    assert saved > 0  # whole chunks received before the cut are kept
    hub.cut_after = None
    hub.requests.clear()
    assert run(tmp_path) == 0
    assert [request for request in hub.requests if request[1]] == [
        (f"/{REPO}/resolve/main/model.bin", f"bytes={saved}-"),
        (CDN, f"bytes={saved}-"),  # the Range survives the Hub's redirect
    ]
    assert (tmp_path / "whisper-small" / "model.bin").read_bytes() == WEIGHTS


def test_folder_without_a_model_is_not_overwritten(hub, tmp_path, capsys):
    (tmp_path / "whisper-small").mkdir()
    (tmp_path / "whisper-small" / "notes.txt").write_text("mine")
    assert run(tmp_path) == 1
    assert "ya existe pero no contiene un modelo Whisper" in failure(capsys)
    assert hub.requests == []


def test_unknown_repository_names_the_api_address(hub, tmp_path, capsys):
    assert run(tmp_path) == 1
    message = failure(capsys)
    assert "error HTTP 404" in message and f"/api/models/{REPO}/tree/main" in message
    assert "BOT_WHISPER_MODEL" in message and list(tmp_path.iterdir()) == []


def test_no_connection_asks_to_check_it_and_retry(tmp_path, capsys, monkeypatch):
    with socket.socket() as probe:  # a port that nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    assert run(tmp_path) == 1
    message = failure(capsys)
    assert "Compruebe su conexión a internet" in message and "make models WHISPER=small" in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (b"<html>mirror home page</html>", "no es la lista de archivos"),
        (b'{"error": "Repository not found"}', "no es la lista de archivos"),
        (json.dumps([tree_entry("model.bin", WEIGHTS)]).encode(), "faltan config.json"),
    ],
)
def test_unexpected_api_answer_is_explained(hub, tmp_path, answer, expected):
    hub.files[f"/api/models/{REPO}/tree/main"] = answer
    with pytest.raises(ModelDownloadError, match=expected):
        install("small", tmp_path, progress=False)
    assert nothing_looks_like_a_model(tmp_path)


def test_unwritable_destination_is_explained(hub, tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    publish(hub)
    assert run(tmp_path / "file" / "models") == 1
    message = failure(capsys)
    assert "No se ha podido guardar el modelo de voz" in message
    assert "make models WHISPER=small" in message


def test_names_match_faster_whisper():
    utils = pytest.importorskip("faster_whisper.utils")
    assert MODELS == utils._MODELS
