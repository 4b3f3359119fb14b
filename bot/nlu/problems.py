"""A problem of the training data: where it is and what to do, in Spanish."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One finding, where the trainer has to look.

    Attributes:
        file: relative to the project (`data/nlu/orders.yml`); "" when it names no file.
        line: from 1; 0 when it is about a whole file or intent.
        level: "error" (must be fixed before training) or "warning".
        message: what is wrong and what to do, in Spanish.
    """

    file: str
    line: int
    level: str
    message: str

    def to_json(self) -> dict[str, object]:
        """The problem as a JSON object for the web page."""
        return {"file": self.file, "line": self.line, "level": self.level, "message": self.message}

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{place}: {self.level}: {self.message}" if place else f"{self.level}: {self.message}"
        )
