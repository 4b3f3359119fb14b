"""`make bench`: the whole system measured the same way every time (see bench/README.md)."""
