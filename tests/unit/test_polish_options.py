"""Issue 16 items 4, 7, 8 in pure logic: the presenter's default name (JupyterHub's user, else
the login name, cleaned and bounded like a name the page takes), help text on every flag of
both parsers, and the lines the CLI prints for joins and leaves."""

from __future__ import annotations

import argparse
import getpass

import pytest

from jupyterspot_magic.base.options import NAME_LIMIT, PRESENTER, ShareOptions, presenter_name
from jupyterspot_magic.frontends import cli
from jupyterspot_magic.frontends.display import people_changes
from jupyterspot_magic.frontends.magic import JupyterSpotMagics


def test_jupyterhub_user_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_USER", "ana")
    monkeypatch.setattr(getpass, "getuser", lambda: "root")
    assert presenter_name() == "ana"
    assert ShareOptions().name is None  # the default is not in the link (the host page's config)


def test_login_name_without_jupyterhub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    monkeypatch.setattr(getpass, "getuser", lambda: "bea")
    assert presenter_name() == "bea"


def test_given_name_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_USER", "ana")
    assert ShareOptions(name="Cleo").name == "Cleo"
    assert ShareOptions(name="root").name == "root"  # given: the user's choice


def test_every_guest_sees_it_so_no_address_and_no_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default is shown to every guest: an e-mail-like hub name gives its part before "@";
    Colab/Docker's root, Binder's jovyan and other account names give "Presenter"; `--name ""`
    is "Presenter" too."""
    monkeypatch.setenv("JUPYTERHUB_USER", "ana.lee@uni.example")
    assert presenter_name() == "ana.lee"
    monkeypatch.delenv("JUPYTERHUB_USER")
    for account in ("root", "jovyan", "user", "admin", "ubuntu", "ec2-user", "runner", "Colab"):
        monkeypatch.setattr(getpass, "getuser", lambda account=account: account)
        assert presenter_name() == PRESENTER, account
    monkeypatch.setenv("JUPYTERHUB_USER", "@hub")
    assert presenter_name() == PRESENTER
    assert ShareOptions(name="").name == ShareOptions(name=" \n").name == PRESENTER


def test_names_cleaned_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Control characters and whitespace runs become one space (as js/viewer/config.ts
    cleanName does), at most NAME_LIMIT characters; nothing usable: "Presenter"."""
    monkeypatch.setenv("JUPYTERHUB_USER", "  dan\x1b[31m\n\tx" + "y" * 100)
    name = presenter_name()
    assert name.startswith("dan [31m x") and len(name) == NAME_LIMIT
    assert "\x1b" not in name and "\n" not in name
    monkeypatch.setenv("JUPYTERHUB_USER", "\x01\x1f ")

    def no_login() -> str:
        raise OSError("no login name")

    monkeypatch.setattr(getpass, "getuser", no_login)
    assert presenter_name() == PRESENTER and ShareOptions().name is None


def every_action(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found += action._choices_actions  # each action's line in `jupyterspot --help`
            for sub in action.choices.values():
                found += every_action(sub)
        else:
            found.append(action)
    return found


@pytest.mark.parametrize(
    "parser",
    [cli.parser(), JupyterSpotMagics.jupyterspot.parser],
    ids=["jupyterspot", "%jupyterspot"],
)
def test_every_flag_has_help(parser: argparse.ArgumentParser) -> None:
    """--live and --no-e2e had none (the options table's extra switches)."""
    missing = [a.option_strings or a.dest for a in every_action(parser) if not a.help]
    assert not missing, missing
    flags = {f for a in every_action(parser) for f in a.option_strings}
    assert {"--tunnel", "--live", "--no-live", "--e2e", "--no-e2e", "--name"} <= flags


def person(cid: int, name: str) -> dict:
    return {"client_id": cid, "name": name}


def test_joins_and_leaves_lines() -> None:
    ana, bob = person(1, "Ana"), person(2, "Bob\x1b]0;owned\x07")
    assert people_changes([], [ana]) == ["+ Ana joined (1 here)"]
    assert people_changes([ana], [ana, bob]) == ["+ Bob joined (2 here)"]  # no escape printed
    assert people_changes([ana, bob], [bob]) == ["- Ana left (1 here)"]
    assert people_changes([ana], [{**ana, "name": "Ana B"}]) == []  # a rename or scroll: quiet
