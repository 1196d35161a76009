"""Fit the article/non-article trees of crawler/classify.py on wcxb-dev's TUNING part.

Computes ``page_features`` for every tuning page (the held-out part is never read here),
and prints the figures of a 5-fold cross-validation on the tuning part (so the choice of
features, model size and threshold is never judged on the pages it was fitted to) for
gradient-boosted trees (histogram splits, numpy, written here). ``--write FILE`` fits the
trees on every tuning page and writes the model crawler/classify.py loads, with the
threshold given.

    .venv/bin/python -m bench.classify_fit [--rounds 300 --depth 3 --rate 0.1]
    .venv/bin/python -m bench.classify_fit --threshold 0.5 --write crawler/classify_model.json

``--cache FILE`` keeps the computed features (an .npz) so that runs with other model sizes
need not recompute them; delete it after changing ``page_features``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bench import realworld


def tuning_features(cache: Path | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(features, is-article, feature names) of the tuning part, in sorted file order."""
    if cache is not None and cache.exists():
        data = np.load(cache, allow_pickle=False)
        return data["x"], data["y"], [str(n) for n in data["names"]]
    from crawler.classify import _parse, page_features

    pages = [p for p in realworld.wcxb_pages() if p.part == "tuning"]
    rows = []
    for p in pages:
        tree = _parse(p.html)
        rows.append(page_features(tree, p.url) if tree is not None else {})
    names = sorted({k for r in rows for k in r})
    x = np.array([[r.get(n, 0.0) for n in names] for r in rows])
    y = np.array([1.0 if p.truth["page_type"] == "article" else 0.0 for p in pages])
    if cache is not None:
        np.savez(cache, x=x, y=y, names=np.array(names))
    return x, y, names


class Booster:
    """Gradient-boosted trees for the log-loss, splits chosen on quantile bins.

    A tree is ``(feature, threshold, left, right)`` or a leaf value; a row goes left when
    its feature is <= the threshold, as crawler/classify.py evaluates it.
    """

    def __init__(self, rounds=300, depth=3, rate=0.1, lam=1.0, min_hess=1.0, colsample=1.0,
                 subsample=1.0, bins=32, seed=0):
        self.rounds, self.depth, self.rate, self.lam = rounds, depth, rate, lam
        self.min_hess, self.colsample, self.subsample, self.bins = min_hess, colsample, subsample, bins
        self.seed = seed
        self.trees: list = []

    def _bin(self, x):
        self.cuts = [np.unique(np.quantile(x[:, j], np.linspace(0, 1, self.bins + 1)[1:-1]))
                     for j in range(x.shape[1])]
        return np.stack([np.searchsorted(c, x[:, j], side="left") for j, c in enumerate(self.cuts)], axis=1)

    def _split(self, xb, g, h, idx, features):
        nb = self.bins
        sub = xb[idx][:, features]
        flat = (sub + np.arange(len(features)) * nb).ravel()
        gh = np.bincount(flat, weights=np.repeat(g[idx], len(features)), minlength=nb * len(features))
        hh = np.bincount(flat, weights=np.repeat(h[idx], len(features)), minlength=nb * len(features))
        gl = np.cumsum(gh.reshape(len(features), nb), axis=1)[:, :-1]
        hl = np.cumsum(hh.reshape(len(features), nb), axis=1)[:, :-1]
        G, H = g[idx].sum(), h[idx].sum()
        gr, hr = G - gl, H - hl
        gain = gl ** 2 / (hl + self.lam) + gr ** 2 / (hr + self.lam) - G ** 2 / (H + self.lam)
        gain[(hl < self.min_hess) | (hr < self.min_hess)] = 0.0
        k = int(np.argmax(gain))
        fi, b = divmod(k, nb - 1)
        if gain.flat[k] <= 1e-9:
            return None
        return features[fi], b

    def _tree(self, xb, g, h, idx, depth, features):
        leaf = -g[idx].sum() / (h[idx].sum() + self.lam)
        if depth == 0 or len(idx) < 2:
            return leaf
        found = self._split(xb, g, h, idx, features)
        if found is None:
            return leaf
        j, b = found
        if b >= len(self.cuts[j]):
            return leaf
        go_left = xb[idx, j] <= b
        return (j, b, self._tree(xb, g, h, idx[go_left], depth - 1, features),
                self._tree(xb, g, h, idx[~go_left], depth - 1, features))

    @staticmethod
    def _apply_binned(node, xb, rows):
        out = np.zeros(len(rows))
        stack = [(node, np.arange(len(rows)))]
        while stack:
            node, sel = stack.pop()
            if not isinstance(node, tuple):
                out[sel] = node
                continue
            j, b, left, right = node
            go = xb[rows[sel], j] <= b
            stack.append((left, sel[go]))
            stack.append((right, sel[~go]))
        return out

    def fit(self, x, y):
        rng = np.random.default_rng(self.seed)
        xb = self._bin(x)
        f = np.zeros(len(y))
        rows = np.arange(len(y))
        n_features = x.shape[1]
        self.trees = []
        for _ in range(self.rounds):
            p = 1 / (1 + np.exp(-f))
            g, h = p - y, p * (1 - p)
            idx = rows if self.subsample >= 1 else np.sort(rng.choice(rows, int(self.subsample * len(rows)), replace=False))
            features = (np.arange(n_features) if self.colsample >= 1 else
                        np.sort(rng.choice(n_features, max(1, int(self.colsample * n_features)), replace=False)))
            tree = self._tree(xb, g, h, idx, self.depth, features)
            self.trees.append(tree)
            f += self.rate * self._apply_binned(tree, xb, rows)
        return self

    def plain_trees(self, names: list[str]) -> list:
        """The trees with feature names and real thresholds (the JSON crawler/classify.py reads)."""
        def plain(node):
            if isinstance(node, tuple):
                j, b, left, right = node
                return [names[j], round(float(self.cuts[j][b]), 6), plain(left), plain(right)]
            return round(float(node), 6)
        return [plain(t) for t in self.trees]

    def margin(self, x):
        z = np.zeros(len(x))
        for tree in self.trees:
            for i, row in enumerate(x):
                node = tree
                while isinstance(node, tuple):
                    j, b, left, right = node
                    node = left if row[j] <= self.cuts[j][b] else right
                z[i] += self.rate * node
        return z


def cross_validate(x, y, folds=5, **params) -> np.ndarray:
    """Out-of-fold article probabilities (fold = index % folds)."""
    fold = np.arange(len(y)) % folds
    pred = np.zeros(len(y))
    for k in range(folds):
        model = Booster(**params).fit(x[fold != k], y[fold != k])
        pred[fold == k] = 1 / (1 + np.exp(-model.margin(x[fold == k])))
    return pred


def precision_recall(pred, y, threshold):
    hit = pred >= threshold
    tp, fp, fn = (hit & (y == 1)).sum(), (hit & (y == 0)).sum(), (~hit & (y == 1)).sum()
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--rate", type=float, default=0.1)
    parser.add_argument("--lam", type=float, default=1.0)
    parser.add_argument("--min-hess", type=float, default=1.0)
    parser.add_argument("--colsample", type=float, default=1.0)
    parser.add_argument("--subsample", type=float, default=1.0)
    parser.add_argument("--drop", default="", help="comma-separated features to leave out")
    parser.add_argument("--threshold", type=float, default=0.5, help="threshold written with --write")
    parser.add_argument("--cache", type=Path, help="keep computed features in this .npz")
    parser.add_argument("--no-cv", action="store_true", help="skip the cross-validation")
    parser.add_argument("--write", type=Path, help="fit on all tuning pages, write the model JSON")
    args = parser.parse_args(argv)
    if not realworld.available(realworld.WCXB):
        print(f"classify_fit: {realworld.WCXB} not found", file=sys.stderr)
        return 2
    x, y, names = tuning_features(args.cache)
    drop = {d for d in args.drop.split(",") if d}
    keep = [i for i, n in enumerate(names) if n not in drop]
    x, names = x[:, keep], [names[i] for i in keep]
    params = dict(rounds=args.rounds, depth=args.depth, rate=args.rate, lam=args.lam,
                  min_hess=args.min_hess, colsample=args.colsample, subsample=args.subsample)
    print(f"{len(y)} tuning pages ({int(y.sum())} articles), {len(names)} features, {params}")
    if not args.no_cv:
        pred = cross_validate(x, y, **params)
        for t in (0.3, 0.4, 0.5, 0.6, 0.7):
            p, r = precision_recall(pred, y, t)
            print(f"5-fold CV on tuning, threshold {t}: P {p:.3f} R {r:.3f}")
    if args.write:
        model = Booster(**params).fit(x, y)
        data = {"fitted_on": "wcxb-dev tuning part (sorted index % 5 != 4)", "rate": model.rate,
                "depth": model.depth, "threshold": args.threshold, "trees": model.plain_trees(names)}
        args.write.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"wrote {len(model.trees)} trees to {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
