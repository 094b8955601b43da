"""The toolchain is pinned once: pyproject.toml, constraints.txt and environment.yml agree."""

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + [r for group in project["optional-dependencies"].values() for r in group]
    pins = {}
    for r in map(Requirement, reqs):
        (spec,) = r.specifier  # exactly one specifier, an == pin
        assert spec.operator == "==", f"{r} is not pinned with =="
        pins[_canon(r.name)] = spec.version
    return pins


def environment_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pins = {}
    for line in pip:
        if line.startswith("-"):
            continue
        r = Requirement(line)
        (spec,) = r.specifier
        pins[_canon(r.name)] = spec.version
    return pins


def constraint_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_canon(name)] = version
    return pins


def test_environment_yml_lists_the_same_pins_as_pyproject():
    assert environment_pins() == pyproject_pins()


def test_constraints_freeze_every_direct_pin_at_the_same_version():
    constraints = constraint_pins()
    for name, version in pyproject_pins().items():
        assert constraints.get(name) == version, f"{name}: pyproject {version}, constraints {constraints.get(name)}"


def test_jupyter_book_is_1x_and_voila_is_patched():
    pins = pyproject_pins()
    assert pins["jupyter-book"].startswith("1.")
    major, minor, patch = (int(x) for x in pins["voila"].split(".")[:3])
    assert (major, minor, patch) >= (0, 5, 6)  # CVE-2024-30265


def test_the_engine_needs_none_of_the_book_tools():
    """The engine installs without the book: Jupyter Book, papermill, Voilà, Sphinx, the plotting
    libraries are in the optional group « livre » (tests/test_coin.py checks the imports)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {_canon(Requirement(r).name) for r in project["dependencies"]}
    book = {"jupyter-book", "papermill", "voila", "sphinx", "myst-nb", "ipywidgets", "ipykernel", "matplotlib",
            "seaborn", "playwright", "dask", "distributed"}
    assert not core & book
    assert book <= {_canon(Requirement(r).name) for r in project["optional-dependencies"]["livre"]}
