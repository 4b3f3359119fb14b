"""The Stage base class and the runner that chains stages for one call.

Each stage runs in its own task behind its own queue, so a slow step (waiting for Rasa,
synthesising a sentence) never stops the stages before it: the VAD keeps listening and a
barge-in is noticed while the dialogue is still thinking.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Sequence

from bot.frames import AudioFrame, EndFrame, Frame

logger = logging.getLogger(__name__)

FrameObserver = Callable[[Frame], None]


class Stage(ABC):
    """One job of the pipeline. Frames it does not handle must be passed on unchanged."""

    @abstractmethod
    def process(self, frame: Frame) -> AsyncIterator[Frame]:
        """Yields the frames that follow from `frame` (usually `frame` itself among them)."""

    async def settle(self) -> None:  # noqa: B027 - optional hook
        """Waits for work the stage runs in the background (a recording replayed with `--fast`
        waits for it after every frame, so the replay is the same every time)."""

    async def close(self) -> None:  # noqa: B027 - optional hook, most stages hold nothing
        """Releases engines at the end of the call."""


class Pipeline:
    """Runs `stages` in order; whatever leaves the last stage goes to the observers.

    Args:
        stages: the stages, first to last.
        observers: callbacks for every frame that leaves the last stage (call log, recorder).
        on_failure: told which stage failed on a frame (the frame is dropped, the call goes on).
    """

    def __init__(
        self,
        stages: Sequence[Stage],
        observers: Sequence[FrameObserver] = (),
        on_failure: Callable[[Stage], None] | None = None,
    ) -> None:
        self._stages = list(stages)
        self._observers = list(observers)
        self._on_failure = on_failure
        self._queues: list[asyncio.Queue[Frame]] = [asyncio.Queue() for _ in self._stages]
        self._tasks: list[asyncio.Task[None]] = []
        self._work = 0  # non-audio frames queued or being processed
        self.ended = asyncio.Event()

    @property
    def idle(self) -> bool:
        """Whether the pipeline has nothing to do but listen: no transcript, reply or speech
        on its way (audio frames flow all the time and do not count)."""
        return self._work == 0

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(index), name=f"stage-{type(stage).__name__}")
            for index, stage in enumerate(self._stages)
        ]

    async def push(self, frame: Frame) -> None:
        """Feeds a frame into the first stage."""
        self._count(frame, 1)
        await self._queues[0].put(frame)

    async def drain(self) -> None:
        """Waits until every frame pushed so far has gone all the way through, background work
        included."""
        for queue, stage in zip(self._queues, self._stages, strict=True):
            await queue.join()
            await stage.settle()

    async def stop(self) -> None:
        """Cancels the stage tasks and closes the stages (engines, threads)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for stage in self._stages:
            await stage.close()

    async def _run(self, index: int) -> None:
        stage, queue = self._stages[index], self._queues[index]
        while True:
            frame = await queue.get()
            try:
                async for produced in stage.process(frame):
                    await self._deliver(index + 1, produced)
            except Exception:  # noqa: BLE001 - one bad frame must not silence the whole call
                logger.exception("pipeline.stage_failed stage=%s", type(stage).__name__)
                if self._on_failure is not None:
                    self._on_failure(stage)
            finally:
                self._count(frame, -1)
                queue.task_done()

    def _count(self, frame: Frame, change: int) -> None:
        if not isinstance(frame, AudioFrame):
            self._work += change

    async def _deliver(self, index: int, frame: Frame) -> None:
        if index < len(self._queues):
            self._count(frame, 1)
            await self._queues[index].put(frame)
            return
        for observer in self._observers:
            observer(frame)
        if isinstance(frame, EndFrame):
            self.ended.set()
