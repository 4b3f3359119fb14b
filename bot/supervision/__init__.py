"""Keeping the servers running: the process table, supervisord, its watcher and systemd units."""
