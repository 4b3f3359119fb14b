"""Spanish language helpers: reading dates, times and numbers, and saying them back."""
