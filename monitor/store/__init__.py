"""Store stage: owns everything the monitor keeps on disk for a target, and how it is written.

snapshots.py is the per-target snapshot store (`SnapshotStore`: snapshots and the captures they were read
from); state.py the per-target state, the check cache and the daemon's control files (its base class);
captures.py keeps each target's captures in WARC files (append, read back, rewrite without what is let go);
warc.py builds and reads the WARC records themselves (warcio); audit.py finds what is wrong with a target's
captures and repairs it (for `verify`); export.py writes captures out as one WARC file;
durable.py writes files atomically (temp file, fsync, os.replace) and reads versioned JSON; lock.py is the
per-target writer lock; retention.py plans which snapshots a `keep` policy removes. It hands on `Snapshot`
(with its `CaptureRef`) and `TargetState` records and knows nothing about fetching, diffing or reports.
"""

from monitor.store.durable import fsync_dir, read_json, write_atomic, write_json
from monitor.store.retention import ReportRef, plan
from monitor.store.snapshots import SnapshotStore
from monitor.store.state import CHECKS, DAEMON_STATUS

__all__ = ["CHECKS", "DAEMON_STATUS", "ReportRef", "SnapshotStore", "fsync_dir", "plan", "read_json", "write_atomic",
           "write_json"]
