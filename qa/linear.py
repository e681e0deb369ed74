"""A fitted logistic model stored as JSON: named features, weights, bias.

Used by the ranker and by the confidence figure. Fitting happens offline in `tools/tune.py`
(scikit-learn); here it is only applied. What it leaves out: anything but a linear model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class LinearModel:
    features: tuple[str, ...]
    weights: np.ndarray
    bias: float

    def score(self, rows: np.ndarray) -> np.ndarray:
        """Probabilities for a (n, len(features)) matrix."""
        logits = np.clip(np.asarray(rows, dtype=np.float64) @ self.weights + self.bias, -30, 30)
        return 1.0 / (1.0 + np.exp(-logits))

    @classmethod
    def load(cls, path: Path, features: tuple[str, ...]) -> LinearModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != features:
            raise ValueError(f"{path}: fitted for features {data['features']}, the code has {features}")
        return cls(features=features, weights=np.asarray(data["weights"], dtype=np.float64),
                   bias=float(data["bias"]))

    def save(self, path: Path, **extra: object) -> None:
        data = {"features": list(self.features), "weights": [round(float(w), 5) for w in self.weights],
                "bias": round(float(self.bias), 5), **extra}
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
