"""Marks messages made of words the assistant never saw in training as `nlu_fallback`.

A linear intent classifier gives a confident-looking answer even to keyboard mashing
('zzkx ppq' came out as `affirm` at 0.48): with no known features, the class priors decide.
This component remembers the training vocabulary and, when too few of a message's words are
close to a known word, overrides the intent with `nlu_fallback`, so the customer is asked to
rephrase instead of being told "Muy bien".
"""

from __future__ import annotations

import json
import re
from typing import Any

from rapidfuzz import process
from rapidfuzz.fuzz import ratio
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.text import unaccented

VOCABULARY_FILE = "vocabulary.json"
_WORD = re.compile(r"[^\W\d_]{2,}")


def words_of(text: str) -> list[str]:
    """Lower-case words without accents; digits and symbols are not words."""
    return _WORD.findall(unaccented(text))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class UnknownWordsFallback(GraphComponent):
    """Sets `nlu_fallback` when under `min_known_ratio` of the words are (nearly) known."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"min_known_ratio": 0.34, "min_similarity": 80}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        vocabulary: list[str] | None = None,
    ) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self._vocabulary = vocabulary or []
        self._known = set(self._vocabulary)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> UnknownWordsFallback:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        words = {
            word
            for example in training_data.intent_examples
            for word in words_of(example.get("text") or "")
        }
        with self._storage.write_to(self._resource) as folder:
            (folder / VOCABULARY_FILE).write_text(json.dumps(sorted(words)), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> UnknownWordsFallback:
        with model_storage.read_from(resource) as folder:
            vocabulary = json.loads((folder / VOCABULARY_FILE).read_text(encoding="utf-8"))
        return cls(config, model_storage, resource, vocabulary)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get("text") or ""
            if text.startswith("/") or not self._is_gibberish(text):
                continue
            message.set("intent", {"name": "nlu_fallback", "confidence": 1.0}, add_to_output=True)
        return messages

    def _is_gibberish(self, text: str) -> bool:
        words = words_of(text)
        if not words or not self._vocabulary:
            return False  # numbers, codes and symbols are for the forms and the channel to judge
        known = sum(1 for word in words if self._is_known(word))
        return known / len(words) < self._config["min_known_ratio"]

    def _is_known(self, word: str) -> bool:
        if word in self._known:
            return True
        match = process.extractOne(
            word, self._vocabulary, scorer=ratio, score_cutoff=self._config["min_similarity"]
        )
        return match is not None
