"""A private PostgreSQL cluster for the stack: `initdb` into `<dir>/postgres/data`,
`pg_ctl` to start and stop it, TCP on 127.0.0.1 only (no Unix socket), password
(SCRAM) authentication. Never the system cluster: its own data folder and port.

PostgreSQL refuses to run as root: as root, every server command runs as the `postgres`
user (`runuser`), which must own the cluster folder and reach it through its parents.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from pipelines.stack.credentials import write_private
from pipelines.stack.settings import HOST, StackError
from pipelines.stack.state import ProcessRecord

SUPERUSER = "mlpin"
SERVER_USER = "postgres"  # who runs the server when we are root
TOOLS = ("initdb", "pg_ctl", "pg_isready")


def find_binaries() -> Path:
    """The folder holding initdb and pg_ctl: PATH first, then Debian's /usr/lib/postgresql/<v>/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True):
        if all((Path(folder) / tool).exists() for tool in TOOLS):
            return Path(folder)
    raise StackError("PostgreSQL's server programs (initdb, pg_ctl) were not found: install Debian's "
                     "`postgresql` package (apt-get install postgresql) or put their folder on PATH")


def _version(folder: str) -> float:
    try:
        return float(Path(folder).parent.name)
    except ValueError:
        return 0.0


def _as_server_user() -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--"] if os.geteuid() == 0 else []


def _run(argv: list[str], *, what: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise StackError(f"{what} failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-2000:]}")
    return done.stdout


def usable_binaries() -> Path:
    """find_binaries(), and as root also the `postgres` user to run them as (else StackError)."""
    found = find_binaries()
    if os.geteuid() == 0:
        _server_user()
    return found


def _server_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise StackError(f"running as root, but there is no `{SERVER_USER}` user to run PostgreSQL as: "
                         "install Debian's postgresql package, or run the stack as another user") from None


def prepare_folder(cluster_dir: Path) -> None:
    """Create the cluster folder; as root, hand it to the postgres user, who must reach it."""
    cluster_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return
    user = _server_user()
    os.chown(cluster_dir, user.pw_uid, user.pw_gid)
    blocked = [p for p in cluster_dir.resolve().parents if not os.stat(p).st_mode & 0o001]
    if blocked:
        raise StackError(f"the postgres user cannot reach {cluster_dir}: {blocked[0]} is not traversable by "
                         "others; chmod o+x it, or set MLPIN_STACK_DIR to a folder under one that is")


def init_cluster(bin_dir: Path, cluster_dir: Path, *, password: str) -> None:
    """`initdb` once: superuser `mlpin` with `password`; peer login on the socket, SCRAM over TCP."""
    data = cluster_dir / "data"
    if (data / "PG_VERSION").exists():
        return
    pwfile = cluster_dir / "initdb.pw"
    pwfile.unlink(missing_ok=True)  # left by an initdb that was killed
    write_private(pwfile, password + "\n")
    if os.geteuid() == 0:
        user = _server_user()
        os.chown(pwfile, user.pw_uid, user.pw_gid)
    try:
        _run([*_as_server_user(), str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--pwfile", str(pwfile),
              "--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-instructions"],
             what="initdb")
    finally:
        pwfile.unlink(missing_ok=True)


def start_cluster(bin_dir: Path, cluster_dir: Path, *, port: int) -> ProcessRecord:
    """`pg_ctl start` on 127.0.0.1:`port`, waiting until it accepts connections."""
    from pipelines.stack.processes import start_ticks

    data, log = cluster_dir / "data", cluster_dir / "postgres.log"
    options = f"-p {port} -c listen_addresses={HOST} -c unix_socket_directories=''"
    try:
        _run([*_as_server_user(), str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w",
              "-t", "60", "start"], what=f"starting PostgreSQL on port {port} (its log: {log})")
    except StackError:
        if (data / "postmaster.pid").exists():  # started but not ready in time: stop it, nothing records it
            with contextlib.suppress(StackError):
                stop_cluster(bin_dir, cluster_dir)
        raise
    pid = int((data / "postmaster.pid").read_text().split()[0])
    return ProcessRecord(name="postgres", pid=pid, start_ticks=start_ticks(pid) or 0,
                         url=f"postgresql://{SUPERUSER}@{HOST}:{port}", log_path=str(log))


def stop_cluster(bin_dir: Path, cluster_dir: Path) -> None:
    """`pg_ctl stop -m fast`: disconnect clients, shut down cleanly."""
    _run([*_as_server_user(), str(bin_dir / "pg_ctl"), "-D", str(cluster_dir / "data"), "-m", "fast", "-w", "stop"],
         what="stopping PostgreSQL")


def is_ready(bin_dir: Path, port: int) -> bool:
    """`pg_isready` says the server accepts connections on 127.0.0.1:`port`."""
    done = subprocess.run([str(bin_dir / "pg_isready"), "-q", "-h", HOST, "-p", str(port)], check=False)
    return done.returncode == 0


def ensure_databases(port: int, *, password: str, names: tuple[str, ...]) -> None:
    """Create each database that does not exist yet (safe to repeat)."""
    import psycopg

    try:
        with psycopg.connect(host=HOST, port=port, user=SUPERUSER, password=password, dbname="postgres",
                             autocommit=True, connect_timeout=30) as conn:
            existing = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
            for name in names:
                if name not in existing:
                    conn.execute(f'CREATE DATABASE "{name}"')  # names are ours, not input
    except psycopg.Error as exc:
        raise StackError(f"creating MLflow's databases on 127.0.0.1:{port} failed ({type(exc).__name__}: "
                         f"{str(exc).strip()}); if the password was refused, the cluster in <dir>/postgres was "
                         "made with another secrets/postgres.password: restore that file, or delete both "
                         "(its data is lost) and run up again") from exc


def sqlalchemy_uri(port: int, database: str) -> str:
    """The SQLAlchemy URI of a database, without the password (given as PGPASSWORD)."""
    return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{port}/{database}"
