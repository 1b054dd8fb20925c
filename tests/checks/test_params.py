"""Every check and KPI parameter is declared once, in its SQL file's header; everything else reads it there."""

from __future__ import annotations

import pytest

from checks.kpis import load_kpis
from checks.loader import CONTEXT_DEFAULTS, load_checks
from checks.params import declared, defaults, resolve


def test_a_name_shared_by_several_files_has_one_default():
    shared = {}
    for item_id, params in declared().items():
        for name in params:
            shared.setdefault(name, []).append(item_id)
    assert any(len(ids) > 1 for ids in shared.values())  # e.g. grace_amend_bd in Q2C-060..063
    values = defaults()  # raises when two headers disagree
    assert values["grace_amend_bd"] == 5 and values["dso_days"] == 90
    assert {k: values[k] for k in CONTEXT_DEFAULTS} == CONTEXT_DEFAULTS


def test_two_headers_disagreeing_on_a_default_is_an_error(tmp_path):
    rules, kpis = tmp_path / "rules", tmp_path / "kpis"
    (rules / "d").mkdir(parents=True)
    kpis.mkdir()
    for n, default in (("997", 3), ("998", 4)):
        (rules / "d" / f"q2c-{n}_t.sql").write_text(
            f"/* ---\nid: Q2C-{n}\ntitle: t\nseverity: S3\nowner: o\ndomain: d\nsystems: [ERP]\ndescription: d\n"
            f"remediation: r\nimpact_kind: compliance\nstage: invoice\ndepends_on: [invoice]\nparams:\n"
            f"  grace_days: {default}\n--- */\nSELECT 1 AS x WHERE getvariable('grace_days') > 0\n"
        )
    with pytest.raises(ValueError, match="'grace_days' has two defaults: 3 in Q2C-997, 4 in Q2C-998"):
        defaults(rules, kpis)


def test_the_demo_injects_against_the_headers_defaults():
    from closedloop.demo.firm.params import CHECK_PARAMS, REPORTING_CCY

    every = {name for c in load_checks() for name in c.params} | {n for k in load_kpis() for n in k.params}
    assert every <= set(CHECK_PARAMS)
    assert {k: v for k, v in CHECK_PARAMS.items() if k != "reporting_ccy"} == defaults()
    assert CHECK_PARAMS["reporting_ccy"] == REPORTING_CCY  # the one demo-specific value


def test_kpis_keep_no_parameter_table_of_their_own():
    import checks.kpis

    assert not hasattr(checks.kpis, "KPI_PARAMS")


def test_overrides_by_name_and_by_id():
    decl = {"Q2C-001": {"a": 1, "b": 2}, "K01": {"a": 1}}
    assert resolve(decl, {"a": 5, "Q2C-001.b": 7}) == {"Q2C-001": {"a": 5, "b": 7}, "K01": {"a": 5}}
    assert resolve(decl, {"a": 5, "K01.a": 9})["K01"] == {"a": 9}
    assert resolve(decl, {"materiality_rc": 1})["Q2C-001"] == {"a": 1, "b": 2}  # context: not a file's
    with pytest.raises(ValueError, match=r"\['Q2C-001.c'\]"):
        resolve(decl, {"Q2C-001.c": 1})
    assert resolve(decl, {"z": 1}, also_known={"z"})["K01"] == {"a": 1}
