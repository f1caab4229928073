"""Benchmark: a throwaway PostgreSQL cluster on loopback (initdb on a free port, trust auth, no fsync).

    with throwaway_cluster() as cluster:                         # None when PostgreSQL is not installed
        url = cluster.create_database("baseline")                # postgresql+asyncpg://...
        with baseline_server(workdir, database_url=url) as server: ...

fsync, synchronous_commit and full_page_writes are off, as in the test suite's cluster: benchmarks
compare request handling, not this VM's disk flushes. Say so next to any PostgreSQL figure.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.servers import LOOPBACK, free_port


def pg_bin_dir() -> Path | None:
    """The newest installed PostgreSQL server's bin directory, or None."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return Path(candidate)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb and the server refuse to run as root; drop to the postgres user the package creates.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class Cluster:
    bin_dir: Path
    root: Path
    port: int

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@{LOOPBACK}:{self.port}/{database}"

    def psql(self, sql: str) -> None:
        command = [str(self.bin_dir / "psql"), "-h", LOOPBACK, "-p", str(self.port), "-U", "postgres"]
        command += ["-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qAtc", sql]
        subprocess.run(
            command,
            check=True,
            capture_output=True,
            timeout=60,
        )

    def create_database(self, name: str) -> str:
        """A new empty database; returns its SQLAlchemy async URL."""
        if not name.isidentifier():
            raise ValueError(f"not a plain database name: {name!r}")
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)


@contextmanager
def throwaway_cluster() -> Iterator[Cluster | None]:
    """A fresh cluster for the duration of the block; None if PostgreSQL is not installed.

    It lives in its own directory under the system temp dir, which the postgres user can reach.
    """
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="runway-bench-pg-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = Cluster(bin_dir, root, free_port())
    data = root / "data"
    options = (
        f"-p {cluster.port} -k {root} -c listen_addresses={LOOPBACK} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    try:
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        subprocess.run(
            _as_postgres([*initdb, "--no-sync"]),
            check=True,
            capture_output=True,
            timeout=120,
        )
        start = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "pg.log"), "-w", "-t", "60"]
        subprocess.run(
            _as_postgres([*start, "start", "-o", options]),
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield cluster
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            check=False,
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)
