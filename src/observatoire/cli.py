"""Command line of the Observatoire (French help). Every command has a Python API behind it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from observatoire.errors import ValidationError, format_problems
from observatoire.reference import TerritoryCodeError

EXIT_OK, EXIT_INVALID, EXIT_BUILD = 0, 1, 3


def _choices_parser() -> argparse.ArgumentParser:
    """Options of the modelling choices, shared by the commands that compute scores."""
    from observatoire import aggregate, normalise

    c = argparse.ArgumentParser(add_help=False)
    g = c.add_argument_group("choix de calcul (par défaut, ceux du livre)")
    g.add_argument("--normalisation", choices=normalise.METHODS, default="goalposts",
                   help="méthode de normalisation (défaut : goalposts, c'est-à-dire les bornes du catalogue)")
    g.add_argument("--agregation", choices=aggregate.METHODS, default="arithmetique",
                   help="moyenne utilisée à chaque niveau (défaut : arithmetique)")
    g.add_argument("--puissance", type=float, default=0.5, metavar="P",
                   help="ordre de la moyenne généralisée (avec --agregation generalisee)")
    g.add_argument("--poids", metavar="FICHIER", help="poids explicites (YAML : indicateurs, communs, axes)")
    g.add_argument("--imputation", choices=["mediane_groupe"], default=None,
                   help="imputer les valeurs manquantes (médiane des territoires de même niveau)")
    g.add_argument("--couverture-min", type=float, default=aggregate.DEFAULT_MIN_COVERAGE, metavar="PART",
                   help="part minimale du poids renseignée pour calculer un agrégat (défaut : 0,5)")
    return c


def choices_from_args(args):
    from observatoire.catalogue import load_catalogue
    from observatoire.pipeline import Choices
    from observatoire.weights import EQUAL, load_weights

    weights = EQUAL
    if args.poids:
        cat = load_catalogue()
        weights = load_weights(args.poids, {"indicateurs": set(cat.indicators.index),
                                            "communs": set(cat.communs.index), "axes": set(cat.axes.index)})
    return Choices(normalisation=args.normalisation, aggregation=args.agregation, power=args.puissance,
                   min_coverage=args.couverture_min, imputation=args.imputation, weights=weights)


class _FrenchParser(argparse.ArgumentParser):
    """argparse with its own words in French (help option, usage line, errors)."""

    def __init__(self, *args, add_help: bool = True, **kwargs):
        super().__init__(*args, add_help=False, **kwargs)
        if add_help:
            self.add_argument("-h", "--help", action="help", help="afficher cette aide et quitter")

    def format_usage(self) -> str:
        return super().format_usage().replace("usage:", "utilisation :", 1)

    def format_help(self) -> str:
        text = super().format_help().replace("usage:", "utilisation :", 1)
        return text.replace("\noptions:\n", "\noptions :\n").replace("positional arguments:", "arguments :")

    #: argparse's own error phrases, in French.
    ERRORS = (("the following arguments are required", "argument(s) obligatoire(s) manquant(s)"),
              ("unrecognized arguments", "argument(s) inconnu(s)"),
              ("invalid choice", "choix invalide"), ("choose from", "choix possibles :"),
              ("expected one argument", "une valeur est attendue"),
              ("invalid float value", "nombre invalide"), ("invalid int value", "entier invalide"),
              ("argument ", "option "))

    def error(self, message: str):
        for english, french in self.ERRORS:
            message = message.replace(english, french)
        message = message.replace(": ", " : ")
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog} : erreur : {message}\n")


def add_pilot_data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--donnees", metavar="FICHIER", help="fichier de données des pilotes (CSV ou XLSX) ; "
                        "par défaut les données de démonstration data/pilotes/pilotes.csv")


def _parser() -> argparse.ArgumentParser:
    choix = _choices_parser()
    p = _FrenchParser(
        prog="observatoire",
        description="Observatoire de la résilience des territoires et des entreprises : "
                    "validation des données, calcul des indicateurs et construction du Livre Blanc vivant.",
    )
    sub = p.add_subparsers(dest="commande", required=True, metavar="COMMANDE", parser_class=_FrenchParser)

    livre = sub.add_parser("livre", help="construire le livre HTML (chapitres des territoires pilotes compris)")
    add_pilot_data_option(livre)
    livre.add_argument("--sortie", metavar="DOSSIER", default=None, help="dossier de construction (défaut : _build)")

    territoire = sub.add_parser("territoire", help="valider le fichier de données d'un territoire puis construire "
                                "son propre livre (son chapitre, la comparaison avec les pilotes, la méthode)")
    territoire.add_argument("fichier", metavar="FICHIER", help="fichier de données du territoire (CSV ou XLSX, "
                            "format du modèle : observatoire modele CODE)")
    territoire.add_argument("--code", metavar="CODE", default=None,
                            help="territoire du livre, si le fichier en contient plusieurs (33063, 200046977, DEP-33, REG-94)")
    territoire.add_argument("--sortie", metavar="DOSSIER", default=None,
                            help="dossier de construction (défaut : _build) ; le livre va dans "
                                 "DOSSIER/territoires/<nom-code>/html")

    valider = sub.add_parser("valider", help="valider un fichier de données et lister tous ses problèmes")
    valider.add_argument("fichier", metavar="FICHIER")

    fiche = sub.add_parser("fiche", help="afficher les scores d'un territoire", parents=[choix])
    fiche.add_argument("code", metavar="CODE", help="33063, 200046977, DEP-33, REG-94 ou FR")
    fiche.add_argument("--donnees", metavar="FICHIER", default=None)

    exporter = sub.add_parser("exporter", help="exporter les résultats en données ouvertes "
                              "(CSV, Parquet et datapackage.json)", parents=[choix])
    exporter.add_argument("--donnees", metavar="FICHIER", default=None,
                          help="fichier de données (CSV ou XLSX) ; par défaut les données de "
                               "démonstration data/pilotes/pilotes.csv")
    exporter.add_argument("--sortie", metavar="DOSSIER", required=True,
                          help="dossier où écrire resultats.csv, resultats.parquet et datapackage.json")

    remonter = sub.add_parser("remonter", help="agréger un fichier de valeurs communales à un niveau supérieur "
                              "(moyenne pondérée par la population pour les taux, somme pour les comptes)")
    remonter.add_argument("fichier", metavar="FICHIER", help="fichier de données communales (CSV ou XLSX)")
    remonter.add_argument("--niveau", required=True, choices=["epci", "departement", "region", "france"],
                          help="niveau d'arrivée")
    remonter.add_argument("--sortie", required=True, metavar="FICHIER", help="fichier CSV à écrire (format du modèle)")

    modele = sub.add_parser("modele", help="écrire le modèle de fichier de données à remplir (XLSX ou CSV)")
    modele.add_argument("code", metavar="CODE", nargs="?", default=None,
                        help="territoire dont pré-remplir le modèle : 33063, 200046977, DEP-33, REG-94 ou FR "
                             "(sans code : modèle générique)")
    modele.add_argument("--sortie", metavar="FICHIER", default=None,
                        help="fichier à écrire, .xlsx ou .csv (défaut : modele-donnees-CODE.xlsx "
                             "dans le dossier courant)")

    campus = sub.add_parser("campus", help="servir les exercices interactifs du Campus (Voilà) sur 127.0.0.1",
                            description="Démarre Voilà sur les exercices de notebooks/campus/ (sources masquées, "
                                        "traces d'erreur cachées, noyaux préchauffés, noyaux inactifs arrêtés) "
                                        "et affiche l'adresse de chaque exercice. Ctrl-C pour arrêter.")
    campus.add_argument("--port", type=int, default=None, help="port d'écoute (défaut : un port libre)")
    campus.add_argument("--sans-prechauffage", action="store_true",
                        help="ne pas préparer de noyau d'avance (premier affichage plus lent, moins de mémoire)")
    campus.add_argument("--delai-cellule", type=int, default=120, metavar="SECONDES",
                        help="durée maximale d'exécution d'une cellule à l'affichage (défaut : 120)")
    campus.add_argument("--inactivite", type=int, default=30, metavar="MINUTES",
                        help="arrêter le noyau d'une page inactive depuis ce délai (défaut : 30)")

    demo = sub.add_parser("demo", help="générer les données de démonstration des pilotes (générateur à graine fixe)")
    demo.add_argument("--sortie", metavar="FICHIER", default="data/pilotes/pilotes.csv")
    demo.add_argument("--graine", metavar="N", type=int, default=None)

    pdf = sub.add_parser("pdf", help="construire l'édition PDF du livre (chromium ; _build/pdf/livre-blanc.pdf)")
    add_pilot_data_option(pdf)
    pdf.add_argument("--sortie", metavar="FICHIER", default=None,
                     help="fichier PDF à écrire (défaut : _build/pdf/livre-blanc.pdf)")

    publier = sub.add_parser("publier", help="assembler le site à publier : livre HTML, PDF, données ouvertes "
                             "et modèle de données (défaut : _build/publication)")
    add_pilot_data_option(publier)
    publier.add_argument("--sortie", metavar="DOSSIER", default=None,
                         help="dossier de la publication (défaut : _build/publication)")
    publier.add_argument("--sans-construction", action="store_true",
                         help="ne pas reconstruire : reprendre _build/html et _build/pdf/livre-blanc.pdf tels quels")
    demo.add_argument("--niveau", choices=["pilotes", "epci", "commune"], default="pilotes",
                      help="pilotes (séries complètes, défaut), ou tous les EPCI ou toutes les communes "
                           "(périodes calculées seulement : fichier national de démonstration)")

    national = sub.add_parser("national", parents=[choix],
                              help="calculer tous les EPCI (ou toutes les communes) et écrire une page par "
                                   "territoire et des pages de synthèse nationales (site HTML statique)")
    national.add_argument("--donnees", metavar="FICHIER", default=None,
                          help="fichier de données couvrant les territoires (CSV ou XLSX) ; par défaut, le fichier "
                               "national de démonstration, généré dans SORTIE/donnees/")
    national.add_argument("--niveau", choices=["epci", "commune"], default="epci",
                          help="territoires à calculer et à publier (défaut : epci)")
    national.add_argument("--sortie", metavar="DOSSIER", default="_build/national",
                          help="dossier du site (défaut : _build/national) ; une nouvelle exécution n'y refait que "
                               "les pages dont les entrées ont changé")
    national.add_argument("--processus", metavar="N", type=int, default=None,
                          help="nombre de processus locaux (défaut : un par cœur)")
    national.add_argument("--scheduler", metavar="ADRESSE", default=None,
                          help="adresse d'un ordonnanceur Dask distribué (ex. tcp://10.0.0.5:8786) : les pages sont "
                               "rendues par ses workers au lieu des processus locaux")
    national.add_argument("--limite", metavar="N", type=int, default=None,
                          help="ne traiter que les N premiers territoires (par code), pour un essai rapide")
    national.add_argument("--tirages", metavar="N", type=int, default=None,
                          help="tirages de Monte-Carlo des intervalles (défaut : 1000 pour les EPCI, 100 pour les communes)")
    national.add_argument("--silencieux", action="store_true", help="sans barre de progression")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except ValidationError as exc:
        print(f"Données invalides — rien n'a été modifié.\n{exc}", file=sys.stderr)
        return EXIT_INVALID
    except TerritoryCodeError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return EXIT_INVALID
    except ValueError as exc:  # the engine's refusals of an option (French messages)
        print(f"Erreur : {exc}", file=sys.stderr)
        return EXIT_INVALID


def _run(args) -> int:
    if args.commande == "livre":
        from observatoire import livre

        try:
            livre.build_book(args.donnees or livre.DEFAULT_DATA, args.sortie or livre.ROOT / "_build")
        except livre.BuildError as exc:
            print(f"Erreur : {exc}", file=sys.stderr)
            return EXIT_BUILD
        return EXIT_OK

    if args.commande == "territoire":
        from observatoire import livre
        from observatoire.livre_territoire import build_territory_book

        try:
            build_territory_book(args.fichier, args.code, args.sortie or livre.ROOT / "_build")
        except livre.BuildError as exc:
            print(f"Erreur : {exc}", file=sys.stderr)
            return EXIT_BUILD
        return EXIT_OK

    if args.commande == "valider":
        from observatoire.validate import validate_file

        data = validate_file(args.fichier)
        v = data.values
        print(f"{args.fichier} est valide : {len(v)} valeurs, {v['territoire'].nunique()} territoire(s), "
              f"{v['indicateur'].nunique()} indicateur(s).")
        if data.warnings:
            print(format_problems(data.warnings))
        return EXIT_OK

    if args.commande == "fiche":
        from observatoire.fiche import territory_sheet
        from observatoire.livre import DEFAULT_DATA
        from observatoire.texte import fr_number

        sheet = territory_sheet(args.code, args.donnees or DEFAULT_DATA, choices_from_args(args))
        t = sheet.territory
        print(f"{t.nom} ({t.code}), {sheet.level_label} — population {fr_number(t.population, 0)}")
        print(f"Indice global : {fr_number(sheet.index)} / 100")
        for label, value in sheet.axes.items():
            print(f"  Axe « {label} » : {fr_number(value)}")
        for label, value in sheet.communs.items():
            print(f"  Commun « {label} » : {fr_number(value)}")
        return EXIT_OK

    if args.commande == "demo":
        from observatoire.catalogue import load_catalogue
        from observatoire.demo import DEFAULT_SEED, generate_demo_data
        from observatoire.load import write_values_csv
        from observatoire.reference import load_reference

        if args.niveau != "pilotes":
            from observatoire.demo import national_demo_data

            frame = national_demo_data(load_catalogue(), load_reference(), args.niveau, args.graine or DEFAULT_SEED)
        else:
            frame = generate_demo_data(load_catalogue(), load_reference(), seed=args.graine or DEFAULT_SEED)
        Path(args.sortie).parent.mkdir(parents=True, exist_ok=True)
        write_values_csv(frame, args.sortie)
        print(f"{len(frame)} valeurs de démonstration écrites dans {args.sortie}")
        return EXIT_OK
    if args.commande == "remonter":
        from observatoire.catalogue import load_catalogue
        from observatoire.levels import roll_up_long
        from observatoire.load import write_values_csv
        from observatoire.reference import load_reference
        from observatoire.validate import validate_file

        catalogue, reference = load_catalogue(), load_reference()
        data = validate_file(args.fichier, catalogue, reference)
        out = roll_up_long(data.values, catalogue, reference, args.niveau)
        write_values_csv(out, args.sortie)
        print(f"{len(out)} valeurs pour {out['territoire'].nunique()} territoire(s) ({args.niveau}) "
              f"écrites dans {args.sortie} ; la couverture de chaque valeur est dans la colonne commentaire.")
        return EXIT_OK

    if args.commande == "modele":
        from observatoire.modele import modele_command

        return modele_command(args)

    if args.commande == "campus":
        from observatoire.campus.serve import serve

        return serve(args.port, preheat=not args.sans_prechauffage, cell_timeout=args.delai_cellule,
                     cull_idle=args.inactivite * 60)

    if args.commande == "exporter":
        from observatoire.export import export_command

        args.choix = choices_from_args(args)
        return export_command(args)
    if args.commande == "national":
        from observatoire.national import national_command

        return national_command(args)
    if args.commande == "pdf":
        from observatoire import edition, livre

        try:
            edition.build_pdf(args.donnees or livre.DEFAULT_DATA, args.sortie or edition.DEFAULT_OUTPUT)
        except (edition.EditionError, livre.BuildError) as exc:
            print(f"Erreur : {exc}", file=sys.stderr)
            return EXIT_BUILD
        return EXIT_OK

    if args.commande == "publier":
        from observatoire import edition, livre, publication

        try:
            publication.publish(args.sortie or publication.DEFAULT_OUTPUT, args.donnees or livre.DEFAULT_DATA,
                                build=not args.sans_construction)
        except (publication.PublicationError, edition.EditionError, livre.BuildError) as exc:
            print(f"Erreur : {exc}", file=sys.stderr)
            return EXIT_BUILD
        return EXIT_OK
    raise AssertionError(args.commande)
