"""`python -m bot cluster`: the scaled-out system on one machine, to see and test it here.

Under the same supervisord as `make run`: a PostgreSQL of its own (every store) and a Redis
(live events, shared limits, Rasa's lock store), two Rasa servers, two action servers, two
gateways, and nginx in front (the public port, WebSockets included, spreading requests over the
gateways; a second port spreads the Rasa servers' calls over the action servers). Folders under
BOT_DATA_DIR/cluster. On several machines the same processes run under systemd instead
(deploy/README.md).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.supervision.local_postgres import LocalPostgres
from bot.supervision.local_redis import LocalRedis
from bot.supervision.programs import ACTIONS, GATEWAY, RASA, RASA_2, Program


@dataclass(frozen=True)
class ClusterPorts:
    """The ports of the cluster's processes on loopback (the public one is the gateway's)."""

    public: int = 8000
    gateways: tuple[int, int] = (8001, 8002)
    audiosockets: tuple[int, int] = (9093, 9094)
    actions: tuple[int, int] = (5055, 5056)
    actions_balancer: int = 5050
    rasa: int = 5005  # and the next one
    postgres: int = 5433
    redis: int = 6380


class Cluster:
    """What `python -m bot cluster` runs, and where.

    Args:
        folder: its own folder (PostgreSQL's data, nginx's configuration and temporary files).
        ports: where each process listens.
    """

    def __init__(self, folder: Path, ports: ClusterPorts | None = None) -> None:
        self.folder = folder
        self.ports = ports or ClusterPorts()
        self.postgres = LocalPostgres(folder / "postgres", self.ports.postgres)
        self.redis = LocalRedis(folder / "redis", self.ports.redis)

    @property
    def database_url(self) -> str:
        return self.postgres.url()

    def environment(self) -> dict[str, str]:
        """What every process of the cluster reads (with `programs.environment`)."""
        return {
            "BOT_DATABASE_URL": self.database_url,
            "BOT_REDIS_URL": self.redis.url,
            "BOT_RASA_SERVERS": "2",
            "BOT_RASA_PORT": str(self.ports.rasa),
            "BOT_ACTIONS_PORT": str(self.ports.actions[0]),
            "BOT_ACTIONS_PORT2": str(self.ports.actions[1]),
            "BOT_GATEWAY_PORT": str(self.ports.public),
            "ACTION_SERVER_URL": f"http://127.0.0.1:{self.ports.actions_balancer}/webhook",
            # the gateways count each customer by the address nginx forwards, not nginx's own
            "BOT_TRUSTED_PROXIES": "127.0.0.1",
            # the shared database for every store, whatever an earlier setting said
            "ACTIONS_DATABASE_URL": self.database_url,
            "BOT_GATEWAY_DB": "",
        }

    def prepare(self) -> None:
        """First start: PostgreSQL's data folder and the `bot` database; every start: nginx's
        configuration. PostgreSQL is started and stopped once here so that the database exists
        before the servers that need it start."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o755)  # PostgreSQL's account must reach its folder
        if not (self.postgres.data / "PG_VERSION").is_file():
            with self.database_up():  # (initdb, then the `bot` database)
                pass
        self.redis.folder.mkdir(parents=True, exist_ok=True)
        nginx = self.folder / "nginx"
        (nginx / "temp").mkdir(parents=True, exist_ok=True)
        (nginx / "nginx.conf").write_text(self.nginx_config())

    @contextlib.contextmanager
    def database_up(self) -> Iterator[str]:
        """PostgreSQL alone for a moment, before supervisord starts everything (the first
        supervisor account is made then, so its password is shown here); its URL."""
        self.postgres.start()
        try:
            yield self.database_url
        finally:
            self.postgres.stop()

    def programs(self) -> list[Program]:
        postgres_command = self.postgres.command()
        redis_command = self.redis.command()
        nginx = self.folder / "nginx"
        return [
            Program("postgres", "PostgreSQL", postgres_command[0], tuple(postgres_command[1:]),
                    10, user=self.postgres.owner),
            Program("redis", "Redis", redis_command[0], tuple(redis_command[1:]), 5),
            RASA,
            RASA_2,
            ACTIONS,
            Program("actions2", "the second action server", ACTIONS.executable,
                    ("-m", "rasa_sdk", "--actions", "actions", "-p", "{BOT_ACTIONS_PORT2}"), 10),
            _gateway(GATEWAY.name, GATEWAY.title, self.ports.gateways[0],
                     self.ports.audiosockets[0]),
            _gateway("gateway2", "the second gateway", self.ports.gateways[1],
                     self.ports.audiosockets[1]),
            Program("nginx", "the load balancer (nginx)", nginx_binary(),
                    ("-c", str(nginx / "nginx.conf"), "-p", str(nginx), "-e", "stderr",
                     "-g", "daemon off;"), 5),
        ]  # fmt: skip

    def nginx_config(self) -> str:
        gateways = "\n".join(f"        server 127.0.0.1:{port};" for port in self.ports.gateways)
        actions = "\n".join(f"        server 127.0.0.1:{port};" for port in self.ports.actions)
        temp = self.folder / "nginx" / "temp"
        return NGINX_CONFIG.format(
            pid=self.folder / "nginx" / "nginx.pid",
            temp=temp,
            gateways=gateways,
            actions=actions,
            public=self.ports.public,
            actions_balancer=self.ports.actions_balancer,
        )


def _gateway(name: str, title: str, port: int, audiosocket: int) -> Program:
    own = (("BOT_GATEWAY_PORT", str(port)), ("BOT_AUDIOSOCKET_PORT", str(audiosocket)))
    return Program(name, title, GATEWAY.executable, GATEWAY.args, GATEWAY.restart_budget_s, own)


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if found is None:
        raise FileNotFoundError("nginx is not installed: `make setup` installs Debian's `nginx`")
    return found


# The cluster's load balancer. Gateways: any of them serves any request (the state is in
# PostgreSQL and Redis), though a customer's requests go to the gateway their conversation id
# hashes to while it is up: that gateway remembers the conversation (bot/handoff/last_known.py)
# and can still give the apology and a person when PostgreSQL stops. WebSockets are upgraded
# and kept open for hours (a chat page, a call, a desk); a gateway that refuses the
# connection is skipped for the next. No idle connections are kept to the gateways or the
# action servers: after one dies, only requests it was answering fail (the chat page checks
# what arrived and sends the rest again), not every request on a stale connection.
# Action servers: Rasa's calls go to either; one that is down is skipped (nginx never resends
# a request once sent, so no action runs twice).
NGINX_CONFIG = """\
# Generated by `python -m bot cluster` (bot/supervision/cluster.py); deploy/nginx/ has the
# production form.
worker_processes 1;
pid {pid};
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    client_max_body_size 2m;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    map $uri $conversation_key {{
        ~^/api/conversations/([^/]+)  $1;
        default                       $request_id;
    }}
    upstream gateways {{
        hash $conversation_key consistent;
{gateways}
    }}
    upstream action_servers {{
{actions}
    }}
    server {{
        listen 127.0.0.1:{public};
        location / {{
            proxy_pass http://gateways;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;  # with its port: page origins and Twilio stream URLs
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
            proxy_next_upstream error;
            proxy_connect_timeout 2s;
        }}
    }}
    server {{
        listen 127.0.0.1:{actions_balancer};
        location / {{
            proxy_pass http://action_servers;
            proxy_http_version 1.1;
            proxy_next_upstream error;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""
