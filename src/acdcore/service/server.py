"""``acdcore serve``: run the app with uvicorn, logging JSON lines.

:func:`serve` builds the app from a configuration and runs it until SIGINT
or SIGTERM, when uvicorn runs the app's shutdown: the runtime stops after
the events already submitted and the journal is closed. It returns the
process's exit status.
"""

from __future__ import annotations

import logging
import os

from ..errors import ConfigError
from .app import create_app
from .config import ServiceConfig
from .logs import configure

__all__ = ["serve"]

log = logging.getLogger("acdcore.service")


def serve(
    config: ServiceConfig | str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    standby: bool = False,
) -> int:
    """Serve ``config`` (a :class:`ServiceConfig` or the path of its TOML
    file) on ``host``:``port``. The exit status: 1 when the app could not
    start (a data directory that cannot be recovered: the log says why), 2
    for a configuration that cannot be read. After SIGINT or SIGTERM the
    shutdown is clean (the journal is closed), and then uvicorn raises the
    signal again, so the process ends as killed by it (status 128 + the
    signal in a shell: 143 for SIGTERM) and this does not return; it returns
    0 when the server stops any other way. ``standby``: start as a hot
    standby (see :mod:`acdcore.service.live`)."""
    import uvicorn

    configure(log_level.upper())
    if not isinstance(config, ServiceConfig):
        try:
            config = ServiceConfig.load(config)
        except ConfigError as exc:
            log.error("cannot start", extra={"error": str(exc)})
            return 2
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config, standby=standby),
            host=host,
            port=port,
            log_config=None,  # our JSON lines, not uvicorn's formats
            log_level=log_level,
            access_log=False,  # the app logs every request with its fields
            lifespan="on",
            ws_max_size=config.limits.max_body,  # what a stream client may send
        )
    )
    server.run()
    return 0 if server.started else 1
