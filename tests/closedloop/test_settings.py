"""Configuration: declared once, validated with messages that name the key and the file, documented."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path

import pytest

from closedloop import settings
from closedloop.settings import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path, text):
    p = tmp_path / "closedloop.toml"
    p.write_text(text)
    return p


def test_defaults_without_a_file():
    cfg = settings.load()
    assert cfg.path is None and cfg.get("warehouse", "retention_runs") == 10 and cfg.sources == {}


def test_found_in_the_working_directory(tmp_path):
    write(tmp_path, '[closedloop]\nas_of = "2026-10-31"\n')
    assert settings.load().as_of == dt.date(2026, 10, 31)


@pytest.mark.parametrize(
    "text,message",
    [
        ("[closedloop]\nretention = 3\n", "unknown key 'closedloop.retention'"),
        ("[warehouse]\nretention_runs = 'ten'\n", "key 'warehouse.retention_runs': expected int, got str"),
        ("[closedloop]\nas_of = '31/10/2026'\n", "key 'closedloop.as_of': '31/10/2026' is not a date"),
        ("[nonsense]\nx = 1\n", "unknown section 'nonsense'"),
        ("[sources.crm]\nkind = 'files'\n", "key 'sources.crm.path' is required when transport = 'files'"),
        (
            "[sources.crm]\nkind = 'nosuch'\npath = 'x'\n",
            "key 'sources.crm.kind': unknown source kind 'nosuch'",
        ),
        ("[sources.db]\nkind = 'sql'\ntransport = 'api'\n", "key 'sources.db.url' is required"),
        (
            "[sources.db]\nkind = 'sql'\ntransport = 'ftp'\nurl='x'\n",
            "key 'sources.db.transport': 'ftp' is not one of files, api",
        ),
        ("[closedloop\n", "not valid TOML"),
        ("[checks]\nparams = {nope = 1}\n", "key 'checks.params.nope': no rule or KPI header declares"),
        (
            "[checks]\nparams = {sla_sow_to_projet_bd = 7}\n",
            "key 'checks.params.sla_sow_to_projet_bd': no rule or KPI header declares this parameter (did you"
            " mean sla_sow_to_project_bd",
        ),
        ("[checks]\nparams = {'Q2C-001.dso_days' = 7}\n", "key 'checks.params.Q2C-001.dso_days'"),
        (
            "[checks]\nparams = {vol_low_ratio = 0.3}\n",
            "key 'checks.params.vol_low_ratio': not a check parameter; the volume anomaly's thresholds are"
            " [monitors] volume_low_ratio",
        ),
        (
            "[checks]\nparams = {grace_won_to_sow_days = 'ten'}\n",
            "key 'checks.params.grace_won_to_sow_days': expected a value like its default 10, got 'ten'",
        ),
        ("[checks]\ndisabled = ['Q2C-999']\n", "key 'checks.disabled': unknown check id 'Q2C-999'"),
        (
            "[closedloop]\ntier_floor = 25000.0\n",
            "unknown key 'closedloop.tier_floor': the severity escalation floor is [checks] params",
        ),
    ],
)
def test_bad_config_names_key_and_file(tmp_path, text, message):
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        settings.load(p)
    assert message in str(err.value)
    assert str(p) in str(err.value)


def test_check_params_in_every_form_are_accepted_and_flattened(tmp_path):
    p = write(
        tmp_path,
        "[checks]\ndisabled = ['Q2C-063']\n[checks.params]\ndso_days = 60\n'Q2C-010.sla_sow_to_project_bd' = 7\n"
        "materiality_rc = 25000\n[checks.params.K01]\nsla_sow_to_project_bd = 3\n",
    )
    cfg = settings.load(p)
    assert cfg.get("checks", "params") == {
        "dso_days": 60,
        "Q2C-010.sla_sow_to_project_bd": 7,
        "materiality_rc": 25000,
        "K01.sla_sow_to_project_bd": 3,
    }
    assert cfg.get("checks", "disabled") == ["Q2C-063"]


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.toml: config file not found"):
        settings.load(tmp_path / "nope.toml")


def test_paths_are_relative_to_the_config_file(tmp_path):
    (tmp_path / "conf").mkdir()
    p = tmp_path / "conf" / "closedloop.toml"
    p.write_text("[sources.ar]\nkind = 'files'\npath = 'exports'\n")
    cfg = settings.load(p)
    assert cfg.sources["ar"]["path"] == str(tmp_path / "conf" / "exports")
    assert cfg.data_dir == tmp_path / "conf" / "data"


def test_secrets_come_from_the_environment_then_secrets_toml(tmp_path, monkeypatch):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('[salesforce]\nclient_secret = "from-file"\n')
    assert settings.secret("salesforce", "client_secret") == "from-file"
    monkeypatch.setenv("CLOSEDLOOP_SALESFORCE_CLIENT_SECRET", "from-env")
    assert settings.secret("salesforce", "client_secret") == "from-env"
    assert settings.secret("netsuite", "client_secret") is None


def _documented_keys() -> dict[str, set[str]]:
    """Keys per table in the example config, including commented-out `# key = value` lines."""
    text = (ROOT / "closedloop.example.toml").read_text()
    tomllib.loads(text)  # the example itself must be valid TOML
    keys: dict[str, set[str]] = {}
    table = ""
    for line in text.splitlines():
        m = re.match(r"^#?\s*\[([\w.]+)\]\s*$", line)
        if m:
            table = m.group(1)
            continue
        m = re.match(r"^#?\s*(\w+)\s*=", line)
        if m:
            keys.setdefault(table, set()).add(m.group(1))
    return keys


def test_every_setting_is_documented_in_the_example():
    keys = _documented_keys()
    for section, declared in settings.SECTIONS.items():
        for s in declared:
            assert s.name in keys.get(section, set()), (
                f"[{section}] {s.name} missing from closedloop.example.toml"
            )
    for kind in settings.DOCUMENTED_KINDS:
        table = f"sources.{kind}"
        assert table in keys, f"no [{table}] in closedloop.example.toml"
        for s in settings.source_settings(kind):
            if s.secret:
                continue
            assert s.name in keys[table], f"[{table}] {s.name} missing from closedloop.example.toml"


def test_the_example_config_validates(tmp_path):
    text = (ROOT / "closedloop.example.toml").read_text()
    cfg = settings.parse(tomllib.loads(text), ROOT / "closedloop.example.toml")
    assert set(settings.DOCUMENTED_KINDS) <= {v["kind"] for v in cfg.sources.values()}


def test_the_example_is_rendered_from_the_declarations():
    from closedloop import config_doc

    assert (ROOT / "closedloop.example.toml").read_text() == config_doc.render(), (
        "closedloop.example.toml is stale: python -m closedloop.config_doc > closedloop.example.toml"
    )
