#!/usr/bin/env python3
"""Recipe for subdivisions.tsv: ISO 3166-2 subdivision codes, their names and their French
names, as the Debian iso-codes project publishes them, from the PyPI package pycountry
(which ships iso-codes' JSON database and gettext catalogues).

    python3 -m pip download pycountry==26.2.16 --no-deps -d /tmp/pyc
    cd /tmp/pyc && unzip -q pycountry-26.2.16-py3-none-any.whl -d x
    python3 build.py /tmp/pyc/x/pycountry > subdivisions.tsv

standort uses the French names to give ISO codes to the Natural Earth admin-1 polygons of the
data directory (whose `name` field holds French labels), and the codes and ISO names to
resolve `standort region JP-27`, `region Osaka`, `region Bayern`.
"""
import gettext
import json
import sys
from pathlib import Path

root = Path(sys.argv[1])
subs = json.loads((root / "databases" / "iso3166-2.json").read_text(encoding="utf-8"))["3166-2"]
fr = gettext.GNUTranslations(open(root / "locales" / "fr" / "LC_MESSAGES" / "iso3166-2.mo", "rb"))
print("code\tname\tname_fr\ttype\tparent")
for s in sorted(subs, key=lambda s: s["code"]):
    name = s["name"]
    french = fr.gettext(name)
    clean = lambda x: x.replace("\t", " ").strip()
    print("\t".join([s["code"], clean(name), clean(french) if french != name else "", clean(s["type"]), s.get("parent", "")]))
