"""Notebooks are stored without outputs, and the territory template has its parameters cell."""

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tracked_notebooks():
    out = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    return [ROOT / f for f in out] or sorted((ROOT / "notebooks").rglob("*.ipynb"))


def test_committed_notebooks_have_no_outputs():
    notebooks = tracked_notebooks()
    assert notebooks, "no notebook found"
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, f"{path} stores outputs"


def test_template_has_a_parameters_cell_with_string_code():
    nb = json.loads((ROOT / "notebooks" / "territoire.ipynb").read_text(encoding="utf-8"))
    params = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1
    source = "".join(params[0]["source"])
    assert 'code = "' in source and 'donnees = "' in source


def test_generated_chapters_are_git_ignored():
    r = subprocess.run(["git", "check-ignore", "book/territoires/bordeaux.ipynb", "_build/html/index.html", ".venv/x"],
                       cwd=ROOT, capture_output=True, text=True)
    assert len(r.stdout.split()) == 3
