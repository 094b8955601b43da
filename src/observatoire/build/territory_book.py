"""A territory's own book: bring your data file, get your book.

``make territoire DONNEES=fichier.csv`` (``observatoire territoire FICHIER``) validates the file
and, if it is valid, builds that territory's edition of the book into
``_build/territoires/<slug>/html``: a home page saying where the numbers come from, the
territory's chapter (the pilots' template run on its file), the comparison with the pilots
(``book/territoires/comparaison.md`` run with the territory added), then the whole White
Paper — method chapters, pilots, annexes — so that every cross-reference resolves.

As for the main book: every problem of the file is reported at once (French, file, line,
column, value, what was expected) before anything is written; the new site is built aside and
swapped in, so a failed run leaves that territory's previous book intact. The text that comes
from the file (sources, comments) is escaped where it is shown; the territory's name comes
from the reference data and is escaped too.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata
from pathlib import Path

import nbformat
import yaml

from observatoire import paths
from observatoire.build.book import pilot_chapters
from observatoire.build.jobs import Chapter, ComparisonChapter
from observatoire.build.pipeline import Build, run
from observatoire.build.toc import read_toc
from observatoire.engine.reference import Territory, TerritoryCodeError, load_reference
from observatoire.engine.validate import ValidatedData, validate_file
from observatoire.errors import Problem, ValidationError, format_problems
from observatoire.text import escape_markdown, fr_int, of_name

OUTPUT_NAME = "territoires"
#: The pages a territory's book generates beside the pilots' chapters (in book/territoires/, so
#: that their links to the rest of the book are the pilots'), by prefix. The HTML book excludes
#: them in _config.yml: without that, sphinx-external-toc would add each new one to the book's
#: ``exclude_patterns``, and that change of configuration makes Sphinx re-read every page of
#: the next ``make book``. A territory's book takes them back out of its own patterns.
GENERATED_PATTERNS = ("book/territoires/territoire-*", "book/territoires/comparaison-*", "book/territoires/livre-*")


def slugify(text: str) -> str:
    """« L'Haÿ-les-Roses » → « l-hay-les-roses »: ASCII letters, digits and hyphens only."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "territoire"


def territory_slug(territory: Territory) -> str:
    """Folder name of a territory's book: its name and code, so that two homonyms never share."""
    return f"{slugify(territory.nom)}-{slugify(territory.code)}"


def resolve_territory(data: ValidatedData, data_path: Path, code: str | None) -> Territory:
    """The territory whose book to build: ``code`` if given, else the file's only territory."""
    reference = load_reference()
    present = list(dict.fromkeys(data.values["territoire"]))
    if code:
        try:
            t = reference.territory(str(code))
        except TerritoryCodeError as exc:
            raise ValidationError([Problem(str(data_path), None, "territoire", str(code), str(exc))]) from exc
        if t.code not in present:
            raise ValidationError([Problem(str(data_path), None, "territoire", t.code,
                                           f"aucune valeur pour {t.nom} dans ce fichier")])
        return t
    if len(present) != 1:
        listed = ", ".join(present[:10]) + (" …" if len(present) > 10 else "")
        raise ValidationError([Problem(str(data_path), None, "territoire", listed,
                                       f"le fichier contient {len(present)} territoires : précisez celui du "
                                       "livre avec --code (make territoire DONNEES=… CODE=…)")])
    return reference.territory(present[0])


def home_page(territory: Territory, data: ValidatedData, data_path: Path, chapter: str, comparison: str,
              catalogue_size: int) -> nbformat.NotebookNode:
    """The book's home page (a Markdown-only notebook: nothing to execute). Every piece of text
    that comes from outside the project is escaped."""
    v = data.values[data.values["territoire"] == territory.code]
    periods = sorted(v["periode"].astype(str).unique())
    name = escape_markdown(territory.nom)
    of_territory = escape_markdown(of_name(territory.nom, territory.level))  # « d'Ambérieu-en-Bugey »
    text = f"""# {name} : édition territoriale du Livre Blanc vivant

Cette édition du Livre Blanc vivant de l'approche globale, résiliente et solidaire a été
construite le {dt.date.today().strftime('%d/%m/%Y')} pour **{name}** (code {escape_markdown(territory.code)}),
à partir du fichier de données « {escape_markdown(data_path.name)} » : {fr_int(len(v))} valeurs,
{fr_int(v['indicateur'].nunique())} indicateurs renseignés sur les {fr_int(catalogue_size)} du catalogue,
périodes {escape_markdown(periods[0])} à {escape_markdown(periods[-1])}.

:::{{admonition}} D'où viennent les chiffres
:class: important
Les valeurs {of_territory} sont celles de son fichier, validé par l'Observatoire : leur exactitude
relève de qui les a produites. Celles des cinq territoires pilotes, auxquels il est comparé, sont
des **statistiques publiques**, chacune avec sa source dans le chapitre du pilote. Les rattachements
administratifs viennent du Code officiel géographique 2026, les populations des populations
légales de l'Insee.
:::

{validation_notes(data)}
## Ce que contient ce livre

- {{doc}}`Le chapitre {of_territory} <{chapter}>` : son profil de résilience par commun et par axe, ses
  séries mensuelles et la table de ses indicateurs, avec les sources et commentaires du fichier ;
- {{doc}}`La comparaison avec les pilotes <{comparison}>` : les valeurs côte à côte, avec celles de
  la France, la couverture des données et les profils là où ils sont calculables ;
- puis le Livre Blanc entier : ses fondements, sa méthode de calcul, l'analyse de l'incertitude,
  le dictionnaire des données et la bibliographie.

Pour reconstruire ce livre après avoir corrigé ou complété le fichier :
`make territoire DONNEES=chemin/vers/fichier.csv`.
"""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(text)]
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return nb


def validation_notes(data: ValidatedData) -> str:
    """The data notice's list of what the validation repaired or ignored in the file (escaped:
    the notes quote the file's own text), or nothing when it had nothing to say."""
    if not data.warnings:
        return ""
    items = "\n".join(f"- {escape_markdown(p.message if not p.column else f'colonne « {p.column} » : {p.message}')}"
                      for p in data.warnings)
    return f"""
:::{{admonition}} Ce que l'Observatoire a corrigé ou ignoré dans le fichier
:class: note
La validation a lu le fichier comme suit (rien n'y est modifié : corrigez-le pour la prochaine
construction si la lecture ne vous convient pas).

{items}
:::
"""


def territory_toc(home: str, chapter: str, comparison: str) -> dict:
    """The main table of contents with the territory's part first and its comparison chapter in
    place of the pilots' one (a label may only be defined once)."""
    toc = read_toc()
    main_root = toc["root"]
    toc["root"] = home
    parts = [{"caption": "Votre territoire", "chapters": [{"file": chapter}, {"file": comparison}]}]
    for part in toc["parts"]:
        chapters = []
        for ch in part["chapters"]:
            ch = dict(ch)
            if "sections" in ch:
                ch["sections"] = [s for s in ch["sections"] if s["file"] != "book/territoires/comparaison"]
            chapters.append(ch)
        parts.append({**part, "chapters": chapters})
    parts[1]["chapters"].insert(0, {"file": main_root})
    toc["parts"] = parts
    return toc


def own_patterns() -> list[str]:
    """The book's exclude patterns without those of the pages a territory's book generates."""
    config = yaml.safe_load(paths.CONFIG.read_text(encoding="utf-8"))
    return [p for p in config.get("exclude_patterns", []) if p not in GENERATED_PATTERNS]


def build_territory_book(data_path: str | os.PathLike, code: str | None = None,
                         build_dir: str | os.PathLike = paths.BUILD, workers: int | None = None) -> Path:
    """Validate a territory's data file and build its book; return the path of its index.html."""
    data_path = Path(data_path).resolve() if Path(data_path).exists() else Path(data_path)
    build_dir = Path(build_dir)
    print(f"Validation de {data_path.name}…", flush=True)
    data = validate_file(data_path)
    territory = resolve_territory(data, data_path, code)
    slug = territory_slug(territory)
    print(f"      {territory.nom} ({territory.code}) : {fr_int((data.values['territoire'] == territory.code).sum())} "
          "valeurs valides", flush=True)
    if data.warnings:  # every repair and ignored column, once each (also in the book's data notice)
        print("      " + format_problems(data.warnings).replace("\n", "\n      "), flush=True)

    own = Chapter(territory.code, f"territoire-{slug}", territory.nom, data_path, nature="territoire")
    comparison = ComparisonChapter(territory.code, f"comparaison-{slug}",
                                   f"comparaison {of_name(territory.nom, territory.level)} avec les pilotes",
                                   data_path)
    home = f"livre-{slug}"
    rel = "book/territoires/"
    work = build_dir / OUTPUT_NAME / f".travail-{slug}"
    work.mkdir(parents=True, exist_ok=True)
    toc_path = work / "_toc.yml"
    toc_path.write_text(yaml.safe_dump(territory_toc(rel + home, rel + own.slug, rel + comparison.slug),
                                       allow_unicode=True, sort_keys=False), encoding="utf-8")

    def pages() -> dict[Path, nbformat.NotebookNode]:
        from observatoire.engine.catalogue import load_catalogue

        return {paths.CHAPTERS / f"{home}.ipynb": home_page(territory, data, data_path, own.slug, comparison.slug,
                                                            len(load_catalogue().indicators))}

    # The book's MyST notebooks read the pilots' data: they share the main book's notebook cache.
    site = run(Build(data_path=paths.DEFAULT_DATA, work=work / "jupyter-book",
                     chapters=[own, comparison, *pilot_chapters(paths.DEFAULT_DATA)], toc=toc_path,
                     config={"title": f"{territory.nom} : Livre Blanc vivant",
                             "exclude_patterns": own_patterns()}, pages=pages,
                     target=build_dir / OUTPUT_NAME / slug / "html", build_dir=build_dir), workers)
    index = (site / "index.html").resolve()
    print(f"Livre {of_name(territory.nom, territory.level)} prêt. Ouvrez : {index}", flush=True)
    return index
