"""A small Sphinx project that uses the book's own extensions (MyST, numbered parts, annexes,
citations, raw HTML, code and math), built by ``python -m sphinx`` in a few seconds: the tests of
the typography, the layout and the bibliography read what it writes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

CONF = """
extensions = ["myst_parser", "sphinx_multitoc_numbering", "sphinxcontrib.bibtex",
              "observatoire.build.typography", "observatoire.build.layout", "observatoire.build.bibliography"]
language = "fr"
numfig = True
numfig_format = {"figure": "Figure %s"}
html_theme = "basic"
myst_enable_extensions = ["dollarmath", "colon_fence"]
bibtex_bibfiles = ["refs.bib"]
bibtex_default_style = "livre-fr"
bibtex_reference_style = "auteur-annee"
suppress_warnings = ["myst.xref_missing"]
"""

INDEX = """# Accueil : le livre

Un texte ; avec « guillemets » et 45 % de 3 000 € : voilà ! Il fait 2 °C.

Le code `a ; b : « c »` reste, la formule $x : y ; z$ aussi, et [https://exemple.fr/?a=1 ;](https://exemple.fr/?a=1) aussi.

![Image : texte de remplacement ; inchangé](img.png)

```python
x = "a ; b : « c » 2 °C"
```

<p class="lien-pdf">Édition PDF : <a href="../livre-blanc.pdf" download="livre-blanc.pdf">télécharger le livre en PDF</a> (complet).</p>

<table><tr><td title="Source : attribut">Source : INSEE</td><td><code>a ; b</code> !</td></tr></table>

```{toctree}
:caption: Le livre
:numbered:
:hidden:
chap1
```

```{toctree}
:caption: Annexes
:numbered:
:hidden:
annexe1
annexe2
```

```{toctree}
:hidden:
biblio
```
"""

CHAPTER = """# Chapitre un

## Section : une

```{figure} img.png
:name: fig-chapitre

Légende : une figure.
```

Voir {numref}`fig-annexe` et {numref}`fig-chapitre`.
"""

ANNEX_1 = """# Annexe un

Texte.
"""

ANNEX_2 = """# Annexe deux

## Sous-partie

```{figure} img.png
:name: fig-annexe

Une figure d'annexe.
```
"""

BIBLIOGRAPHY_PAGE = """# Références

Selon {cite:p}`dupont2024,walker2004`, et d'après {cite:t}`boyer2002` puis {cite:t}`rockstrom2009`.

```{bibliography}
```
"""

BIB = r"""
@techreport{dupont2024,
  author = {Jean Dupont and Marie Curie}, title = {Un rapport sur la résilience}, institution = {Ademe},
  year = {2024}, month = {mar}, url = {https://exemple.fr/rapport}, urldate = {2025-03-01}}
@book{boyer2002,
  editor = {Robert Boyer and Yves Saillard}, title = {Théorie de la régulation}, publisher = {La Découverte},
  address = {Paris}, year = {2002}}
@article{walker2004,
  author = {Brian Walker and C. S. Holling and Stephen R. Carpenter and Ann Kinzig},
  title = {Resilience, adaptability and transformability}, journal = {Ecology and Society},
  volume = {9}, number = {2}, pages = {5}, year = {2004}}
@article{rockstrom2009,
  author = {Johan Rockström and Will Steffen and others}, title = {A safe operating space for humanity},
  journal = {Nature}, volume = {461}, pages = {472--475}, year = {2009}}
@techreport{cerema2020,
  author = {{Cerema}}, title = {La boussole de la résilience}, institution = {Cerema}, year = {2020}}
@book{bene2012,
  author = {Christophe Béné}, title = {Resilience}, publisher = {IDS}, year = {2012}}
@incollection{derrida1972,
  author = {Jacques Derrida}, title = {La pharmacie de Platon}, booktitle = {La Dissémination},
  publisher = {Seuil}, pages = {77--213}, year = {1972}}
"""
NOCITE = "\n```{bibliography}\n:filter: not cited\n:labelprefix: LC\n```\n"

def png() -> bytes:
    """A 1×1 white PNG."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff")) + chunk(b"IEND", b""))


def write_project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    files = {"conf.py": CONF, "index.md": INDEX, "chap1.md": CHAPTER, "annexe1.md": ANNEX_1,
             "annexe2.md": ANNEX_2, "biblio.md": BIBLIOGRAPHY_PAGE + NOCITE, "refs.bib": BIB}
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "img.png").write_bytes(png())
    return folder


def build(source: Path, out: Path, builder: str = "html", pdf: Path | None = None,
          jobs: int = 1) -> subprocess.CompletedProcess:
    """``python -m sphinx`` with warnings as errors (as the book is built)."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env["OBSERVATOIRE_EDITION_PDF"] = str(pdf) if pdf else str(source / "absent.pdf")
    r = subprocess.run([sys.executable, "-m", "sphinx", "-b", builder, "-W", "--keep-going", "-j", str(jobs),
                        "-d", str(out / ".doctrees"), str(source), str(out)],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


def body(page: Path) -> str:
    """The content of a page of the ``basic`` theme (without the sidebar)."""
    text = page.read_text(encoding="utf-8")
    m = re.search(r'<div class="body" role="main">(.*?)<div class="sphinxsidebar"', text, re.S)
    return m.group(1) if m else text


def written_pages(log: str) -> list[str]:
    return re.findall(r"writing output\.\.\. \[\s*\d+%\] (\S+)", re.sub(r"\x1b\[[0-9;]*m", "", log))
