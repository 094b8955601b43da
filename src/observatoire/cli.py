"""Command line of the Observatoire (French help). Every command has a Python API behind it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from observatoire.errors import ValidationError, format_problems
from observatoire.engine.reference import TerritoryCodeError

EXIT_OK, EXIT_INVALID, EXIT_BUILD = 0, 1, 3


def _method_option(labels: dict[str, str]):
    """argparse ``type`` for a method flag: the French label people type (or the method's id)
    → the method's id."""
    ids = {label: method for method, label in labels.items()} | {m: m for m in labels}

    def parse(text: str) -> str:
        if text not in ids:
            raise argparse.ArgumentTypeError(f"invalid choice: '{text}' (choose from {', '.join(labels.values())})")
        return ids[text]

    return parse


def _choices_parser() -> argparse.ArgumentParser:
    """Options of the modelling choices, shared by the commands that compute scores. People
    type the French labels (``--agregation geometrique``); the engine receives method ids."""
    from observatoire.engine import aggregate, impute, normalise

    c = argparse.ArgumentParser(add_help=False)
    g = c.add_argument_group("choix de calcul (par défaut, ceux du livre)")
    g.add_argument("--normalisation", type=_method_option(normalise.LABELS), default="goalposts",
                   metavar="{" + ",".join(normalise.LABELS.values()) + "}",
                   help="méthode de normalisation (défaut : bornes, celles du catalogue)")
    g.add_argument("--agregation", type=_method_option(aggregate.LABELS), default="arithmetic",
                   metavar="{" + ",".join(aggregate.LABELS.values()) + "}",
                   help="moyenne utilisée à chaque niveau (défaut : arithmetique)")
    g.add_argument("--puissance", type=float, default=0.5, metavar="P",
                   help="ordre de la moyenne généralisée (avec --agregation generalisee)")
    g.add_argument("--poids", metavar="FICHIER", help="poids explicites (YAML : indicateurs, communs, axes)")
    g.add_argument("--imputation", type=_method_option(impute.LABELS), default=None,
                   metavar="{" + ",".join(impute.LABELS.values()) + "}",
                   help="imputer les valeurs manquantes (médiane des territoires de même niveau)")
    g.add_argument("--couverture-min", type=float, default=aggregate.DEFAULT_MIN_COVERAGE, metavar="PART",
                   help="part minimale du poids renseignée pour calculer un agrégat (défaut : 0,5)")
    g.add_argument("--couverture-par", choices=list(aggregate.COVERAGE_LABELS.values()), default="poids",
                   help="la couverture compte le poids des enfants renseignés (défaut) ou leur nombre "
                        "(nombre : dat_thresh de COINr)")
    g.add_argument("--score-z", type=float, nargs=2, default=(50.0, 10.0), metavar=("MOYENNE", "ECART_TYPE"),
                   help="moyenne et écart-type du score z (défaut : 50 10 ; COINr : 0 1)")
    g.add_argument("--score-z-sans-ecretage", action="store_true",
                   help="ne pas borner le score z à [0, 100] (comme COINr)")
    g.add_argument("--rang-egalites", choices=list(RANK_TIES_LABELS.values()), default="moyenne",
                   help="rang des ex aequo : moyenne (défaut), min (COINr) ou max")
    g.add_argument("--plancher", type=float, default=aggregate.FLOOR, metavar="P",
                   help="moyenne géométrique et moyennes d'ordre ≤ 0 sur [P, 100] (défaut : 1)")
    g.add_argument("--sans-plancher", action="store_true",
                   help="moyenne géométrique sur les scores tels quels (un zéro l'annule)")
    return c


#: How the rank tie rules are called for people.
RANK_TIES_LABELS = {"average": "moyenne", "min": "min", "max": "max"}


def conventions_from_args(args) -> dict:
    """The conventions chosen on the command line, as keyword arguments of the engine."""
    from observatoire.engine import aggregate
    from observatoire.engine.normalise import Options

    ties = {label: rule for rule, label in RANK_TIES_LABELS.items()}[args.rang_egalites]
    coverage = {label: base for base, label in aggregate.COVERAGE_LABELS.items()}[args.couverture_par]
    options = Options(zscore_mean=args.score_z[0], zscore_sd=args.score_z[1],
                      zscore_clip=None if args.score_z_sans_ecretage else (0.0, 100.0), rank_ties=ties)
    return {"conventions": options, "coverage_by": coverage, "floor": None if args.sans_plancher else args.plancher}


def choices_from_args(args):
    from observatoire.engine.catalogue import load_catalogue
    from observatoire.engine.pipeline import Choices
    from observatoire.engine.weights import EQUAL, load_weights

    weights = EQUAL
    if args.poids:
        cat = load_catalogue()
        weights = load_weights(args.poids, {"indicateurs": set(cat.indicators.index),
                                            "communs": set(cat.communs.index), "axes": set(cat.axes.index)})
    return Choices(normalisation=args.normalisation, aggregation=args.agregation, power=args.puissance,
                   min_coverage=args.couverture_min, imputation=args.imputation, weights=weights,
                   **conventions_from_args(args))


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
        if any(a.startswith("-") and a != "--" for a in sys.argv[2:]) and "FICHIER" in self.format_usage():
            message += ("\n(un nom de fichier qui commence par un tiret s'écrit après « -- » : "
                        f"{self.prog} -- -fichier.csv)")
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog} : erreur : {message}\n")


def add_pilot_data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--donnees", metavar="FICHIER", help="fichier de données des pilotes (CSV ou XLSX) ; "
                        "par défaut leurs statistiques publiques data/pilotes/observations.csv")


def _parser() -> argparse.ArgumentParser:
    choix = _choices_parser()
    p = _FrenchParser(
        prog="observatoire",
        description="Observatoire de la résilience des territoires et des entreprises : "
                    "validation des données, calcul des indicateurs et construction du Livre Blanc vivant.",
    )
    sub = p.add_subparsers(dest="commande", required=True, metavar="COMMANDE", parser_class=_FrenchParser)

    book_parser = sub.add_parser("livre", help="construire le livre HTML (chapitres des territoires pilotes compris)")
    add_pilot_data_option(book_parser)
    book_parser.add_argument("--sortie", metavar="DOSSIER", default=None, help="dossier de construction (défaut : _build)")

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
                          help="fichier de données (CSV ou XLSX) ; par défaut les statistiques "
                               "publiques des pilotes data/pilotes/observations.csv")
    exporter.add_argument("--sortie", metavar="DOSSIER", required=True,
                          help="dossier où écrire resultats.csv, resultats.parquet et datapackage.json")

    composite = sub.add_parser(
        "composite", parents=[choix],
        help="calculer un indicateur composite quelconque : un cadre (une ligne par nœud) et un tableau "
             "unités × indicateurs ; écrit les résultats, le cadre et le journal des choix",
        description="Calcule un indicateur composite sur votre propre cadre (colonnes code, parent, direction, "
                    "et au choix libelle, niveau, poids, normalisation, agregation, bornes…) et vos propres "
                    "unités (territoires, entreprises, pays). Les choix par défaut sont ceux du livre ; "
                    "--normalisation minmax suffit quand le cadre n'a pas de bornes. --poids : un fichier YAML "
                    "code → poids (il remplace les poids du cadre pour les nœuds nommés).")
    composite.add_argument("cadre", metavar="CADRE", help="table du cadre (CSV ou XLSX), une ligne par nœud")
    composite.add_argument("donnees", metavar="DONNEES",
                           help="données (CSV ou XLSX) : une ligne par unité, une colonne par indicateur")
    composite.add_argument("--unite", metavar="COLONNE", default=None,
                           help="colonne des codes d'unité (défaut : la première colonne)")
    composite.add_argument("--groupes", metavar="COLONNE", default=None,
                           help="colonne des groupes d'unités, pour --imputation (sinon : médiane de toutes les unités)")
    composite.add_argument("--sortie", metavar="DOSSIER", required=True,
                           help="dossier où écrire resultats.csv, resultats.parquet, cadre.csv et datapackage.json")

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
                                        "traces d'erreur cachées, noyaux préchauffés, noyau libéré à la fermeture "
                                        "de l'onglet, noyaux inactifs arrêtés) et affiche l'adresse de chaque "
                                        "exercice. Ctrl-C pour arrêter.")
    campus.add_argument("--port", type=int, default=None, help="port d'écoute (défaut : un port libre)")
    campus.add_argument("--hote", action="append", default=[], metavar="NOM",
                        help="nom ou adresse par lequel les apprenants joignent le Campus lors d'une séance "
                             "(accepté en plus de 127.0.0.1 et localhost ; répétable)")
    campus.add_argument("--ecoute", default="127.0.0.1", metavar="ADRESSE",
                        help="interface d'écoute (défaut : 127.0.0.1 ; 0.0.0.0 pour une salle, avec --hote)")
    campus.add_argument("--sans-prechauffage", action="store_true",
                        help="ne pas préparer de noyau d'avance (premier affichage plus lent, moins de mémoire)")
    campus.add_argument("--reserve", type=int, default=1, metavar="N",
                        help="noyaux préparés d'avance par exercice (défaut : 1)")
    campus.add_argument("--max-par-apprenant", type=int, default=6, metavar="N",
                        help="exercices ouverts à la fois par apprenant (défaut : 6)")
    campus.add_argument("--max-noyaux", type=int, default=40, metavar="N",
                        help="exercices ouverts à la fois sur le serveur, tous apprenants confondus (défaut : 40)")
    campus.add_argument("--delai-cellule", type=int, default=120, metavar="SECONDES",
                        help="durée maximale d'exécution d'une cellule à l'affichage (défaut : 120)")
    campus.add_argument("--inactivite", type=float, default=30, metavar="MINUTES",
                        help="arrêter le noyau d'une page inactive depuis ce délai (défaut : 30)")
    campus.add_argument("--delai-orphelin", type=float, default=20, metavar="SECONDES",
                        help="arrêter le noyau d'une page qui n'est plus ouverte dans aucun navigateur (onglet fermé "
                             "sans prévenir, navigateur arrêté) après ce délai (défaut : 20)")
    campus.add_argument("--livre", default=None, metavar="ADRESSE",
                        help="adresse du livre publié, vers laquelle renvoient les bilans quand le livre "
                             "n'est pas construit ici (_build/html)")

    demo = sub.add_parser("demo", help="générer les données de démonstration (valeurs fictives, générateur à graine "
                          "fixe) : territoires fictifs, ou fichiers nationaux fictifs pour les bancs d'essai")
    demo.add_argument("--sortie", metavar="FICHIER", default=None,
                      help="fichier à écrire (défaut : data/demo/fictif.csv pour les territoires fictifs)")
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
    demo.add_argument("--niveau", choices=["fictif", "epci", "commune"], default="fictif",
                      help="fictif (les territoires fictifs, défaut) ; epci ou commune : valeurs fictives pour "
                           "tous les EPCI ou toutes les communes, réservées aux bancs d'essai et aux tests "
                           "(jamais publiées)")

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

    # --- collecter (issue #16): public APIs → a data file in the contract -------------------
    collecter = sub.add_parser(
        "collecter", help="pré-remplir le fichier de données d'un territoire depuis les API publiques "
                          "(Géorisques, Insee, Hub'Eau, data.gouv.fr), avec la provenance de chaque valeur",
        description="Interroge les API publiques pour une commune, un EPCI, un département ou une région (ou tous "
                    "les EPCI avec --niveau epci --tous) et écrit un fichier au format du modèle, plus un fichier des "
                    "indicateurs restant à renseigner. Les réponses sont gardées en cache : relancer reprend où la "
                    "collecte s'était arrêtée. Statut de sortie : 0 complète, 5 partielle, 4 réseau injoignable "
                    "(rien n'est écrit), 1 code invalide.")
    collecter.add_argument("code", metavar="CODE", nargs="?", default=None,
                           help="territoire : 33063, 200046977, DEP-33 ou REG-75")
    collecter.add_argument("--sortie", metavar="FICHIER", default=None,
                           help="fichier CSV à écrire (défaut : collecte-CODE.csv dans le dossier courant)")
    collecter.add_argument("--depuis", metavar="AAAA", type=int, default=None,
                           help="toutes les périodes depuis cette année quand la source a un historique "
                                "(défaut : la dernière période seulement)")
    collecter.add_argument("--niveau", choices=["epci"], default=None,
                           help="avec --tous : collecte nationale de tous les EPCI")
    collecter.add_argument("--tous", action="store_true", help="tous les territoires du niveau (--niveau epci)")
    collecter.add_argument("--rafraichir", action="store_true",
                           help="interroger à nouveau les API au lieu de relire les réponses en cache")
    collecter.add_argument("--cache", metavar="DOSSIER", default=None,
                           help="dossier du cache des réponses (défaut : $OBSERVATOIRE_CACHE ou "
                                "~/.cache/observatoire/collecte)")
    collecter.add_argument("--silencieux", action="store_true", help="sans barre de progression")
    # --- end collecter ------------------------------------------------------------------------
    # --- entreprise (issue #15, point 4): a firm's self-diagnosis -----------------------------
    modele.add_argument("--entreprise", action="store_true",
                        help="écrire le modèle d'autodiagnostic d'une entreprise (CODE : son SIREN, facultatif ; "
                             "défaut : modele-entreprise-SIREN.xlsx)")
    entreprise = sub.add_parser(
        "entreprise", help="vérifier l'autodiagnostic d'une entreprise et afficher son profil "
                           "(indice, piliers, indicateurs, communs)",
        description="Lit le fichier d'autodiagnostic d'une entreprise (CSV ou XLSX, modèle : observatoire modele "
                    "--entreprise), le vérifie (tous les problèmes en une fois) et le note sur le cadre "
                    "data/catalogue/entreprise/cadre.csv : chaque indicateur entre ses bornes, puis des moyennes par "
                    "pilier et pour l'indice.")
    entreprise.add_argument("fichier", metavar="FICHIER", help="fichier d'autodiagnostic (CSV ou XLSX)")
    entreprise.add_argument("--code", metavar="SIREN", default=None,
                            help="entreprise à afficher quand le fichier en contient plusieurs")
    entreprise.add_argument("--demonstration", action="store_true",
                            help="accepter les entreprises fictives (codes FICTIF-…, valeurs inventées) ; implicite "
                                 "pour data/demo/entreprise-fictive.csv")
    # --- end entreprise -----------------------------------------------------------------------
    return p


#: Commands whose FICHIER argument may be a file name beginning with a dash.
_FILE_COMMANDS = ("territoire", "valider", "remonter")


def _files_with_a_dash(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """``valider -données.csv``: argparse would take an existing file whose name begins with a
    dash for an option; such a name is moved after ``--``, which ends the options."""
    if len(argv) < 2 or argv[0] not in _FILE_COMMANDS or "--" in argv:
        return argv
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[argv[0]]
    options = set(sub._option_string_actions)
    dashed = [k for k, a in enumerate(argv[1:], start=1)
              if a.startswith("-") and a.split("=", 1)[0] not in options and Path(a).is_file()
              and argv[k - 1] not in options]
    if len(dashed) != 1:
        return argv
    k = dashed[0]
    return argv[:k] + argv[k + 1:] + ["--", argv[k]]


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(_files_with_a_dash(argv, parser))
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
    except BrokenPipeError:  # the reader stopped reading (« | head »): nothing to say
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 — no error at exit either
        return EXIT_OK
    except OSError as exc:  # a file or folder that cannot be written or read
        where = f" : {exc.filename}" if exc.filename else ""
        print(f"Erreur : opération impossible sur le disque{where} ({exc.strerror or type(exc).__name__})",
              file=sys.stderr)
        return EXIT_INVALID


#: The commands that build a book (HTML, territory, PDF, publication).
BUILD_COMMANDS = ("livre", "territoire", "pdf", "publier")


def _build(args) -> int:
    """The build commands, all through the one build pipeline (observatoire.build.pipeline)."""
    # jsonschema (imported with nbformat by every build) would compile the Lark grammars of
    # rfc3987_syntax, 1.5 s, for two IRI format checks the build never uses. The build's own
    # processes go without them, as where that package is not installed; importing the
    # observatoire package changes nothing for anyone else.
    sys.modules.setdefault("rfc3987_syntax", None)
    from observatoire import paths
    from observatoire.build import pdf, publication
    from observatoire.build.book import build_book
    from observatoire.build.pipeline import BuildError
    from observatoire.build.territory_book import build_territory_book

    try:
        if args.commande == "livre":
            build_book(args.donnees or paths.DEFAULT_DATA, args.sortie or paths.BUILD)
        elif args.commande == "territoire":
            build_territory_book(args.fichier, args.code, args.sortie or paths.BUILD)
        elif args.commande == "pdf":
            pdf.build_pdf(args.donnees or paths.DEFAULT_DATA, args.sortie or pdf.DEFAULT_OUTPUT)
        else:
            publication.publish(args.sortie or publication.DEFAULT_OUTPUT, args.donnees or paths.DEFAULT_DATA,
                                build=not args.sans_construction)
    except (BuildError, pdf.EditionError, publication.PublicationError) as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return EXIT_BUILD
    return EXIT_OK


def _run(args) -> int:
    if args.commande in BUILD_COMMANDS:
        return _build(args)
    if args.commande == "entreprise" or (args.commande == "modele" and args.entreprise):
        return _firm(args)

    if args.commande == "valider":
        from observatoire.engine.validate import validate_file

        from observatoire.text import fr_int

        demonstration = _is_demo_file(args.fichier)
        data = validate_file(args.fichier, demonstration=demonstration)
        v = data.values
        counts = [(len(v), "valeur"), (v["territoire"].nunique(), "territoire"),
                  (v["indicateur"].nunique(), "indicateur")]
        print(f"{args.fichier} est valide : "
              + ", ".join(f"{fr_int(n)} {word}{'s' if n > 1 else ''}" for n, word in counts) + "."
              + (" Fichier de démonstration : territoires fictifs, valeurs inventées." if demonstration else ""))
        if data.warnings:
            print(format_problems(data.warnings))
        return EXIT_OK

    if args.commande == "fiche":
        from observatoire.report.sheet import territory_sheet
        from observatoire.paths import DEFAULT_DATA
        from observatoire.text import fr_number

        data_path = args.donnees or DEFAULT_DATA
        sheet = territory_sheet(args.code, data_path, choices_from_args(args),
                                demonstration=_is_demo_file(data_path))
        t = sheet.territory
        print(f"{t.nom} ({t.code}), {sheet.level_label} — population {fr_number(t.population, 0)}")
        print(f"Indice global : {sheet.index_text()}")
        for axis, said in sheet.axis_texts().items():
            print(f"  Axe « {sheet.catalogue.axis_label(axis)} » : {said}")
        for row in sheet.coverage().itertuples():
            print(f"  Commun « {row.Commun} » : {sheet.score_text(row.Score, row.Renseignés, row.Indicateurs)}")
        if sheet.communs.isna().any():
            rule = sheet.coverage_rule()
            print(f"{rule[0].upper()}{rule[1:]} (option --couverture-min) ; ce qui manque est à renseigner "
                  f"(modèle de fichier : observatoire modele {t.code}).")
        if t.code.startswith("FICTIF-"):
            print("Territoire fictif : valeurs inventées par le générateur de démonstration, pour s'exercer.")
        return EXIT_OK

    if args.commande == "demo":
        from observatoire.engine.catalogue import load_catalogue
        from observatoire.report.demo import DEFAULT_SEED
        from observatoire.engine.load import write_values_csv
        from observatoire.engine.reference import load_reference

        seed = args.graine or DEFAULT_SEED
        if args.niveau == "fictif":
            from observatoire.report.demo import DEMO_DATA, fictional_demo_data

            frame = fictional_demo_data(load_catalogue(), load_reference(), seed)
            args.sortie = args.sortie or str(DEMO_DATA)
        else:
            from observatoire.report.demo import national_demo_data

            frame = national_demo_data(load_catalogue(), load_reference(), args.niveau, seed)
        if not args.sortie:
            print("Erreur : indiquez le fichier à écrire avec --sortie FICHIER", file=sys.stderr)
            return EXIT_INVALID
        Path(args.sortie).parent.mkdir(parents=True, exist_ok=True)
        write_values_csv(frame, args.sortie)
        print(f"{len(frame)} valeurs de démonstration écrites dans {args.sortie}")
        return EXIT_OK
    if args.commande == "remonter":
        from observatoire.engine.catalogue import load_catalogue
        from observatoire.engine.levels import roll_up_long
        from observatoire.engine.load import write_values_csv
        from observatoire.engine.reference import load_reference
        from observatoire.engine.validate import validate_file

        catalogue, reference = load_catalogue(), load_reference()
        data = validate_file(args.fichier, catalogue, reference)
        out = roll_up_long(data.values, catalogue, reference, args.niveau)
        write_values_csv(out, args.sortie)
        print(f"{len(out)} valeurs pour {out['territoire'].nunique()} territoire(s) ({args.niveau}) "
              f"écrites dans {args.sortie} ; la couverture de chaque valeur est dans la colonne commentaire.")
        return EXIT_OK

    if args.commande == "modele":
        return _data_template(args)

    if args.commande == "collecter":
        return _collect(args)

    if args.commande == "campus":
        from observatoire.campus.serve import Options, serve

        return serve(Options(port=args.port, listen=args.ecoute, hosts=tuple(args.hote),
                             preheat=not args.sans_prechauffage, pool_size=args.reserve,
                             cell_timeout=args.delai_cellule, cull_idle=args.inactivite * 60,
                             per_client=args.max_par_apprenant, total=args.max_noyaux,
                             orphan_seconds=args.delai_orphelin, book_url=args.livre))

    if args.commande == "exporter":
        return _export(args)
    if args.commande == "composite":
        return _composite(args)
    if args.commande == "national":
        return _national(args)
    raise AssertionError(args.commande)


def _is_demo_file(path) -> bool:
    """The bundled demonstration file (fictional territories, invented values) is read in
    demonstration mode by every command; any other file must hold real territories."""
    from observatoire import paths

    return Path(path).resolve() == paths.DEMO_DATA.resolve()


def _export(args) -> int:
    """``observatoire exporter [--donnees FICHIER] --sortie DOSSIER``."""
    from observatoire.engine.export import export_scores
    from observatoire.engine.pipeline import score_data_file
    from observatoire.paths import DEFAULT_DATA

    data_path = Path(args.donnees or DEFAULT_DATA)
    demonstration = _is_demo_file(data_path)
    scores = score_data_file(data_path, choices_from_args(args), demonstration=demonstration)[0]
    written = export_scores(scores, args.sortie, data_path, demonstration)
    rows = len(scores.tidy())
    print(f"Résultats exportés dans {args.sortie} : {written['csv'].name} ({rows} lignes), "
          f"{written['parquet'].name} et {written['datapackage'].name} (licence Ouverte 2.0).")
    return EXIT_OK


def _composite(args) -> int:
    """``observatoire composite CADRE DONNEES --sortie DOSSIER``: the public API on any framework."""
    import pandas as pd

    from observatoire.engine import Coin, read_framework
    from observatoire.engine.load import LINE, read_table
    from observatoire.engine.validate import parse_number
    from observatoire.errors import Problem
    from observatoire.text import fr_number

    framework = read_framework(args.cadre)
    table = read_table(args.donnees)
    rows = table.rows.drop(columns=LINE)
    unit = args.unite or rows.columns[0]
    if unit not in rows.columns:
        raise ValidationError([Problem(table.path, 1, unit, None, "colonne des unités introuvable")])
    problems, data = [], {}
    for column in framework.indicators.intersection(rows.columns, sort=False):
        values = []
        for line, text in zip(table.rows[LINE], rows[column]):
            number = parse_number(text) if text else None
            if text and number is None:
                problems.append(Problem(table.path, int(line), column, text, "nombre attendu"))
            values.append(float("nan") if number is None else number)
        data[column] = values
    if problems:
        raise ValidationError(problems)
    missing = [i for i in framework.indicators if i not in rows.columns]
    if missing:
        raise ValidationError([Problem(table.path, 1, None, ", ".join(missing),
                                       "indicateur(s) du cadre absent(s) des colonnes des données")])
    if args.groupes and args.groupes not in rows.columns:
        raise ValidationError([Problem(table.path, 1, args.groupes, None, "colonne des groupes introuvable")])
    index = pd.Index(rows[unit], name=unit)
    groups = pd.Series(rows[args.groupes].to_numpy(), index=index) if args.groupes else None
    coin = Coin(framework, pd.DataFrame(data, index=index), groups=groups)
    if args.imputation:
        coin.impute("group_median" if groups is not None else "median")
    conventions = conventions_from_args(args)
    coin.normalise(args.normalisation, conventions["conventions"])
    weights = None
    if args.poids:
        import yaml

        weights = yaml.safe_load(Path(args.poids).read_text(encoding="utf-8")) or {}
        if not isinstance(weights, dict):
            raise ValidationError([Problem(args.poids, None, None, None, "un dictionnaire YAML code → poids est attendu")])
        weights = {str(k): v for k, v in weights.items()}
    coin.aggregate(args.agregation, args.puissance, weights, args.couverture_min, conventions["coverage_by"],
                   conventions["floor"])
    written = coin.export(args.sortie)
    results = coin.results()
    root = framework.roots[0]
    print(f"{len(coin.units)} unités, {len(framework.indicators)} indicateurs, {len(framework.levels)} niveaux : "
          f"résultats dans {written['csv'].parent} (journal des choix dans {written['datapackage'].name}).")
    for unit_code, row in results.head(10).iterrows():
        rank = "n.d." if pd.isna(row["rang"]) else str(int(row["rang"]))
        score = "n.d." if pd.isna(row[root]) else fr_number(row[root])
        print(f"  {rank:>4}  {unit_code} : {score}")
    return EXIT_OK


def _national(args) -> int:
    """``observatoire national``."""
    from observatoire.national.site import LEVEL_TEXT, run_national
    from observatoire.text import fr_number

    report = run_national(args.donnees, args.niveau, args.sortie, args.processus, args.scheduler, args.limite,
                          choices_from_args(args), args.tirages, progress=not args.silencieux)
    text = LEVEL_TEXT[report.level]
    print(f"{report.territories} {text['pluriel']} : {report.rendered} page(s) rendue(s), {report.skipped} "
          f"inchangée(s) ; {report.summaries} pages de synthèse ; {fr_number(report.seconds)} s "
          f"({report.executor}).")
    print(f"Ouvrir : {Path(report.output).resolve() / 'index.html'}")
    return EXIT_OK


def _data_template(args) -> int:
    """``observatoire modele [CODE] [--sortie FICHIER]``: write a template, tell what it holds."""
    from observatoire.engine.catalogue import load_catalogue
    from observatoire.engine.reference import load_reference
    from observatoire.report.data_template import SUFFIXES, default_output, territory_facts, write_template
    from observatoire.text import fr_int

    reference = load_reference()
    territory = reference.territory(args.code) if args.code else None
    path = Path(args.sortie) if args.sortie else default_output(territory.code if territory else None)
    if path.suffix.lower() not in SUFFIXES:
        print(f"Erreur : extension « {path.suffix or '(aucune)'} » non prise en charge pour {path} : "
              "choisissez un fichier .xlsx ou .csv", file=sys.stderr)
        return EXIT_INVALID
    path.parent.mkdir(parents=True, exist_ok=True)
    catalogue = load_catalogue()
    write_template(territory.code if territory else None, path, catalogue, reference)
    n = fr_int(len(catalogue.indicators))
    if territory is None:
        print(f"Modèle générique écrit dans {path} : {n} indicateurs à renseigner ; "
              "inscrivez le code du territoire dans la colonne territoire.")
    else:
        print(f"Modèle écrit dans {path} : {n} indicateurs à renseigner pour "
              f"{territory.nom} ({territory.code}).")
        for label, value in territory_facts(territory, reference)[2:]:
            print(f"  {label} : {value}")
    print("Remplissez la colonne valeur (supprimez les lignes sans valeur), puis vérifiez le fichier : "
          f"observatoire valider {path}")
    return EXIT_OK


# --- collecter (issue #16) ----------------------------------------------------------------------
EXIT_OFFLINE, EXIT_PARTIAL = 4, 5


def _collect(args) -> int:
    """``observatoire collecter CODE [--sortie F] [--depuis AAAA]`` or ``--niveau epci --tous``."""
    from observatoire.connectors import collect
    from observatoire.connectors.http import default_cache_directory
    from observatoire.engine.catalogue import load_catalogue
    from observatoire.engine.reference import load_reference
    from observatoire.engine.validate import FIRST_OBSERVED_YEAR, LAST_OBSERVED_YEAR

    if args.tous != (args.niveau is not None):
        print("Erreur : la collecte nationale s'écrit « observatoire collecter --niveau epci --tous »", file=sys.stderr)
        return EXIT_INVALID
    if args.tous and args.code:
        print(f"Erreur : donnez soit un code de territoire ({args.code}), soit --niveau epci --tous, pas les deux",
              file=sys.stderr)
        return EXIT_INVALID
    if not args.tous and not args.code:
        print("Erreur : indiquez le territoire, par exemple « observatoire collecter 200046977 » "
              "(ou --niveau epci --tous pour tous les EPCI)", file=sys.stderr)
        return EXIT_INVALID
    if args.depuis is not None and not FIRST_OBSERVED_YEAR <= args.depuis <= LAST_OBSERVED_YEAR:
        print(f"Erreur : --depuis {args.depuis} : attendu une année entre {FIRST_OBSERVED_YEAR} et "
              f"{LAST_OBSERVED_YEAR}", file=sys.stderr)
        return EXIT_INVALID
    reference = load_reference()
    if args.code:
        territory = reference.territory(args.code)  # TerritoryCodeError: French message, exit 1
        name = territory.code
    else:
        name = "epci"
    output = Path(args.sortie) if args.sortie else Path(f"collecte-{name}.csv")
    if output.suffix.lower() != ".csv":
        print(f"Erreur : {output} : la collecte écrit un fichier .csv", file=sys.stderr)
        return EXIT_INVALID
    catalogue = load_catalogue()
    try:
        result = collect.collect(args.code, output, catalogue, reference, every_epci=args.tous, since=args.depuis,
                                 cache_directory=Path(args.cache) if args.cache else default_cache_directory(),
                                 refresh=args.rafraichir, progress=not args.silencieux)
    except KeyboardInterrupt:
        print("\nCollecte interrompue : rien n'a été écrit. Les réponses déjà reçues sont en cache : relancez la même "
              "commande pour reprendre.", file=sys.stderr)
        return 130
    print(collect.summary(result, catalogue))
    if result.status == collect.OFFLINE:
        return EXIT_OFFLINE
    if result.status in (collect.PARTIAL, collect.EMPTY):
        return EXIT_PARTIAL
    return EXIT_OK
# --- end collecter ------------------------------------------------------------------------------


# --- entreprise (issue #15, point 4): a firm's self-diagnosis -----------------------------------


def _firm(args) -> int:
    """``observatoire entreprise FICHIER [--code SIREN]`` and ``observatoire modele --entreprise [SIREN]``."""
    if args.commande == "modele":
        return _firm_template(args)
    from observatoire.engine.firm import DEMO_PATH, load_firm_framework, score_firms, validate_firm_file

    demonstration = args.demonstration or Path(args.fichier).resolve() == DEMO_PATH.resolve()
    framework = load_firm_framework()
    data = validate_firm_file(args.fichier, framework, demonstration)
    scores = score_firms(data, framework)
    if data.warnings:
        print(format_problems(data.warnings))
    if args.code is None and len(scores.firms) > 1:
        _print_firm_ranking(scores)
        return EXIT_OK
    _print_firm_profile(scores.profile(args.code))
    return EXIT_OK


def _firm_template(args) -> int:
    from observatoire.report.firm_template import SUFFIXES, canonical_siren, default_output, write_firm_template

    code = canonical_siren(args.code) if args.code else None
    path = Path(args.sortie) if args.sortie else default_output(code)
    if path.suffix.lower() not in SUFFIXES:
        print(f"Erreur : extension « {path.suffix or '(aucune)'} » non prise en charge pour {path} : "
              "choisissez un fichier .xlsx ou .csv", file=sys.stderr)
        return EXIT_INVALID
    path.parent.mkdir(parents=True, exist_ok=True)
    write_firm_template(path, code)
    whom = f"pour l'entreprise {code}" if code else "générique : inscrivez le SIREN dans la colonne entreprise"
    print(f"Modèle d'autodiagnostic écrit dans {path} ({whom}).")
    print("Remplissez la colonne valeur (supprimez les lignes sans objet), puis vérifiez et calculez : "
          f"observatoire entreprise {path}")
    return EXIT_OK


def _fr_value(x: float) -> str:
    """A raw value as typed: no useless decimals (« 40 », « 41,5 »)."""
    from observatoire.text import fr_number

    for decimals in range(0, 4):
        if round(x, decimals) == round(x, 6):
            return fr_number(x, decimals)
    return fr_number(x, 3)


def _print_firm_ranking(scores) -> None:
    from observatoire.text import fr_number

    results = scores.coin.results()
    root = scores.framework.root
    print(f"{len(scores.firms)} entreprises dans le fichier ; indice « {scores.framework.framework.labels[root]} » :")
    for code, row in results.iterrows():
        print(f"  {code} : {fr_number(row[root])} / 100")
    print("Profil détaillé d'une entreprise : ajoutez --code SIREN.")


def _print_firm_profile(profile) -> None:
    from observatoire.text import fr_number

    name = f"{profile.name} ({profile.code}) — entreprise fictive, valeurs inventées" if profile.name else profile.code
    print(name)
    n = len(profile.indicators)
    years = sorted({str(y) for y in profile.indicators["periode"].dropna()})
    print(f"Autodiagnostic : {profile.filled} indicateur(s) renseigné(s) sur {n}"
          + (f" (année{'s' if len(years) > 1 else ''} {', '.join(years)})" if years else ""))
    print(f"{profile.index_label} : {fr_number(profile.index)} / 100")
    for pillar, row in profile.pillars.iterrows():
        print(f"  Pilier « {row['libelle']} » : {fr_number(row['score'])}")
        for code, ind in profile.indicators[profile.indicators["pilier"] == pillar].iterrows():
            if ind["valeur"] != ind["valeur"]:  # NaN: not filled
                print(f"    {ind['libelle']} : non renseigné")
                continue
            print(f"    {ind['libelle']} : {_fr_value(ind['valeur'])} {ind['unite']} ({ind['periode']}) "
                  f"→ {fr_number(ind['score'])}")
    print("Par commun du territoire (moyenne des scores des indicateurs qui y sont rattachés) :")
    for _commun, row in profile.communs.iterrows():
        k = int(row["indicateurs"])
        print(f"  {row['libelle']} : {fr_number(row['score'])} ({k} indicateur{'s' if k > 1 else ''})")
# --- end entreprise -----------------------------------------------------------------------------
