"""KPIs computed by checks/kpis/*.sql equal the generator's Firm.kpi_truth on generated firms (fast path)."""

from __future__ import annotations

import pytest

from closedloop.demo import answer, generate_firm

SEEDS = (1, 2, 3)
# (truth section, truth field, SQL kpi_id, SQL name): definitions are documented on both sides.
PAIRS = [
    ("K01", "median_bd", "K01", "contract_to_project_median"),
    ("K01", "p90_bd", "K01", "contract_to_project_p90"),
    ("K01", "sla_attainment", "K01", "contract_to_project_within_sla"),
    ("K01", "share_open", "K01", "contract_to_project_share_open"),
    ("K03", "median_bd", "K03", "amendment_propagation_median"),
    ("K03", "p90_bd", "K03", "amendment_propagation_p90"),
    ("K03", "within_sla_share", "K03", "amendment_propagation_within_sla"),
    ("K03", "open_backlog", "K03", "amendment_open_backlog"),
    ("K03", "open_value_usd", "K03", "amendment_open_value"),
    ("K05", "ar_visibility_coverage", "K05", "ar_visibility_coverage"),
    ("DSO", "days", "K06", "dso"),
    ("unbilled_wip", "total_usd", "K07", "unbilled_wip"),
]


@pytest.fixture(scope="module")
def kpis() -> dict[int, tuple[dict, dict]]:
    """Per seed: (kpi_truth, {(kpi_id, name): value} of the firm-wide slice)."""
    out = {}
    for seed in SEEDS:
        firm = generate_firm("s", seed=seed)
        con, _ = answer.run(firm, run_id=f"k{seed}")
        rows = con.execute(
            "SELECT kpi_id, name, value FROM results.kpi WHERE run_id = ? AND slice_kind = 'total'",
            [f"k{seed}"],
        ).fetchall()
        con.close()
        out[seed] = (firm.kpi_truth, {(k, n): v for k, n, v in rows})
    return out


@pytest.mark.parametrize(("section", "field", "kpi_id", "name"), PAIRS)
@pytest.mark.parametrize("seed", SEEDS)
def test_kpi_equals_truth(kpis, seed: int, section: str, field: str, kpi_id: str, name: str) -> None:
    truth, got = kpis[seed]
    want = truth[section][field]
    have = got[(kpi_id, name)]
    # truth ratios are stored to 6 decimals; money and days are exact to the cent / float noise
    assert have == pytest.approx(want, rel=1e-6, abs=1e-6), (
        f"seed {seed} {kpi_id} {name}: SQL {have} truth {want}"
    )
