import numpy as np
import pandas as pd

rng = np.random.default_rng(3)
frame = pd.DataFrame({"a": rng.integers(0, 100, 200), "b": rng.normal(10, 2, 200).round(2)})
summary = frame.describe().round(2)
print(summary.to_string())
frame["bucket"] = pd.qcut(frame["a"], 4, labels=False)
means = frame.groupby("bucket")["b"].mean().round(3)
{"quartiles": frame["a"].quantile([0.25, 0.5, 0.75]).tolist(), "means": means.tolist(), "corr": round(float(frame["a"].corr(frame["b"])), 4)}
