import pandas as pd

people = pd.DataFrame(
    {"name": [" Ada Lovelace", "alan turing ", "Grace HOPPER", "edsger dijkstra"], "age": [36, 41, 85, 72]}
)
people["name"] = people["name"].str.strip().str.title()
people["last"] = people["name"].str.split().str[-1]
people["band"] = pd.cut(people["age"], bins=[0, 40, 70, 120], labels=["young", "middle", "senior"])
print(people.to_string(index=False))
counts = people["band"].value_counts().sort_index()
{"counts": {str(k): int(v) for k, v in counts.items()}, "initials": people["name"].str[0].tolist()}
