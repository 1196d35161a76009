"""Fit the article/non-article trees of crawler/classify.py on wcxb-dev's TUNING part.

Computes ``page_features`` for every tuning page (the held-out part is never read here),
and prints the figures of a 5-fold cross-validation on the tuning part (so the choice of
features, model size and threshold is never judged on the pages it was fitted to) for
gradient-boosted trees (histogram splits, numpy, written here). ``--write FILE`` fits the
trees on every tuning page and writes the model crawler/classify.py loads, with the
threshold given.

    .venv/bin/python -m bench.classify_fit [--rounds 400 --depth 2 --colsample 0.5 ...]
    .venv/bin/python -m bench.classify_fit --cache /tmp/f.npz --write crawler/classify_model.json

``--cache FILE`` keeps the computed features (an .npz) so that runs with other model sizes
need not recompute them; delete it after changing ``page_features``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

# One BLAS thread: the word regression's many small products run slower, not faster, with threads
# contending for a few shared cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402 - after the thread setting

from bench import realworld


@dataclass
class Tuning:
    """The tuning part's measurements, in sorted file order."""

    x: np.ndarray  # page_features, one column per name
    y: np.ndarray  # 1 for an article
    names: list[str]
    words: list[set[str]]  # the words page_features collects
    hosts: list[str]


def tuning_features(cache: Path | None = None) -> Tuning:
    if cache is not None and cache.exists():
        data = np.load(cache, allow_pickle=False)
        extra = json.loads(str(data["extra"]))
        return Tuning(data["x"], data["y"], [str(n) for n in data["names"]],
                      [set(w) for w in extra["words"]], extra["hosts"])
    from crawler.classify import _parse, page_features

    pages = [p for p in realworld.wcxb_pages() if p.part == "tuning"]
    rows, words = [], []
    for p in pages:
        tree = _parse(p.html)
        bag: set[str] = set()
        rows.append(page_features(tree, p.url, bag) if tree is not None else {})
        words.append(bag)
    names = sorted({k for r in rows for k in r})
    x = np.array([[r.get(n, 0.0) for n in names] for r in rows])
    y = np.array([1.0 if p.truth["page_type"] == "article" else 0.0 for p in pages])
    hosts = [(urlsplit(p.url).hostname or "").removeprefix("www.") for p in pages]
    if cache is not None:
        extra = json.dumps({"words": [sorted(w) for w in words], "hosts": hosts})
        np.savez(cache, x=x, y=y, names=np.array(names), extra=np.array(extra))
    return Tuning(x, y, names, words, hosts)


def fit_words(words: list[set[str]], hosts: list[str], y: np.ndarray, l2: float = 3.0,
              min_hosts: int = 4) -> dict[str, float]:
    """Logistic regression over the words seen on at least ``min_hosts`` sites (so that no
    weight is one site's template); {"": bias, word: weight}."""
    from scipy.optimize import minimize
    from scipy.sparse import csr_matrix

    seen: dict[str, set[str]] = defaultdict(set)
    for bag, host in zip(words, hosts):
        for w in bag:
            seen[w].add(host)
    vocab = sorted(w for w, where in seen.items() if len(where) >= min_hosts)
    index = {w: i for i, w in enumerate(vocab)}
    rows, cols = [], []
    for row, bag in enumerate(words):
        for c in [0] + [index[w] + 1 for w in bag if w in index]:
            rows.append(row)
            cols.append(c)
    m = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(y), len(vocab) + 1))

    def loss(w):
        z = m @ w
        p = 1 / (1 + np.exp(-z))
        value = np.sum(np.logaddexp(0, z) - y * z) + 0.5 * l2 * np.sum(w[1:] ** 2)
        grad = m.T @ (p - y)
        grad[1:] += l2 * w[1:]
        return value, grad

    w = minimize(loss, np.zeros(m.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 500}).x
    model = {"": round(float(w[0]), 4)}
    model.update({v: round(float(wt), 4) for v, wt in zip(vocab, w[1:]) if abs(wt) >= 0.02})
    return model


def score_words(model: dict[str, float], words: list[set[str]]) -> np.ndarray:
    return np.array([model.get("", 0.0) + sum(model.get(w, 0.0) for w in bag) for bag in words])


def oof_word_scores(words, hosts, y, folds=5, **params) -> np.ndarray:
    """Word scores of each page from a regression fitted without its fold (index % folds)."""
    fold = np.arange(len(y)) % folds
    out = np.zeros(len(y))
    for k in range(folds):
        train = np.flatnonzero(fold != k)
        model = fit_words([words[i] for i in train], [hosts[i] for i in train], y[train], **params)
        out[fold == k] = score_words(model, [words[i] for i in np.flatnonzero(fold == k)])
    return out


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


def cross_validate(data: Tuning, folds=5, words: dict | None = None, **params) -> np.ndarray:
    """Out-of-fold article probabilities (fold = index % folds).

    With ``words`` (fit_words' parameters) the "words" column is stacked: within each
    training part it holds out-of-fold word scores, on the held-back fold the scores of a
    regression fitted on the whole training part, as the shipped model is built.
    """
    x, y = data.x.copy(), data.y
    col = data.names.index("words")
    fold = np.arange(len(y)) % folds
    pred = np.zeros(len(y))
    for k in range(folds):
        train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        if words is None:
            x[:, col] = 0.0
        else:
            tw, th = [data.words[i] for i in train], [data.hosts[i] for i in train]
            x[train, col] = oof_word_scores(tw, th, y[train], **words)
            x[test, col] = score_words(fit_words(tw, th, y[train], **words), [data.words[i] for i in test])
        model = Booster(**params).fit(x[train], y[train])
        pred[test] = 1 / (1 + np.exp(-model.margin(x[test])))
    return pred


def precision_recall(pred, y, threshold):
    hit = pred >= threshold
    tp, fp, fn = (hit & (y == 1)).sum(), (hit & (y == 0)).sum(), (~hit & (y == 1)).sum()
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--rate", type=float, default=0.1)
    parser.add_argument("--lam", type=float, default=1.0)
    parser.add_argument("--min-hess", type=float, default=1.0)
    parser.add_argument("--colsample", type=float, default=0.5)
    parser.add_argument("--subsample", type=float, default=1.0)
    parser.add_argument("--l2", type=float, default=3.0, help="word regression's L2 weight")
    parser.add_argument("--min-hosts", type=int, default=4, help="a word counts when seen on this many sites")
    parser.add_argument("--no-words", action="store_true", help="no word regression")
    parser.add_argument("--drop", default="", help="comma-separated features to leave out")
    parser.add_argument("--threshold", type=float, default=0.45, help="threshold written with --write")
    parser.add_argument("--cache", type=Path, help="keep computed features in this .npz")
    parser.add_argument("--no-cv", action="store_true", help="skip the cross-validation")
    parser.add_argument("--write", type=Path, help="fit on all tuning pages, write the model JSON")
    args = parser.parse_args(argv)
    if not realworld.available(realworld.WCXB):
        print(f"classify_fit: {realworld.WCXB} not found", file=sys.stderr)
        return 2
    data = tuning_features(args.cache)
    drop = {d for d in args.drop.split(",") if d}
    keep = [i for i, n in enumerate(data.names) if n not in drop]
    data.x, data.names = data.x[:, keep], [data.names[i] for i in keep]
    params = dict(rounds=args.rounds, depth=args.depth, rate=args.rate, lam=args.lam,
                  min_hess=args.min_hess, colsample=args.colsample, subsample=args.subsample)
    words = None if args.no_words else {"l2": args.l2, "min_hosts": args.min_hosts}
    print(f"{len(data.y)} tuning pages ({int(data.y.sum())} articles), {len(data.names)} features, "
          f"{params}, words {words}")
    if not args.no_cv:
        pred = cross_validate(data, words=words, **params)
        for t in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7):
            p, r = precision_recall(pred, data.y, t)
            print(f"5-fold CV on tuning, threshold {t}: P {p:.3f} R {r:.3f}")
    if args.write:
        col = data.names.index("words")
        word_model = {}
        if words is None:
            data.x[:, col] = 0.0
        else:
            data.x[:, col] = oof_word_scores(data.words, data.hosts, data.y, **words)
            word_model = fit_words(data.words, data.hosts, data.y, **words)
        model = Booster(**params).fit(data.x, data.y)
        out = {"fitted_on": "wcxb-dev tuning part (sorted index % 5 != 4)", "rate": model.rate,
               "depth": model.depth, "threshold": args.threshold, "trees": model.plain_trees(data.names),
               "words": word_model}
        args.write.write_text(json.dumps(out, separators=(",", ":"), ensure_ascii=False) + "\n",
                              encoding="utf-8")
        print(f"wrote {len(model.trees)} trees and {len(word_model)} word weights to {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
