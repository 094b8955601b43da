"""The PDF edition (make pdf): a first build (singlehtml book from scratch, then the chromium
print) and a second one with nothing changed (Sphinx environment and pilot chapters reused), in a
scratch folder under _build so that the real _build/pdf is left alone."""

from __future__ import annotations

import contextlib
import io
import tempfile
import time
from pathlib import Path

from observatoire.build import pdf
from observatoire.paths import DEFAULT_DATA, ROOT


def run():
    (ROOT / "_build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".bench-pdf-", dir=ROOT / "_build") as tmp:
        out = Path(tmp) / "pdf" / pdf.PDF_NAME
        for label in ("première construction (livre en une page + impression)",
                      "reconstruction sans changement (environnement Sphinx réutilisé)"):
            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                pdf.build_pdf(DEFAULT_DATA, out)
            yield {"mesure": f"make pdf, {label}", "valeur": time.perf_counter() - started, "unite": "s"}
        from pypdf import PdfReader

        yield {"mesure": "pages de l'édition PDF", "valeur": float(len(PdfReader(str(out)).pages)), "unite": "pages"}
        yield {"mesure": "taille de l'édition PDF", "valeur": out.stat().st_size / 1e6, "unite": "Mo"}
