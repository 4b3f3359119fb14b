"""What the voice pipeline itself says, without asking the assistant: fixed prompts.

They are short, always the same, and pre-rendered to audio once (`PromptCache`), so the
greeting and the transfer lines start at once.
"""

from __future__ import annotations

from bot.assistant.contract import VOICE_APOLOGY, VOICE_GREETING

GREETING = VOICE_GREETING
REPROMPT = "¿Sigue en la línea?"
SILENCE_GOODBYE = (
    "Parece que no le oigo. Le dejo por ahora; puede llamarnos cuando quiera. Hasta luego."
)
NOT_HEARD = "Perdone, no le he oído bien. ¿Me lo repite?"
TRANSFER = "Le paso con una persona. Un momento, por favor."
TECHNICAL_PROBLEM = VOICE_APOLOGY  # the assistant did not answer (see bot.assistant.contract)

FIXED_PROMPTS = (GREETING, REPROMPT, SILENCE_GOODBYE, NOT_HEARD, TRANSFER, TECHNICAL_PROBLEM)
