import io
import json

import pandas as pd

with open("events.json") as f:
    events = pd.DataFrame(json.load(f))
events["when"] = pd.to_datetime(events["when"])
events["hour"] = events["when"].dt.hour
per_kind = events.groupby("kind")["hour"].agg(["min", "max", "count"])
per_kind.to_json("per_kind.json", orient="index")
buffer = io.StringIO()
events.drop(columns="when").to_csv(buffer, index=False)
print(buffer.getvalue(), end="")
json.loads(open("per_kind.json").read())
