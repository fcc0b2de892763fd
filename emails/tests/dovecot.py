"""A throwaway Dovecot IMAP server for the tests, like the aiosmtpd one:
its own configuration, sockets, log and Maildirs in a temporary directory,
listening on 127.0.0.1 on a free port; users from a passwd-file.

Started with `dovecot -F -c <conf>` as a child process (no system service)
and stopped with it. As root, mail is owned by the `dovecot` user, since
Dovecot refuses to serve mail as root."""

import getpass
import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from imapclient import IMAPClient

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
login_trusted_networks = 127.0.0.0/8
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{root}/mail/%n
mail_plugins =
protocol imap {{
  mail_max_userip_connections = 50
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox "{sent}" {{
    special_use = {special_use}
    auto = subscribe
  }}
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
}}
"""


def available() -> bool:
    return shutil.which("dovecot") is not None or Path("/usr/sbin/dovecot").exists()


def _binary() -> str:
    return shutil.which("dovecot") or "/usr/sbin/dovecot"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Dovecot:
    root: Path
    port: int
    host: str = "127.0.0.1"
    users: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None

    def add_user(self, name: str, password: str) -> None:
        self.users[name] = password
        # A passwd-file is read again on each login: no reload needed.
        lines = [f"{user}:{{PLAIN}}{pw}::::::" for user, pw in self.users.items()]
        (self.root / "passwd").write_text("\n".join(lines) + "\n")

    def client(self, user: str) -> IMAPClient:
        """An IMAP session as `user`, to play the provider or the mail client."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(user, self.users[user])
        return client

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def start(*, sent_folder: str = "Sent", special_use: bool = True) -> Dovecot:
    """Start Dovecot and wait until it answers. The Sent folder is marked
    \\Sent (SPECIAL-USE) under the name given."""
    root = Path(tempfile.mkdtemp(prefix="onepage-dovecot-"))
    root.chmod(0o755)
    as_root = os.getuid() == 0
    account = pwd.getpwnam("dovecot") if as_root else pwd.getpwuid(os.getuid())
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir()
        if as_root and sub in ("mail", "home"):
            os.chown(root / sub, account.pw_uid, account.pw_gid)
    server = Dovecot(root=root, port=_free_port())
    server.add_user("rex", "rex-imap-pass")
    conf = root / "dovecot.conf"
    conf.write_text(
        CONFIG.format(
            root=root,
            user=account.pw_name if as_root else getpass.getuser(),
            group=_group_name(account.pw_gid),
            uid=account.pw_uid,
            gid=account.pw_gid,
            port=server.port,
            sent=sent_folder,
            special_use="\\Sent" if special_use else "",
        )
    )
    server.process = subprocess.Popen(
        [_binary(), "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _wait_until_listening(server)
    return server


def _group_name(gid: int) -> str:
    return grp.getgrgid(gid).gr_name


def _wait_until_listening(server: Dovecot) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            err = server.process.stderr.read().decode(errors="replace")
            raise RuntimeError(f"Dovecot exited: {err}\n{server.log()}")
        try:
            with socket.create_connection((server.host, server.port), timeout=1) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"Dovecot did not answer on port {server.port}:\n{server.log()}")
