"""The data dictionary of the catalogue, as the book's annex shows it: a table of every
indicator with its fields as a reader reads them, rendered by a Jinja2 template (every catalogue
text escaped; a source links to its address when that is http(s))."""

from __future__ import annotations

import pandas as pd

from observatoire import paths
from observatoire.engine.catalogue import ARROW_MEANINGS, DIRECTION_ARROWS, Catalogue, _fr_plain

HEADER = ("Indicateur", "Définition et source", "Unité, sens, bornes, cible", "Acteur, échelles")
TEMPLATES = paths.PACKAGE / "report" / "templates"


def data_dictionary(catalogue: Catalogue) -> pd.DataFrame:
    """One row per indicator, in axis, commun and catalogue order, with its fields as a reader
    reads them (French numbers, commun label, ↑/↓ direction). Plain text: render it with
    :func:`data_dictionary_html`, which escapes it."""
    from observatoire.engine.denominate import COUNT_BASE_POPULATION
    from observatoire.text import fr_int

    ind = catalogue.indicators
    per_base = f" (pour {fr_int(COUNT_BASE_POPULATION)} hab.)"  # goalposts of counts, see pipeline
    bounds = [f"{_fr_plain(lo)}\u00a0à\u00a0{_fr_plain(hi)}" + (per_base if agg == "compte" else "")
              for lo, hi, agg in zip(ind["borne_basse"], ind["borne_haute"], ind["agregation"])]
    table = pd.DataFrame({
        "identifiant": ind.index.astype(str),
        "libelle": ind["libelle"].astype(str).to_numpy(),
        "definition": ind["definition"].astype(str).to_numpy(),
        "axe": ind["axe"].astype(int).to_numpy(),
        "commun": ind["commun"].map(catalogue.commun_label).astype(str).to_numpy(),
        "acteur": ind["acteur"].astype(str).to_numpy(),
        "echelle_spatiale": ind["echelle_spatiale"].astype(str).to_numpy(),
        "echelle_temporelle": ind["echelle_temporelle"].astype(str).to_numpy(),
        "unite": ind["unite"].astype(str).to_numpy(),
        "sens": ind["direction"].map(DIRECTION_ARROWS).to_numpy(),
        "bornes": bounds,
        "cible": [_fr_plain(c) for c in ind["cible"]],
        "nature": ind["nature"].astype(str).to_numpy(),
        "agregation": ind["agregation"].astype(str).to_numpy(),
        "source": ind["source"].astype(str).to_numpy(),
        "source_url": ind["source_url"].astype(str).to_numpy(),
    })
    commun_rank = {c: i for i, c in enumerate(catalogue.communs.index)}
    order = pd.DataFrame({"axe": table["axe"], "commun": ind["commun"].map(commun_rank).to_numpy(),
                          "position": range(len(table))})
    return table.loc[order.sort_values(["axe", "commun", "position"]).index].reset_index(drop=True)


def data_dictionary_html(dictionary: pd.DataFrame) -> str:
    """Rows of :func:`data_dictionary` as an HTML table, one group of rows per commun."""
    from observatoire.report.html import environment

    groups = []
    # A group per run of consecutive rows of one commun: the rows keep the order they are given in.
    runs = (dictionary["commun"] != dictionary["commun"].shift()).cumsum()
    for _, rows in dictionary.groupby(runs, sort=False):
        groups.append({"commun": rows["commun"].iloc[0], "rows": [
            {**r._asdict(), "note": r.nature + (f" · {r.agregation}" if r.agregation != "taux" else ""),
             "meaning": ARROW_MEANINGS.get(r.sens, ""),
             "ident_parts": str(r.identifiant).split("_"),
             "link": str(r.source_url).startswith(("https://", "http://"))}
            for r in rows.itertuples(index=False)]})
    return environment(str(TEMPLATES)).get_template("dictionnaire.html.j2").render(header=HEADER, groups=groups)
