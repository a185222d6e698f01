"""The module `monitor worker` hands to Dramatiq's worker CLI: each worker process imports it, which
connects to the engine named by $MONITOR_ENGINE (and $MONITOR_ENGINE_REDELIVERY) and declares the actors.
Dramatiq's CLI owns the processes, threads, signals and restarts; this module only binds our check to it.
"""

from __future__ import annotations

import logging
import os

from monitor.config.settings import default_chromium
from monitor.daemon.engine import connect
from monitor.daemon.remote import WorkerSide, refuse_results

logger = logging.getLogger(__name__)

side = WorkerSide(default_chromium())
side.engine = connect(os.environ["MONITOR_ENGINE"], float(os.environ.get("MONITOR_ENGINE_REDELIVERY", "15")),
                      side.perform, refuse_results)
broker = side.engine.broker
