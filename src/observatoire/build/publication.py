"""Assemble the published site: the HTML book, its PDF edition, the open-data export of the
indicators with its Data Package, and the territory data template, in one folder that any static
web server can serve — with no request to the internet (checked before publishing).

The folder is built next to the target and swapped in with renames: the previous publication
stays whole until the new one is complete.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from observatoire import paths
from observatoire.build import book
from observatoire.build import pdf as edition
from observatoire.files import swap_in

DEFAULT_DATA = paths.DEFAULT_DATA
DEFAULT_OUTPUT = paths.BUILD / "publication"
SITE = paths.BUILD / "html"
TEMPLATE_DIR = paths.DATA / "modele"
DATA_DIR, MODEL_DIR = "donnees", "modele"


class PublicationError(Exception):
    """The publication could not be assembled; the message is French, the previous one is intact."""


# ---------------------------------------------------------------------------------------------
# Self-contained site: nothing a page runs or renders with comes from another origin

_OUTSIDE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.I)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""", re.I)
_CSS_IMPORT = re.compile(r"""@import\s+(['"])([^'"]+)\1""", re.I)  # @import url(…) is a url()
# <link rel=…> values that make the browser fetch the target for the page itself.
_FETCHING_RELS = {"stylesheet", "preload", "modulepreload", "icon", "shortcut", "apple-touch-icon",
                  "manifest", "prefetch", "preconnect", "dns-prefetch"}
_LOADING_TAGS = ("script", "img", "iframe", "source", "video", "audio", "embed", "object", "input", "track")


def _css_outside(css: str) -> list[str]:
    found = [m.group(2) for m in _CSS_URL.finditer(css) if _OUTSIDE.match(m.group(2))]
    found += [m.group(2) for m in _CSS_IMPORT.finditer(css) if _OUTSIDE.match(m.group(2))]
    return found


def html_outside(text: str) -> list[str]:
    """External scripts, stylesheets, fonts, images and frames an HTML page would load (links
    a reader follows, ``<a href>``, are not loads and are allowed). Parsed with BeautifulSoup."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    found = []
    for link in soup.find_all("link"):
        rels = {r.lower() for r in (link.get("rel") or [])}
        if rels & _FETCHING_RELS and _OUTSIDE.match(link.get("href") or ""):
            found.append(str(link))
    for tag in soup.find_all(_LOADING_TAGS):
        sources = [tag.get("src") or "", tag.get("data") or "", tag.get("poster") or ""]
        sources += [part.strip().split()[0] for part in (tag.get("srcset") or "").split(",") if part.strip()]
        if any(_OUTSIDE.match(s) for s in sources if s):
            found.append(str(tag))
    for style in soup.find_all("style"):
        found += _css_outside(style.get_text())
    for tag in soup.find_all(style=True):
        found += _css_outside(tag["style"])
    return found


def external_resources(folder: str | os.PathLike) -> dict[str, list[str]]:
    """{file: [what it loads from outside]} for every HTML and CSS file under ``folder``."""
    folder = Path(folder)
    problems = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in (".html", ".htm", ".css") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found = html_outside(text) if path.suffix.lower() != ".css" else _css_outside(text)
        if found:
            problems[str(path.relative_to(folder))] = found
    return problems


# ---------------------------------------------------------------------------------------------
# The folder

README = """\
# Livre Blanc de l’approche globale, résiliente et solidaire — site publié

Ce dossier est le site complet, prêt à déposer sur n’importe quel serveur web statique. Il ne
charge rien depuis internet (scripts, styles, polices et formules mathématiques sont inclus) :
il fonctionne aussi sur un intranet sans accès extérieur.

| Chemin | Contenu |
|---|---|
| `index.html`, `book/`, `_static/`, `_images/` | le livre HTML (page d’accueil : `index.html`) |
| `{pdf}` | l’édition PDF du livre (A4, table des matières, bibliographie) |
| `{data}/` | les résultats des indicateurs en données ouvertes : `resultats.csv`, `resultats.parquet` et leur description `datapackage.json` (Frictionless Data Package, Licence Ouverte 2.0) |
| `{model}/` | le modèle de fichier de données à remplir par un territoire (XLSX et CSV) et son mode d’emploi |

Version {version}, publiée le {date}. Données des territoires pilotes : {data_label}.

## Le consulter sur son poste

Ouvrir `index.html` dans un navigateur suffit pour lire le book. Les formules mathématiques
s’affichent mieux servies par un petit serveur local :

```sh
cd ce-dossier
python3 -m http.server 8000 --bind 127.0.0.1
# puis ouvrir http://127.0.0.1:8000/
```

## Le publier

Copier tout le dossier à la racine (ou dans un sous-dossier) d’un serveur web : tous les liens
sont relatifs. Avec nginx :

```nginx
server {{
    listen 80;
    server_name livre-blanc.example.org;
    root /srv/livre-blanc;          # ce dossier
    index index.html;
    location / {{ try_files $uri $uri/ =404; }}
    types {{ application/vnd.apache.parquet parquet; }}
    include mime.types;
}}
```

Avec Apache, un `DocumentRoot` pointant sur ce dossier suffit. Sur GitHub Pages ou GitLab
Pages, déposer le contenu du dossier tel quel (ajouter un fichier vide `.nojekyll` sur GitHub
Pages, pour que les dossiers `_static` et `_images` soient servis).

## Le reconstruire

Depuis le dépôt du projet : `make publish` (ou `observatoire publier`) reconstruit le livre,
son édition PDF et les exports, puis remplace ce dossier d’un seul coup.
"""


def publish(output: str | os.PathLike = DEFAULT_OUTPUT, data_path: str | os.PathLike = DEFAULT_DATA,
            site: str | os.PathLike = SITE, pdf: str | os.PathLike = edition.DEFAULT_OUTPUT,
            build: bool = True) -> Path:
    """Assemble the publication folder and return its path. With ``build``, the HTML book and
    the PDF are (re)built first, on ``data_path``; without it, the existing ``site`` and ``pdf``
    are used."""
    from observatoire.engine.export import export_scores
    from observatoire.engine.pipeline import score_data_file

    started = time.perf_counter()
    output, site, pdf = Path(output), Path(site), Path(pdf)
    data_path = Path(data_path).resolve() if Path(data_path).exists() else Path(data_path)
    if build:
        book.build_book(data_path, site.parent)
        edition.build_pdf(data_path, pdf, build_dir=site.parent)
    if not (site / "index.html").exists():
        raise PublicationError(f"le livre HTML est introuvable ({site}) : construisez-le d’abord (make book).")
    if not pdf.exists():
        raise PublicationError(f"l’édition PDF est introuvable ({pdf}) : construisez-la d’abord (make pdf).")
    outside = external_resources(site)
    if outside:
        lines = [f"  {name} : {', '.join(found[:3])}" for name, found in list(outside.items())[:20]]
        raise PublicationError("le site charge des ressources depuis internet ; il ne fonctionnerait pas "
                               "hors ligne. Rien n’a été publié.\n" + "\n".join(lines))

    print("Assemblage de la publication…", flush=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".publication-", dir=output.parent))
    try:
        folder = staging / "site"
        shutil.copytree(site, folder, ignore=shutil.ignore_patterns(".buildinfo", "*.pyc", "__pycache__"))
        shutil.copyfile(pdf, folder / edition.PDF_NAME)
        scores = score_data_file(data_path)[0]
        demonstration = data_path.resolve() == paths.DEMO_DATA.resolve()
        export_scores(scores, folder / DATA_DIR, data_path, demonstration)
        shutil.copytree(TEMPLATE_DIR, folder / MODEL_DIR)
        (folder / "README.md").write_text(README.format(
            pdf=edition.PDF_NAME, data=DATA_DIR, model=MODEL_DIR, version=edition.project_version(),
            date=edition.french_date(edition.build_date()), data_label=edition.data_label(data_path)),
            encoding="utf-8")
        swap_in(folder, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f"Publication assemblée en {time.perf_counter() - started:.0f} s : {output.resolve()}\n"
          f"  pour la consulter : python3 -m http.server 8000 --bind 127.0.0.1 --directory {output}", flush=True)
    return output.resolve()
