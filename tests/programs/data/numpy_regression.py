import numpy as np

rng = np.random.default_rng(7)
x = np.linspace(0, 10, 50)
y = 3.0 * x + 2.0 + rng.normal(0, 0.5, size=x.size)
slope, intercept = np.polyfit(x, y, 1)
residuals = y - (slope * x + intercept)
A = np.vstack([x, np.ones_like(x)]).T
solution, *_ = np.linalg.lstsq(A, y, rcond=None)
counts, edges = np.histogram(residuals, bins=5)
print(f"slope={slope:.3f} intercept={intercept:.3f}")
print("histogram:", counts.tolist())
{"lstsq": np.round(solution, 3).tolist(), "rmse": round(float(np.sqrt(np.mean(residuals ** 2))), 4)}
