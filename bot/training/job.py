"""Training a new model from the trainers' data, testing it against the active one, and
activating it only when nothing got worse.

The steps, each visible to the trainer: check the data; train (`rasa train`, in its own
process); serve the new and the active model in a sandbox and score both on the held-out
sentences and the scripted conversations; compare; activate in the running Rasa servers
(`PUT /model`) or keep the active one and say what regressed. Activated models go to the models
folder, where the Rasa servers also find them after a restart; the folder keeps earlier ones
for rolling back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.nlu.checks import check_project
from bot.nlu.labels import intent_labels
from bot.nlu.problems import Problem
from bot.nlu.report import NluReport, compare, render_confusion_png, render_html, render_markdown
from bot.nlu.spoken_forms import training_data
from bot.settings import PROJECT_ROOT
from bot.training.conversation_tests import load_conversations
from bot.training.evaluation import ModelEvaluator, ModelScores, load_held_out
from bot.training.models import ActivationError, ModelShelf
from bot.training.sandbox import Sandbox
from bot.training.store import RUNNING, TrainerStore, Training

logger = logging.getLogger(__name__)

RASA = Path(sys.executable).with_name("rasa")
EXPECTED_TRAINING_S = 60.0  # for the progress bar until a training has been timed here
KEPT_CANDIDATES = 3


class TrainingBusy(RuntimeError):
    """A training is already running."""


@dataclass(frozen=True)
class TrainingPaths:
    """Where a training reads and writes.

    Attributes:
        project: the Rasa project the trainers edit (config, domain, data).
        models: the live models folder (the Rasa servers load the newest file in it).
        work: scratch space and reports (reports/<training id>/).
        held_out: sentences never trained on (tests/nlu/holdout.yml).
        conversations: the scripted conversations (tests/conversations).
    """

    project: Path
    models: Path
    work: Path
    held_out: Path
    conversations: Path

    @property
    def candidates(self) -> Path:
        return self.work / "candidates"

    def report_dir(self, training_id: int) -> Path:
        return self.work / "reports" / str(training_id)


class TrainingService:
    """Runs one training at a time in the background and activates models.

    Args:
        store: the trainings' records.
        paths: where things are.
        rasa_urls / rasa_token: the running Rasa servers, to ask and to update.
    """

    def __init__(
        self, store: TrainerStore, paths: TrainingPaths, rasa_urls: list[str], rasa_token: str
    ) -> None:
        self.store = store
        self.paths = paths
        self.shelf = ModelShelf(paths.models, rasa_urls, rasa_token)
        self._task: asyncio.Task[None] | None = None
        self.current: Training | None = None
        store.abandon_running()

    @property
    def running(self) -> bool:
        return self.current is not None and self.current.status in RUNNING

    def start(self) -> Training:
        if self.running:
            raise TrainingBusy("Ya hay un entrenamiento en curso.")
        training = self.store.start_training("Comprobando los datos…")
        self.current = training
        self._task = asyncio.create_task(self._run(training))
        return training

    async def wait(self) -> None:
        """Until the running training ends (tests, shutdown)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def close(self) -> None:
        """Stops a running training (its `rasa train` and sandbox too) before the store closes."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def activate(self, name: str) -> Path:
        """A trainer's choice of model (a rollback); not while a training may activate its own."""
        if self.running:
            raise TrainingBusy("Espere a que termine el entrenamiento en curso.")
        return await self.shelf.activate(name)

    # the steps

    async def _run(self, training: Training) -> None:
        try:
            await self._steps(training)
        except asyncio.CancelledError:
            self._finish(training, "failed", "El entrenamiento se interrumpió.")
            raise
        except TrainingFailed as error:
            self._finish(training, "failed", str(error))
        except ActivationError:
            logger.exception("training.activation_failed id=%s", training.id)
            self._finish(training, "failed", NOT_ACTIVATED)
        except Exception:  # noqa: BLE001 - the trainer must learn it failed, not wait
            logger.exception("training.failed id=%s", training.id)
            self._finish(training, "failed", FAILED)

    async def _steps(self, training: Training) -> None:
        # a copy of the data as it is now: trainers may go on editing while it trains
        project = await asyncio.to_thread(self._snapshot, training)
        errors = [p for p in await asyncio.to_thread(check_project, project)
                  if p.level == "error"]  # fmt: skip
        if errors:
            raise TrainingFailed(data_errors(errors))
        candidate = await self._train(training, project)
        training.model = candidate.name.removesuffix(".tar.gz")
        self._update(training, "testing", 0.55, "Probando el modelo nuevo y el activo…")
        active = await self.shelf.active()
        scores, baseline = await self._evaluate(training, project, candidate, active)
        training.scores = scores.summary()
        training.baseline = baseline.summary() if baseline else None
        training.report = scores.report.to_json()
        await asyncio.to_thread(self._write_reports, training, scores.report)
        training.regressions = self._regressions(scores, baseline)
        if training.regressions:
            self._finish(training, "rejected", REJECTED)
            return
        self._update(training, "testing", 0.97, "Activando el modelo nuevo…")
        await self.shelf.activate(candidate.name.removesuffix(".tar.gz"), candidate)
        self._finish(training, "activated", activated_summary(training))
        shutil.rmtree(project.parent, ignore_errors=True)

    def _snapshot(self, training: Training) -> Path:
        """The project's config, domain, data and credentials, copied for this training."""
        copy = self.paths.work / "runs" / str(training.id) / "project"
        shutil.rmtree(copy, ignore_errors=True)
        for part in SNAPSHOT_PARTS:
            source = self.paths.project / part
            if source.is_dir():
                shutil.copytree(source, copy / part)
            elif source.is_file():
                copy.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, copy / part)
        return copy

    async def _train(self, training: Training, project: Path) -> Path:
        name = "assistant-" + datetime.now().strftime("%Y%m%d-%H%M%S")
        self.paths.candidates.mkdir(parents=True, exist_ok=True)
        log = (self.paths.work / "training.log").open("ab")
        expected = self._expected_training_s()
        self._update(training, "training", 0.05, "Entrenando el modelo nuevo…")
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            str(RASA), "train", "--domain", "domain", "--data", *training_data(project),
            "--config", "config.yml", "--out", str(self.paths.candidates),
            "--fixed-model-name", name, "--quiet",
            cwd=project, stdout=log, stderr=log, start_new_session=True,
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PYTHONWARNINGS": "ignore"},
        )  # fmt: skip
        log.close()
        try:
            while process.returncode is None:
                if time.monotonic() - started > TRAINING_TIMEOUT_S:
                    raise TrainingFailed(TOO_LONG)
                try:
                    await asyncio.wait_for(process.wait(), 1.0)
                except asyncio.TimeoutError:
                    share = min(0.95, (time.monotonic() - started) / expected)
                    self._update(training, "training", 0.05 + 0.5 * share, _training_step(started))
        finally:
            if process.returncode is None:  # cancelled or too long: no orphan `rasa train`
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        model = self.paths.candidates / f"{name}.tar.gz"
        if process.returncode != 0 or not model.exists():
            raise TrainingFailed(NOT_TRAINED)
        (self.paths.work / "last_training_s").write_text(f"{time.monotonic() - started:.1f}")
        self._prune_candidates()
        return model

    async def _evaluate(
        self, training: Training, project: Path, candidate: Path, active: Path | None
    ) -> tuple[ModelScores, ModelScores | None]:
        models = {"candidate": candidate, **({"active": active} if active else {})}
        work = self.paths.work / "sandbox" / str(training.id)
        async with Sandbox(project, work, models) as sandbox:
            evaluator = ModelEvaluator(
                sandbox.token,
                load_held_out(self.paths.held_out),
                load_conversations(self.paths.conversations),
            )
            self._update(training, "testing", 0.6, "Probando el modelo nuevo…")
            scores = await evaluator.score(
                sandbox.urls["candidate"],
                lambda share: self._update(training, "testing", 0.6 + 0.18 * share,
                                           "Probando el modelo nuevo…"),
            )  # fmt: skip
            baseline = None
            if active:
                baseline = await evaluator.score(
                    sandbox.urls["active"],
                    lambda share: self._update(training, "testing", 0.78 + 0.18 * share,
                                               "Probando el modelo activo, para comparar…"),
                )  # fmt: skip
        shutil.rmtree(work, ignore_errors=True)
        return scores, baseline

    def _regressions(self, scores: ModelScores, baseline: ModelScores | None) -> list[str]:
        if baseline is None:
            return []
        labels = intent_labels(self.paths.project)
        worse = compare(baseline.report, scores.report, labels)
        for title, failure in scores.failures.items():
            if title not in baseline.failures:
                worse.append(f"La conversación de prueba «{title}» ya no sale bien: {failure}.")
        return worse

    def _write_reports(self, training: Training, report: NluReport) -> None:
        folder = self.paths.report_dir(training.id)
        folder.mkdir(parents=True, exist_ok=True)
        labels = intent_labels(self.paths.project)
        title = f"Calidad del modelo del entrenamiento {training.id}"
        render_confusion_png(report, labels, folder / "confusion.png")
        (folder / "report.md").write_text(render_markdown(report, labels, title), "utf-8")
        html = render_html(report, labels, title, "confusion.png")
        (folder / "report.html").write_text(html, "utf-8")

    # bookkeeping

    def _update(self, training: Training, status: str, progress: float, step: str) -> None:
        training.status, training.progress, training.step = status, progress, step
        self.store.save_training(training)

    def _finish(self, training: Training, status: str, summary: str) -> None:
        training.status, training.summary = status, summary
        training.finished_at, training.progress, training.step = time.time(), 1.0, ""
        self.store.save_training(training)
        logger.info("training.finished id=%s status=%s", training.id, status)

    def _expected_training_s(self) -> float:
        try:
            return max(5.0, float((self.paths.work / "last_training_s").read_text()))
        except (OSError, ValueError):
            return EXPECTED_TRAINING_S

    def _prune_candidates(self) -> None:
        kept = sorted(self.paths.candidates.glob("*.tar.gz"), key=os.path.getmtime, reverse=True)
        for old in kept[KEPT_CANDIDATES:]:
            old.unlink(missing_ok=True)


SNAPSHOT_PARTS = ("config.yml", "credentials.yml", "domain", "data")
TRAINING_TIMEOUT_S = 30 * 60.0  # a training here takes about 30 s; far beyond, it is stuck
FAILED = (
    "El entrenamiento no ha podido terminar por un fallo técnico; el asistente sigue con el "
    "modelo anterior. Vuelva a intentarlo y, si se repite, avise al equipo técnico."
)
NOT_TRAINED = (
    "Rasa no ha podido entrenar el modelo con estos datos; el asistente sigue con el anterior. "
    "Avise al equipo técnico (el detalle está en el registro de entrenamiento del servidor)."
)
TOO_LONG = (
    "El entrenamiento tardaba demasiado y se ha detenido; el asistente sigue con el anterior."
)
NOT_ACTIVATED = (
    "El modelo nuevo era mejor, pero el asistente no ha podido cargarlo; sigue con el anterior. "
    "Vuelva a intentarlo en unos minutos."
)


class TrainingFailed(RuntimeError):
    """A training that cannot go on; the message is for the trainer."""


def data_errors(errors: list[Problem]) -> str:
    where = "; ".join(f"{p.file}:{p.line}: {p.message}" for p in errors[:3])
    count = "un error" if len(errors) == 1 else f"{len(errors)} errores"
    return f"Los datos tienen {count}; corríjalos en la pestaña Datos y vuelva a entrenar. {where}"


REJECTED = (
    "El modelo nuevo no se ha activado porque empeora algunos resultados; el asistente sigue "
    "con el modelo anterior. Revise la lista de lo que empeoró."
)


def activated_summary(training: Training) -> str:
    scores = training.scores or {}
    f1 = f"{scores.get('macro_f1', 0):.2f}".replace(".", ",")
    return (
        f"Modelo nuevo activado. F1 media {f1}; conversaciones de prueba: "
        f"{scores.get('conversations_passed')} de {scores.get('conversations_total')}."
    )


def _training_step(started: float) -> str:
    return f"Entrenando el modelo nuevo… ({time.monotonic() - started:.0f} s)"
