import numpy as np
import pandas as pd

index = pd.date_range("2025-03-01", periods=60, freq="D")
values = pd.Series(np.sin(np.arange(60) / 6.0) * 10 + 50, index=index).round(3)
weekly = values.resample("W").mean().round(2)
smooth = values.rolling(7, min_periods=1).mean().round(2)
print(weekly.head(4).to_string())
print("max smooth day:", smooth.idxmax().strftime("%Y-%m-%d"))
[float(weekly.iloc[-1]), int((smooth > 55).sum()), values.diff().abs().max().round(3).item()]
