"""Evaluation data sets in one standard folder format, and converters into it (pure).

Standard DIR format (what ``manage.py recsys_evaluate --data DIR`` reads):

* ``interactions.csv``: ``user_id,item_id,timestamp[,weight]``; the timestamp is ISO-8601
  or a number (unix seconds, or any orderable number such as a sequence position);
* ``items.csv``: ``item_id`` and any of ``title,brand,category,price,description``; any
  other column is a categorical feature (``a|b`` holds several values);
* ``users.csv`` (optional): ``user_id`` and categorical columns.

Converters for the shared public data sets write that format into a folder you name (keep it
outside git, e.g. under /tmp)::

    python -m recsys.datasets convert ml-100k /work/shared/data/ml-100k /tmp/eval/ml-100k
    python -m recsys.datasets convert online_retail /work/shared/data/online_retail /tmp/eval/online_retail
    python -m recsys.datasets convert amazon_scientific /work/shared/data/amazon_scientific /tmp/eval/amazon

Choices made by the converters (so the numbers can be reproduced and judged):

* MovieLens 100K: ratings of 4 or 5 are interactions (implicit positives, as LightFM's own
  ``fetch_movielens(min_rating=4)`` does); items get title, genres, release decade; users get
  age band, gender, occupation and the first zip digit.
* Online Retail: invoice lines with a customer id, positive quantity and price, and not a
  cancellation (InvoiceNo starting with C); one row per line; items get the most frequent
  description as title and the median unit price; users get their country.
* Amazon Industrial & Scientific: ``seq_pos`` (the order of a user's reviews) is used as the
  timestamp, so ``time`` splits on that order; ``categories`` becomes the category path.
"""

from __future__ import annotations

import csv
import gzip
import os
import statistics
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

csv.field_size_limit(sys.maxsize)


@dataclass
class InteractionDataset:
    user_ids: np.ndarray
    item_ids: np.ndarray
    timestamps: np.ndarray
    weights: np.ndarray | None = None
    items: list[dict] = field(default_factory=list)
    users: list[dict] = field(default_factory=list)
    name: str = ""

    def __len__(self) -> int:
        return len(self.user_ids)

    def subset(self, mask: np.ndarray) -> InteractionDataset:
        return InteractionDataset(
            user_ids=self.user_ids[mask],
            item_ids=self.item_ids[mask],
            timestamps=self.timestamps[mask],
            weights=None if self.weights is None else self.weights[mask],
            items=self.items,
            users=self.users,
            name=self.name,
        )


def parse_timestamp(value: str) -> float:
    """ISO-8601 (naive = UTC) or a number -> float seconds (or the number itself)."""
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def load_dir(path: str | os.PathLike) -> InteractionDataset:
    """Read a standard DIR (see module docstring). Raises ValueError on a malformed file."""
    path = Path(path)
    users, items, stamps, weights = [], [], [], []
    with open(path / "interactions.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"user_id", "item_id", "timestamp"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"interactions.csv lacks columns: {', '.join(sorted(missing))}")
        has_weight = "weight" in (reader.fieldnames or [])
        cache: dict[str, float] = {}
        for line, row in enumerate(reader, start=2):
            users.append(row["user_id"])
            items.append(row["item_id"])
            raw = row["timestamp"]
            ts = cache.get(raw)
            if ts is None:
                try:
                    ts = cache[raw] = parse_timestamp(raw)
                except ValueError as exc:
                    raise ValueError(
                        f"interactions.csv line {line}: bad timestamp {raw!r}"
                    ) from exc
            stamps.append(ts)
            if has_weight:
                weights.append(float(row["weight"] or 1.0))
    item_rows = _read_records(path / "items.csv", "item_id")
    for record in item_rows:
        price = record.get("price")
        if price not in (None, ""):
            try:
                record["price"] = float(price)
            except ValueError:
                record.pop("price")
    user_rows = (
        _read_records(path / "users.csv", "user_id") if (path / "users.csv").exists() else []
    )
    return InteractionDataset(
        user_ids=np.asarray(users, dtype=object),
        item_ids=np.asarray(items, dtype=object),
        timestamps=np.asarray(stamps, dtype=np.float64),
        weights=np.asarray(weights, dtype=np.float64) if weights else None,
        items=item_rows,
        users=user_rows,
        name=path.name,
    )


def _read_records(path: Path, key: str) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if key not in (reader.fieldnames or []):
            raise ValueError(f"{path.name} lacks the {key} column")
        return [{k: v for k, v in row.items() if v not in (None, "")} for row in reader]


def _write(path: Path, header: list[str], rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


# ---------------------------------------------------------------- converters


def convert_ml100k(src: Path, out: Path) -> None:
    genres = [
        line.split("|")[0] for line in (src / "u.genre").read_text("latin-1").splitlines() if line
    ]
    rows = []
    for line in (src / "u.data").read_text("latin-1").splitlines():
        user, item, rating, ts = line.split("\t")
        if int(rating) >= 4:
            rows.append((user, item, ts))
    _write(out / "interactions.csv", ["user_id", "item_id", "timestamp"], rows)
    items = []
    for line in (src / "u.item").read_text("latin-1").splitlines():
        parts = line.split("|")
        if len(parts) < 6:
            continue
        title = parts[1]
        year = title[-5:-1] if title.endswith(")") and title[-5:-1].isdigit() else ""
        flags = parts[5:]
        names = [genres[i] for i, flag in enumerate(flags) if flag == "1" and i < len(genres)]
        decade = f"{year[:3]}0s" if year else ""
        items.append((parts[0], title, "|".join(names), decade))
    _write(out / "items.csv", ["item_id", "title", "genres", "decade"], items)
    users = []
    for line in (src / "u.user").read_text("latin-1").splitlines():
        user, age, gender, occupation, zipcode = line.split("|")
        band = f"{(int(age) // 10) * 10}s"
        users.append((user, band, gender, occupation, zipcode[:1]))
    _write(out / "users.csv", ["user_id", "age", "gender", "occupation", "zip1"], users)


def convert_online_retail(src: Path, out: Path) -> None:
    rows = []
    titles: dict[str, Counter] = defaultdict(Counter)
    prices: dict[str, list[float]] = defaultdict(list)
    countries: dict[str, str] = {}
    with gzip.open(src / "online_retail.csv.gz", "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            customer = (row.get("CustomerID") or "").strip()
            if not customer or row["InvoiceNo"].startswith("C"):
                continue
            try:
                quantity = float(row["Quantity"])
                price = float(row["UnitPrice"])
            except ValueError:
                continue
            if quantity <= 0 or price <= 0:
                continue
            customer = customer.split(".")[0]
            item = row["StockCode"].strip().upper()
            stamp = datetime.strptime(row["InvoiceDate"], "%Y-%m-%d %H:%M").isoformat()
            rows.append((customer, item, stamp))
            if row.get("Description"):
                titles[item][row["Description"].strip()] += 1
            prices[item].append(price)
            countries[customer] = row.get("Country") or ""
    _write(out / "interactions.csv", ["user_id", "item_id", "timestamp"], rows)
    _write(
        out / "items.csv",
        ["item_id", "title", "price"],
        (
            (item, titles[item].most_common(1)[0][0] if titles[item] else "", statistics.median(p))
            for item, p in prices.items()
        ),
    )
    _write(out / "users.csv", ["user_id", "country"], sorted(countries.items()))


def convert_amazon_scientific(src: Path, out: Path) -> None:
    with open(src / "interactions.csv", newline="", encoding="utf-8") as fh:
        rows = [(r["user_id"], r["item_id"], r["seq_pos"]) for r in csv.DictReader(fh)]
    _write(out / "interactions.csv", ["user_id", "item_id", "timestamp"], rows)
    items = []
    with open(src / "items.csv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            path = " > ".join(
                c.strip() for c in (r.get("categories") or "").split(",") if c.strip()
            )
            items.append(
                (
                    r["item_id"],
                    r.get("title", ""),
                    r.get("brand", ""),
                    path,
                    r.get("description", ""),
                )
            )
    _write(out / "items.csv", ["item_id", "title", "brand", "category", "description"], items)


CONVERTERS = {
    "ml-100k": convert_ml100k,
    "online_retail": convert_online_retail,
    "amazon_scientific": convert_amazon_scientific,
}


def convert(kind: str, src: str | os.PathLike, out: str | os.PathLike) -> Path:
    if kind not in CONVERTERS:
        raise ValueError(f"unknown data set {kind!r}; known: {', '.join(CONVERTERS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    CONVERTERS[kind](Path(src), out)
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] != "convert":
        print(
            "usage: python -m recsys.datasets convert {" + "|".join(CONVERTERS) + "} SRC OUTDIR",
            file=sys.stderr,
        )
        return 2
    out = convert(argv[1], argv[2], argv[3])
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
