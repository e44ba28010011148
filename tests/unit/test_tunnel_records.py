"""The records `vault portforward` leaves for `vault env`: private, alive only while locked."""

import json
import os
import stat
from pathlib import Path

from kubectl_jxsecret.tunnel_records import TunnelRecord, live_records, records_dir

INFO = {"server": "https://api:6443", "namespace": "jx-vault", "service": "vault", "port": 8200, "local_port": 4321}


def test_a_record_lives_while_its_tunnel_does(tmp_path):
    environ = {"XDG_RUNTIME_DIR": str(tmp_path)}
    record = TunnelRecord(INFO, environ)
    assert stat.S_IMODE(Path(record.path).stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(records_dir(environ)).stat().st_mode) == 0o700
    assert live_records(environ) == [dict(INFO, pid=os.getpid())]
    record.close()
    assert live_records(environ) == []
    assert os.listdir(records_dir(environ)) == []


def test_an_unlocked_record_is_a_dead_tunnels_and_goes(tmp_path):
    environ = {"XDG_RUNTIME_DIR": str(tmp_path)}
    os.makedirs(records_dir(environ), mode=0o700)
    stale = Path(records_dir(environ), "1-x.json")
    fd = os.open(stale, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, json.dumps(INFO).encode())
    os.close(fd)  # nobody holds the lock: its writer died without cleaning up
    assert live_records(environ) == []
    assert not stale.exists()


def test_a_record_others_could_have_written_is_not_trusted(tmp_path):
    environ = {"XDG_RUNTIME_DIR": str(tmp_path)}
    record = TunnelRecord(INFO, environ)
    os.chmod(record.path, 0o666)
    assert live_records(environ) == []
    record.close()


def test_where_records_live():
    assert str(records_dir({"XDG_RUNTIME_DIR": "/run/user/1"})) == "/run/user/1/kubectl-jxsecret/tunnels"
    assert str(records_dir({"XDG_CACHE_HOME": "/c"})) == "/c/kubectl-jxsecret/tunnels"
    assert str(records_dir({"HOME": "/h"})) == "/h/.cache/kubectl-jxsecret/tunnels"
