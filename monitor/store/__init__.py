"""Store stage: owns everything the monitor keeps on disk for a target, and how it is written.

snapshots.py is the per-target snapshot store (`SnapshotStore`: snapshots, raw bodies, state, the check cache);
durable.py writes files atomically (temp file, fsync, os.replace) and reads versioned JSON; lock.py is the
per-target writer lock; retention.py plans which snapshots a `keep` policy removes. It hands on `Snapshot`
and `TargetState` records and knows nothing about fetching, diffing or reports.
"""

from monitor.store.durable import fsync_dir, read_json, write_atomic, write_json
from monitor.store.retention import ReportRef, plan
from monitor.store.snapshots import CHECKS, DAEMON_STATUS, SnapshotStore

__all__ = ["CHECKS", "DAEMON_STATUS", "ReportRef", "SnapshotStore", "fsync_dir", "plan", "read_json", "write_atomic",
           "write_json"]
