import pandas as pd

frame = pd.DataFrame({"year": [2021, 2022, 2023, 2024], "sales": [10, 14, 9, 17], "costs": [7, 8, 8, 11]})
axes = frame.plot(x="year", y=["sales", "costs"], kind="line", title="sales and costs", figsize=(4, 3))
axes.set_ylabel("k$")
margin = (frame["sales"] - frame["costs"]).tolist()
print("best year:", int(frame.loc[frame["sales"].idxmax(), "year"]))
margin
