"""Measures the issue's figures on this machine: training from scratch, time until the Rasa
server answers, and one message through Rasa and the action server (p50/p95).

Run with `make measure`. Results go to var/reports/performance.json. Not a test: timings move
with the machine's load, so they are reported, never asserted.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.launcher import RASA_PROJECT_ARGS, Servers  # noqa: E402
from bot.rasa_client import RasaClient  # noqa: E402
from bot.settings import PROJECT_ROOT, Settings  # noqa: E402

MESSAGES = {
    "custom action (opening hours)": "¿a qué hora abre mañana la tienda de gran vía?",
    "form step (order number)": "dónde está mi pedido 48213",
    "domain response (greeting)": "hola buenas",
}
ROUNDS = 100


def train_from_scratch(out: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            str(Path(sys.executable).with_name("rasa")),
            "train",
            *RASA_PROJECT_ARGS,
            "--out",
            str(out),
            "--force",
            "--quiet",
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def start_and_measure(models: Path, data_dir: Path) -> tuple[Servers, Settings, float]:
    os.environ.update(
        {
            "BOT_RASA_PORT": "25005",
            "BOT_GATEWAY_PORT": "28000",
            "BOT_ACTIONS_PORT": "25055",
            "BOT_MODELS_DIR": str(models),
            "BOT_DATA_DIR": str(data_dir),
            "ACTIONS_DATABASE_URL": f"sqlite:///{data_dir / 'actions.db'}",
        }
    )
    settings = Settings.from_env()
    servers = Servers(settings, log_file=data_dir / "servers.log")
    start = time.perf_counter()
    servers.start()
    RasaClient.from_settings(settings).send("warm-up", "hola")
    return servers, settings, time.perf_counter() - start


def latencies(client: RasaClient, text: str) -> dict[str, float]:
    times = []
    for _ in range(ROUNDS):
        conversation = f"measure-{uuid.uuid4().hex[:8]}"
        start = time.perf_counter()
        client.send(conversation, text)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
        "max_ms": round(times[-1], 1),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        models, data_dir = Path(folder) / "models", Path(folder) / "data"
        print("Training from scratch…", flush=True)
        training = train_from_scratch(models)
        print(f"  {training:.1f} s", flush=True)
        print("Starting the servers until the first answer…", flush=True)
        servers, settings, ready = start_and_measure(models, data_dir)
        print(f"  {ready:.1f} s", flush=True)
        try:
            client = RasaClient.from_settings(settings)
            per_message = {}
            for label, text in MESSAGES.items():
                per_message[label] = latencies(client, text)
                print(f"  {label}: {per_message[label]}", flush=True)
        finally:
            servers.stop()
    results = {
        "cores": os.cpu_count(),
        "training_from_scratch_s": round(training, 1),
        "start_until_first_answer_s": round(ready, 1),
        "message_round_trip": per_message,
        "rounds": ROUNDS,
    }
    out = PROJECT_ROOT / "var" / "reports" / "performance.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
