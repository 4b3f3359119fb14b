"""`python -m bot cluster`: the scaled-out system on this machine (bot/supervision/cluster.py):
PostgreSQL, Redis, two Rasa servers, two action servers, two gateways and nginx, under
supervisord as `make run`."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.cli.launcher import Servers, StartError, stop_on_first_signal
from bot.handoff.accounts import ensure_supervisor
from bot.rasa_server.tracker_table import create_tracker_table
from bot.settings import GatewaySettings, Settings, variables_set
from bot.supervision.cluster import Cluster, ClusterPorts

# two Rasa servers load their models on the same cores as everything else
CLUSTER_READY_TIMEOUT = 240.0


def add_cluster_command(commands: Any) -> None:
    commands.add_parser(
        "cluster",
        help="run the scaled-out system here: PostgreSQL, Redis, two Rasa servers, two action "
        "servers, two gateways and nginx in front",
    )


class ClusterServers(Servers):
    """`Servers` for the cluster: its programs and variables, and every instance checked."""

    def __init__(self, settings: Settings, cluster: Cluster, log_file: Path | None) -> None:
        self.cluster = cluster
        url = f"http://127.0.0.1:{cluster.ports.public}"
        super().__init__(settings, log_file, url, cluster.programs(), cluster.environment())

    def wait_until_ready(self, timeout: float = CLUSTER_READY_TIMEOUT) -> None:
        super().wait_until_ready(timeout)

    def readiness_checks(self) -> dict[str, str]:
        checks = super().readiness_checks()  # the actions, both Rasa servers, nginx's front
        ports = self.cluster.ports
        checks["actions2"] = f"http://127.0.0.1:{ports.actions[1]}/health"
        for name, port in zip(("gateway", "gateway2"), ports.gateways, strict=True):
            checks[name] = f"http://127.0.0.1:{port}/api/health/live"
        checks["nginx"] = f"http://127.0.0.1:{ports.public}/api/health/live"
        return checks


@contextlib.contextmanager
def running_cluster(
    folder: Path, ports: ClusterPorts | None = None, log_file: Path | None = None
) -> Iterator[tuple[ClusterServers, Settings]]:
    """The cluster started (its variables set in this process too, for the settings and the
    first supervisor account), stopped on leaving."""
    cluster = Cluster(folder, ports)
    # a test process goes on after its cluster: its variables leave with it
    with variables_set(cluster.environment()):
        yield from _started(cluster, log_file)


def _started(cluster: Cluster, log_file: Path | None) -> Iterator[tuple[ClusterServers, Settings]]:
    settings = Settings.from_env()
    cluster.prepare()
    with cluster.database_up() as url:
        create_tracker_table(url)  # once, before two Rasa servers race to make it
        password = ensure_supervisor(GatewaySettings.from_env())
    if password:
        print(f"First supervisor account: {GatewaySettings.from_env().supervisor_username} / "
              f"{password} (change it on the desk)", flush=True)  # fmt: skip
    servers = ClusterServers(settings, cluster, log_file)
    try:
        servers.start()
        yield servers, settings
    finally:
        servers.stop()


def run_cluster() -> int:
    settings = Settings.from_env()
    stop_on_first_signal()
    ports = ClusterPorts(public=int(os.environ.get("BOT_GATEWAY_PORT", "8000")))
    print("Starting the cluster: PostgreSQL, Redis, 2 Rasa servers, 2 action servers, "
          "2 gateways and nginx…", flush=True)  # fmt: skip
    try:
        with running_cluster(settings.data_dir / "cluster", ports) as (servers, settings):
            url = f"http://127.0.0.1:{ports.public}"
            print(
                f"""
  Web chat:      {url}/chat · agent desk: {url}/desk · health: {url}/api/health
  nginx on port {ports.public}, gateways on {ports.gateways[0]} and {ports.gateways[1]}
  PostgreSQL:    {servers.cluster.database_url} · Redis: {servers.cluster.redis.url}
  State of every process: python -m bot status · logs: {servers.layout.log_dir}
Serving until Ctrl-C.""",
                flush=True,
            )
            servers.wait()
    except StartError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
