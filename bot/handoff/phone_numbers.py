"""Phone numbers as people check them and as logs may keep them.

Customers leave numbers for callbacks, phone lines report the caller's number: agents read them
grouped ("+34 611 223 344"); logs only ever keep a masked form ("+34*******344").
"""

from __future__ import annotations

import re

PHONE = re.compile(r"^\+?\d{9,15}$")
_SEPARATORS = re.compile(r"[\s\-.()]")


def digits_of(raw: str | None) -> str | None:
    """'+34 611-22-33-44' → '+34611223344'; None when it is not a phone number (withheld
    numbers come as 'anonymous', SIP addresses as text)."""
    digits = _SEPARATORS.sub("", raw or "")
    return digits if PHONE.match(digits) else None


def group_digits(digits: str) -> str:
    """'600123456' → '600 123 456', '+34611223344' → '+34 611 223 344': easy to check."""
    national, prefix = digits[-9:], digits[:-9]
    grouped = " ".join(national[i : i + 3] for i in range(0, len(national), 3))
    return f"{prefix} {grouped}" if prefix else grouped


def masked(number: str | None) -> str:
    """For logs: the country code and last three digits only ('+34*******344')."""
    if not number:
        return "-"
    prefix = number[:3] if number.startswith("+") else ""
    rest = number[len(prefix) :]
    return prefix + "*" * max(0, len(rest) - 3) + rest[-3:]
