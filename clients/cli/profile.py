"""The operator a `posctl login` keeps for the following commands, as kubectl and gh keep a
context: one small file per profile holding the daemon URL, the operator and the session
secret `auth.login` answered (never the PIN).

The profile is `--profile NAME`, else `$POSCTL_PROFILE`, else the shell posctl runs in (its
parent process), so two terminals at one till can be two operators, and a script's commands
share the login made at its top. Files are 0600 under `$POSCTL_STATE_DIR`, else
`$XDG_STATE_HOME/posctl`, else `~/.local/state/posctl`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

SHELL_PREFIX = "shell-"


@dataclass(frozen=True)
class Login:
    url: str
    operator: str
    name: str
    role: str
    session: str


def profile_name(explicit: str | None) -> str:
    return explicit or os.environ.get("POSCTL_PROFILE") or f"{SHELL_PREFIX}{os.getppid()}"


def state_dir() -> Path:
    if explicit := os.environ.get("POSCTL_STATE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(base) / "posctl"


def _path(profile: str) -> Path:
    if not profile or "/" in profile or profile.startswith("."):
        raise ValueError(f"bad profile name {profile!r}")
    return state_dir() / f"{profile}.json"


def load(profile: str) -> Login | None:
    try:
        data = json.loads(_path(profile).read_text())
        return Login(**data)
    except (OSError, ValueError, TypeError):
        return None  # none yet, or unreadable: as if logged out


def save(profile: str, login: Login) -> Path:
    path = _path(profile)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _forget_dead_shells(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(asdict(login), fh)
    return path


def forget(profile: str) -> bool:
    try:
        _path(profile).unlink()
        return True
    except FileNotFoundError:
        return False


def _forget_dead_shells(directory: Path) -> None:
    """A shell's login ends with the shell: drop the files of shells that are gone."""
    for file in directory.glob(f"{SHELL_PREFIX}*.json"):
        pid = file.stem.removeprefix(SHELL_PREFIX)
        if pid.isdigit() and not _alive(int(pid)):
            file.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
