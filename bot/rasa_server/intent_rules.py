"""Deterministic corrections of the classifier's intent, as Rasa NLU components.

The classifier is statistical; for the two behaviours the product is named for, being wrong is
not acceptable, so a rule has the last word:

- `PersonRequestRule`: a request for a person (bot.rasa_server.person_request) becomes
  `request_human` whatever the classifier read, in any state of the conversation; a person
  declined ("no, no quiero un agente") is never read as one.
- `CalmClosingRule`: a calm closing or thanks ("nada más, eso es todo, adiós") is never read as
  `express_frustration`, so a satisfied customer is not offered a person "because it is
  frustrating".

Both sit after the classifier and before the FallbackClassifier (config.yml). The reading they
replace stays second in the ranking, so trainers see what the classifier thought.
"""

from __future__ import annotations

import logging
import re
from abc import abstractmethod
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.message import Message

from bot.rasa_server.frustration import load_lexicon, normalise, text_signs
from bot.rasa_server.person_request import PersonRequestReader

logger = logging.getLogger(__name__)

REQUEST_HUMAN = "request_human"
FRUSTRATION = "express_frustration"


class IntentRule(GraphComponent):
    """A component that may replace the intent of each message with `revised_intent`'s."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> IntentRule:
        return cls()

    @abstractmethod
    def revised_intent(self, text: str, intent: str | None, ranking: list[str]) -> str | None:
        """The intent this message must have (it may be `intent`, made certain), or None to keep
        the classifier's reading."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get("text") or ""
            if text.startswith("/"):
                continue  # a button's payload names its intent
            intent = (message.get("intent") or {}).get("name")
            ranking = [item.get("name") for item in message.get("intent_ranking") or []]
            revised = self.revised_intent(text, intent, ranking)
            if revised is not None:  # even the same intent: the rule is sure, so no fallback
                _set_intent(message, revised)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class PersonRequestRule(IntentRule):
    """`request_human` for every request for a person; never for a person declined."""

    def __init__(self) -> None:
        self._reader = PersonRequestReader()

    def revised_intent(self, text: str, intent: str | None, ranking: list[str]) -> str | None:
        verdict = self._reader.read(text)
        if verdict is None:
            return None
        if verdict.kind == "request":
            if intent != REQUEST_HUMAN:
                logger.info("person_request.rule intent=%s words=%r", intent, verdict.words)
            return REQUEST_HUMAN
        if intent == REQUEST_HUMAN:  # declined: the classifier's next best reading, or "no"
            return next((name for name in ranking if name != REQUEST_HUMAN), "deny")
        return None


# "nada más, eso es todo, adiós": what a calm closing is made of, and nothing else
_CLOSING_PHRASES = re.compile(
    r"\b(adios|hasta luego|hasta pronto|hasta manana|hasta otra|chao|chau|bye|nos vemos"
    r"|que (?:vaya|tenga|tengas|le vaya|te vaya) (?:bien|buen dia|buena tarde|buenas tardes)"
    r"|buen dia|buenas noches|buenas tardes|eso es todo|eso era todo|eso seria todo|es todo"
    r"|nada mas|ya esta|ya estaria|ya lo tengo|listo|gracias|muchas gracias|mil gracias"
    r"|perfecto|estupendo|muy amable|muy bien|de acuerdo|vale|ok|okey|bueno|pues|entonces"
    r"|por hoy|por ahora|por el momento|por todo|por la ayuda|por su ayuda|por tu ayuda"
    r"|un saludo|saludos|no necesito nada|no hace falta nada|todo bien|todo claro|igualmente"
    r")\b"
)
CLOSING_WORDS = re.compile(r"\b(adios|hasta|chao|chau|bye|vemos|todo|nada mas|ya esta|listo)\b")
MAX_CLOSING_WORDS = 12


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class CalmClosingRule(IntentRule):
    """`goodbye` or `thank` for a calm closing read as frustration."""

    def __init__(self) -> None:
        self._lexicon = load_lexicon()

    def revised_intent(self, text: str, intent: str | None, ranking: list[str]) -> str | None:
        if intent != FRUSTRATION or not is_calm_closing(text, self._lexicon):
            return None
        plain = normalise(text)
        return "goodbye" if CLOSING_WORDS.search(plain) or "gracias" not in plain else "thank"


def is_calm_closing(text: str, lexicon: Any = None) -> bool:
    """Only words of a closing or of thanks, and no sign of frustration at all."""
    plain = normalise(text)
    if not plain or len(plain.split()) > MAX_CLOSING_WORDS:
        return False
    if _CLOSING_PHRASES.sub(" ", plain).strip():
        return False  # something else was said too
    signs = text_signs(text, lexicon or load_lexicon())
    return not any(sign.weight > 0 for sign in signs)  # a pleased tone is welcome


def _set_intent(message: Message, name: str) -> None:
    intent = {"name": name, "confidence": 1.0}
    ranking = [item for item in message.get("intent_ranking") or [] if item.get("name") != name]
    message.set("intent", intent, add_to_output=True)
    message.set("intent_ranking", [intent, *ranking], add_to_output=True)
