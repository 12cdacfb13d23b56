"""Issue 15, after review: the ngrok token never shown, interrupts, concurrent downloads, the
real cause of a failed download, the ngrok config kept, a failed start's widget.

STAND-INS (labelled): the ngrok agent is tests/fakes/ngrok (FAKE_NGROK_MODE=bad_token prints
ngrok's real ERR_NGROK_107 text, which quotes the token); the cloudflared release server is a
local HTTP server or a raw socket on loopback (GitHub is unreachable here). Everything else is
the real code: a real kernel, the real CLI in a subprocess, the built widget in Chromium.
"""

# ruff: noqa: F811 - `env` is test_tunnels.py's fixture, imported to be used here

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from jupyterspot_magic.tunnel import TunnelError, make_tunnel, ngrok

from .conftest import DEMO, REPO
from .kernel import Kernel
from .processes import command
from .test_tunnels import FAKE_NGROK, closed_port, env  # noqa: F401

TOKEN = "2secretSECRETsecret_0123456789abcdef"


def leak_env(tmp_path: Path) -> dict[str, str]:
    """A kernel/CLI environment whose ngrok agent (stand-in) rejects the token, quoting it."""
    (tmp_path / "home").mkdir(exist_ok=True)
    return {
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
        "HOME": str(tmp_path / "home"),
        "PATH": f"{Path(os.sys.executable).parent}:/usr/bin:/bin",
        "PYNGROK_NGROK_PATH": str(FAKE_NGROK),
        "FAKE_NGROK_MODE": "bad_token",
        "FAKE_NGROK_ARGV": str(tmp_path / "argv"),
        "JUPYTERSPOT_CACHE_DIR": str(tmp_path / "cache"),
        "JUPYTERSPOT_CLOUDFLARED_RELEASES": f"http://127.0.0.1:{closed_port()}",
    }


def stderr(result: dict) -> str:
    return "".join(
        m["content"]["text"]
        for m in result["messages"]
        if m["msg_type"] == "stream" and m["content"]["name"] == "stderr"
    )


def test_ngrok_token_is_never_shown(tmp_path: Path) -> None:
    """/tmp/review15/kleak.py as a test: a real kernel, NGROK_AUTHTOKEN set, the agent
    (stand-in) fails with ERR_NGROK_107 quoting the token. Neither `--tunnel ngrok` (an error)
    nor auto (falls back, with a note) shows it: no stream (pyngrok's logger), no error, no
    widget trait, no note, no repr; the agent's command line does not carry it either."""
    k = Kernel(REPO, env={**leak_env(tmp_path), "NGROK_AUTHTOKEN": TOKEN})
    try:
        k.execute("%load_ext jupyterspot_magic")
        failed = k.execute(f"%jupyterspot share {DEMO} --tunnel ngrok", timeout=120)
        assert "UsageError: ngrok could not open a tunnel" in stderr(failed), failed["messages"]
        assert "ERR_NGROK_107" in stderr(failed)
        auto = k.execute(f"%jupyterspot share {DEMO}", timeout=120)
        assert auto["error"] is None, auto["error"]
        said = k.execute(
            "import jupyterspot_magic as j\n"
            "from jupyterspot_magic.frontends.widget import widget_of\n"
            "s = j.current(); print(s.notes, repr(s.tunnel), repr(s.tunnel.chosen))\n"
            "print(widget_of(s).message, widget_of(s).next_step)\n"
            "import logging; logging.getLogger('pyngrok').error('authtoken: %s', 'x1234567890y')"
        )
        assert "ngrok could not open a tunnel" in said["stdout"], said  # the note is there
        for result in (failed, auto, said):
            for message in result["messages"]:
                assert TOKEN not in json.dumps(message["content"]), message
        assert "x1234567890y" not in stderr(said)  # pyngrok's logger prints nothing
        argv = (tmp_path / "argv").read_text()
        assert argv.count("start") == 2 and TOKEN not in argv, argv
    finally:
        k.shutdown()


def test_ngrok_token_from_the_config_is_never_shown_by_the_cli(tmp_path: Path) -> None:
    """The token in ngrok's config file (`jupyterspot token ngrok`): the CLI's error and its
    output name the cause (ERR_NGROK_107), never the token; the agent's argv does not hold it."""
    environ = {**os.environ, **leak_env(tmp_path)}
    environ.pop("NGROK_AUTHTOKEN", None)
    saved = subprocess.run(
        [*command(), "token", "ngrok", TOKEN], env=environ, capture_output=True, text=True
    )
    assert saved.returncode == 0 and TOKEN not in saved.stdout + saved.stderr
    done = subprocess.run(
        [*command(), "share", str(DEMO), "--tunnel", "ngrok"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "ERR_NGROK_107" in done.stderr, done.stderr
    assert TOKEN not in done.stdout + done.stderr and "Traceback" not in done.stderr
    assert TOKEN not in (tmp_path / "argv").read_text()


def test_ngrok_error_and_repr_are_redacted(env, tmp_path: Path) -> None:
    """In-process: the TunnelError and the provider's repr."""
    env.setenv("NGROK_AUTHTOKEN", TOKEN)
    env.setenv("PYNGROK_NGROK_PATH", str(FAKE_NGROK))
    env.setenv("FAKE_NGROK_MODE", "bad_token")
    tunnel = make_tunnel("ngrok")
    assert TOKEN not in repr(tunnel)
    with pytest.raises(TunnelError) as e:
        tunnel.open("127.0.0.1", closed_port())
    assert "ERR_NGROK_107" in str(e.value) and TOKEN not in str(e.value), str(e.value)
    assert "\n" not in str(e.value) and "\\n" not in str(e.value)
    assert any("<redacted>" in line for line in ngrok.PYNGROK_LOG.lines)


# --- the ngrok config file (save_token) -----------------------------------------------------


def test_save_token_keeps_the_config_as_it_was(env, tmp_path: Path) -> None:
    """A v2 file gets its top-level authtoken (v2 layout kept: its agent reads no `agent:`),
    other keys and comments kept; a v3 file its agent.authtoken; a symlinked config (a dotfiles
    repo) stays a link and its target gets the token, mode 0600."""
    import yaml

    config = tmp_path / "config" / "ngrok" / "ngrok.yml"
    config.parent.mkdir(parents=True)
    config.write_text('version: "2"\nregion: eu\n# my comment\n')
    ngrok.save_token("2abcdefghijklmnopqrstuvwxyz")
    assert yaml.safe_load(config.read_text()) == {
        "version": "2",
        "region": "eu",
        "authtoken": "2abcdefghijklmnopqrstuvwxyz",
    }
    assert "# my comment" in config.read_text()
    ngrok.save_token("2second_token_0123456789")  # its authtoken line edited in place
    assert yaml.safe_load(config.read_text())["authtoken"] == "2second_token_0123456789"
    assert config.read_text().count("authtoken") == 1

    real = tmp_path / "dotfiles" / "ngrok.yml"
    real.parent.mkdir()
    real.write_text(
        'version: "3"\n# mine\nagent:\n    authtoken: old_token_123456\n    region: us\n'
        "tunnels: {}\n"
    )
    config.unlink()
    config.symlink_to(real)
    ngrok.save_token("2newtokennewtokennewtoken")
    assert config.is_symlink() and config.resolve() == real
    assert yaml.safe_load(real.read_text()) == {
        "version": "3",
        "agent": {"authtoken": "2newtokennewtokennewtoken", "region": "us"},
        "tunnels": {},
    }
    assert "# mine" in real.read_text() and (real.stat().st_mode & 0o777) == 0o600
