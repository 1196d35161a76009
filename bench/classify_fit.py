"""Fit the article/non-article weights of crawler/classify.py on wcxb-dev's TUNING part.

Computes ``page_features`` for every tuning page (the held-out part is never read here),
and prints the tuning figures of a 5-fold cross-validation (so the choice of features and
model is not judged on the pages it was fitted to) for a logistic regression or, with
``--boost``, gradient-boosted trees (numpy, written here). ``--write FILE`` fits the trees
on every tuning page and writes the model crawler/classify.py loads.

    .venv/bin/python -m bench.classify_fit [--l2 1.0] [--boost] [--rounds 100 --depth 3]
    .venv/bin/python -m bench.classify_fit --rounds 100 --depth 3 --write crawler/classify_model.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bench import realworld


def _fit(x: np.ndarray, y: np.ndarray, l2: float, steps: int = 3000) -> np.ndarray:
    w = np.zeros(x.shape[1])
    lr = 0.5
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) / len(y)
        grad[1:] += l2 * w[1:] / len(y)
        w -= lr * grad
    return w


def _best_split(x, g, h, idx, cuts, lam=1.0):
    """Best (feature, threshold) for gradient g / hessian h on rows idx; gain and leaf values."""
    best = (0.0, None, None)
    G, H = g[idx].sum(), h[idx].sum()
    base = G * G / (H + lam)
    for j in range(x.shape[1]):
        col = x[idx, j]
        for t in cuts[j]:
            left = col <= t
            gl, hl = g[idx][left].sum(), h[idx][left].sum()
            gr, hr = G - gl, H - hl
            if hl < 1 or hr < 1:
                continue
            gain = gl * gl / (hl + lam) + gr * gr / (hr + lam) - base
            if gain > best[0]:
                best = (gain, j, t)
    return best


def _tree(x, g, h, idx, cuts, depth, lam=1.0):
    gain, j, t = _best_split(x, g, h, idx, cuts, lam) if depth > 0 else (0.0, None, None)
    if j is None:
        return -g[idx].sum() / (h[idx].sum() + lam)
    left, right = idx[x[idx, j] <= t], idx[x[idx, j] > t]
    return (j, t, _tree(x, g, h, left, cuts, depth - 1, lam), _tree(x, g, h, right, cuts, depth - 1, lam))


def _tree_value(node, row):
    while isinstance(node, tuple):
        j, t, left, right = node
        node = left if row[j] <= t else right
    return node


def boost(x, y, rounds=150, depth=3, rate=0.2):
    cuts = [np.unique(np.quantile(x[:, j], np.linspace(0.05, 0.95, 16))) for j in range(x.shape[1])]
    f = np.zeros(len(y))
    trees = []
    idx = np.arange(len(y))
    for _ in range(rounds):
        p = 1 / (1 + np.exp(-f))
        g, h = p - y, p * (1 - p)
        tree = _tree(x, g, h, idx, cuts, depth)
        trees.append(tree)
        f += rate * np.array([_tree_value(tree, r) for r in x])
    return trees, rate


def boost_predict(model, x):
    trees, rate = model
    return np.array([sum(rate * _tree_value(t, r) for t in trees) for r in x])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--boost", action="store_true", help="boosted trees instead")
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--write", type=Path, help="fit boosted trees on all tuning pages, write JSON")
    args = parser.parse_args(argv)
    if not realworld.available(realworld.WCXB):
        print(f"classify_fit: {realworld.WCXB} not found", file=sys.stderr)
        return 2
    from crawler.classify import _parse, page_features

    pages = [p for p in realworld.wcxb_pages() if p.part == "tuning"]
    rows = []
    for p in pages:
        tree = _parse(p.html)
        rows.append(page_features(tree, p.url) if tree is not None else {})
    names = sorted({k for r in rows for k in r})
    x = np.array([[1.0] + [r.get(n, 0.0) for n in names] for r in rows])
    y = np.array([1.0 if p.truth["page_type"] == "article" else 0.0 for p in pages])

    folds = np.arange(len(y)) % 5
    pred = np.zeros(len(y))
    for k in range(5):
        w = _fit(x[folds != k], y[folds != k], args.l2)
        pred[folds == k] = 1 / (1 + np.exp(-(x[folds == k] @ w)))
    if args.boost:
        pred = np.zeros(len(y))
        for k in range(5):
            model = boost(x[folds != k][:, 1:], y[folds != k], args.rounds, args.depth)
            pred[folds == k] = 1 / (1 + np.exp(-boost_predict(model, x[folds == k][:, 1:])))
    for t in (0.3, 0.4, 0.5, 0.6, 0.7):
        hit = pred >= t
        tp, fp, fn = (hit & (y == 1)).sum(), (hit & (y == 0)).sum(), (~hit & (y == 1)).sum()
        print(f"5-fold CV on tuning, threshold {t}: P {tp / max(tp + fp, 1):.3f} R {tp / max(tp + fn, 1):.3f}")
    if args.write:
        trees, rate = boost(x[:, 1:], y, args.rounds, args.depth)

        def plain(node):
            if isinstance(node, tuple):
                j, t, left, right = node
                return [names[j], round(float(t), 6), plain(left), plain(right)]
            return round(float(node), 6)
        model = {"fitted_on": "wcxb-dev tuning part (sorted index % 5 != 4)", "rate": rate,
                 "depth": args.depth, "trees": [plain(t) for t in trees]}
        args.write.write_text(json.dumps(model, separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"wrote {len(trees)} trees to {args.write}")
        return 0
    w = _fit(x, y, args.l2)
    print(f"\n_BIAS = {w[0]:.4f}")
    print("_WEIGHTS: dict[str, float] = {")
    for n, v in sorted(zip(names, w[1:]), key=lambda t: -abs(t[1])):
        print(f'    "{n}": {v:.4f},')
    print("}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
