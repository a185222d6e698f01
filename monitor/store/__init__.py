"""Store stage: owns everything the monitor keeps on disk for a target, and how it is written.

snapshots.py is the per-target snapshot store (`SnapshotStore`: snapshots and the captures they were read
from); state.py the per-target state, the check cache and the daemon's control files (its base class);
captures.py keeps each target's captures in WARC files (append, read back, rewrite without what is let go);
warc.py builds and reads the WARC records themselves (warcio); audit.py finds what is wrong with a target's
captures and repairs it (for `verify`); export.py writes captures out as one WARC file;
durable.py writes files atomically (temp file, flush, os.replace), cache files in place (sealed by a CRC)
and reads versioned JSON, with sync.py
making writes durable (fsync, or one syncfs shared by the threads flushing together); lock.py is the
per-target writer lock; retention.py plans which snapshots a `keep` policy removes. It hands on `Snapshot`
(with its `CaptureRef`) and `TargetState` records and knows nothing about fetching, diffing or reports.
"""

from monitor.store.durable import (
                                   fsync_dir,
                                   json_bytes,
                                   read_cache_json,
                                   read_json,
                                   write_atomic,
                                   write_files,
                                   write_json,
)
from monitor.store.retention import ReportRef, plan
from monitor.store.snapshots import SnapshotStore
from monitor.store.state import CHECKS, DAEMON_STATUS

__all__ = ["CHECKS", "DAEMON_STATUS", "ReportRef", "SnapshotStore", "fsync_dir", "json_bytes", "plan",
           "read_cache_json", "read_json", "write_atomic", "write_files", "write_json"]
