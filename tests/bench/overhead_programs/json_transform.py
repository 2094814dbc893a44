# JSON in, records reshaped, JSON out.
import json

records = [{"id": i, "name": f"user{i}", "scores": [i % 7, i % 11, i % 13], "active": i % 3 != 0} for i in range(2500)]
text = json.dumps(records)
loaded = json.loads(text)
report = []
for record in loaded:
    if record["active"]:
        scores = record["scores"]
        report.append({"id": record["id"], "best": max(scores), "mean": round(sum(scores) / len(scores), 2)})
out = json.dumps(report, sort_keys=True)
[len(report), len(out), json.loads(out)[-1]]
