"""The CLI's rewording of the Python API's errors stays in step with the API.

``roma_nb.cli._wording`` swaps API phrases (``pass project_id=``) for shell ones
(``--project-id``). If the API rewords a message, its phrase no longer matches and Python would
leak into the shell silently: these tests produce each message from the API itself and check that
every phrase of the tables still occurs, and that nothing Python-like is left after rewording.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_shell import PYTHON_ISMS
from plans_data import NOW, H, sample_plan

from roma_nb.cli import history as history_cli
from roma_nb.cli import reset as reset_cli
from roma_nb.cli._wording import CONNECTION, DATES, Words, for_shell
from roma_nb.config import resolve_settings
from roma_nb.dates import to_epoch_ms
from roma_nb.errors import RomaError
from roma_nb.history import ResultLog
from roma_nb.plans import DateFrom

NOWHERE = "/nonexistent/roma-nb-credentials"


def error_text(call: object, *args: object, **kwargs: object) -> str:
    assert callable(call)
    with pytest.raises(RomaError) as caught:
        call(*args, **kwargs)
    return str(caught.value)


def api_messages(tmp_path: Path) -> dict[str, str]:
    """One message per situation the tables reword, produced by the API itself."""
    foreign = tmp_path / "notes.txt"
    foreign.write_text("notes")
    login = {"ROMA_NB_USERNAME": "u", "ROMA_NB_PASSWORD": "p", "ROMA_NB_DOMAIN": "d"}
    settings = {"env": {}, "credentials_file": NOWHERE}
    return {
        "nothing configured": error_text(resolve_settings, **settings),
        "wrong flags": error_text(
            resolve_settings,
            endpoint="roma.example",
            verify=str(tmp_path / "none.pem"),
            project_id="p" * 65,
            **settings,
        ),
        "wrong region": error_text(resolve_settings, region="Not_A_Region", **settings),
        "login without IAM": error_text(
            resolve_settings, endpoint="https://roma.example", env=login, credentials_file=NOWHERE
        ),
        "empty date_from": error_text(to_epoch_ms, ""),
        "DST gap": error_text(to_epoch_ms, "2024-03-31T02:30", "Europe/Paris"),
        "DST fold": error_text(to_epoch_ms, "2024-10-27T02:30", "Europe/Paris"),
        "a year": error_text(to_epoch_ms, "2021"),
        "foreign history": error_text(ResultLog, foreign),
        "forward move": error_text(sample_plan, date_from=DateFrom(NOW + H, "UTC")),
        "old date_from": error_text(sample_plan, date_from=DateFrom(NOW - 3 * 24 * H, "UTC")),
        "plan file exists": error_text(sample_plan().save, foreign),
    }


TABLES: dict[str, Words] = {
    "connection": CONNECTION,
    "dates": DATES,
    "reset": reset_cli._WORDS,
    "history": history_cli._WORDS,
}
# The client's refusal of an untrusted certificate: test_cli_messages.py meets it over TLS.
CLIENT_ONLY = {"pass verify='/path/to/ca.pem', or set ROMA_NB_CA_BUNDLE and use roma_nb.connect()"}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_phrase_still_occurs_in_the_api(tmp_path: Path, table: str) -> None:
    text = "\n".join(api_messages(tmp_path).values())
    for api, _ in TABLES[table]:
        if api not in CLIENT_ONLY:
            assert api in text, f"the API no longer says {api!r}: update the CLI's wording"


@pytest.mark.parametrize("command", ["reset", "history"])
def test_nothing_pythonic_is_left(tmp_path: Path, command: str) -> None:
    messages = api_messages(tmp_path)
    if command == "history":  # its times are never empty (parse_time refuses ""); no plans
        for key in ("empty date_from", "forward move", "old date_from", "plan file exists"):
            del messages[key]
    for message in messages.values():
        shell = for_shell(message, TABLES[command])
        for phrase in PYTHON_ISMS:
            assert phrase not in shell, shell
