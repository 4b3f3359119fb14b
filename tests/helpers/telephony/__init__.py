"""Test peers that play the telephone network's side of a phone call against our gateway."""
