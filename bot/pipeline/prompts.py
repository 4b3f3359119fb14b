"""What the voice pipeline itself says, without asking the assistant: fixed prompts.

They are short, always the same, and pre-rendered to audio once (`PromptCache`), so the
greeting and the transfer lines start at once.
"""

from __future__ import annotations

GREETING = "Hola, soy el asistente virtual. Dígame en qué puedo ayudarle."
REPROMPT = "¿Sigue en la línea?"
SILENCE_GOODBYE = (
    "Parece que no le oigo. Le dejo por ahora; puede llamarnos cuando quiera. Hasta luego."
)
NOT_HEARD = "Perdone, no le he oído bien. ¿Me lo repite?"
TRANSFER = "Le paso con una persona. Un momento, por favor."
TECHNICAL_PROBLEM = "Disculpe, tengo un problema técnico. Le paso con una persona."

FIXED_PROMPTS = (GREETING, REPROMPT, SILENCE_GOODBYE, NOT_HEARD, TRANSFER, TECHNICAL_PROBLEM)
