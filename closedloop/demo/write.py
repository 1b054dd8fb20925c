"""Write a generated firm to disk: vendor exports (if the renderer exists), answer key, KPI truth, params."""

from __future__ import annotations

import json
from pathlib import Path

from .firm.build import Firm
from .profiles import DEFAULT, Profile, strip


def write_demo(firm: Firm, out_dir: Path | str, profile: Profile = DEFAULT) -> Path:
    """Render exports via closedloop.demo.exports when importable (as the estate profile holds them), then the
    profile's answer key, kpi_truth and firm.json (with the profile's name)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    try:
        from closedloop.demo.exports import render_exports
    except ImportError:
        render_exports = None
    if render_exports is not None:
        render_exports(firm, out / "exports", profile.sources, profile.systems)
        strip(out / "exports", profile)
    profile.answer_key(firm).write_parquet(out / "answer_key.parquet")
    (out / "kpi_truth.json").write_text(json.dumps(firm.kpi_truth, indent=2, default=str))
    params = firm.params | ({"profile": profile.name} if profile is not DEFAULT else {})
    (out / "firm.json").write_text(json.dumps(params, indent=2, default=str))
    return out
