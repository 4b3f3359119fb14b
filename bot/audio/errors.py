"""Errors every speech engine adapter shares, so callers handle them once."""

from __future__ import annotations


class ModelMissingError(RuntimeError):
    """No usable speech model; the message says in Spanish what is missing and how to get it."""
