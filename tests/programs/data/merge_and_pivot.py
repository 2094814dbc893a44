import pandas as pd

orders = pd.DataFrame(
    {"order": [1, 2, 3, 4, 5, 6], "customer": ["ann", "bob", "ann", "cid", "bob", "ann"],
     "month": ["jan", "jan", "feb", "feb", "mar", "mar"], "amount": [30.0, 12.5, 8.0, 44.0, 19.5, 3.25]}
)
customers = pd.DataFrame({"customer": ["ann", "bob", "cid"], "region": ["north", "south", "north"]})
joined = orders.merge(customers, on="customer", how="left")
table = joined.pivot_table(index="region", columns="month", values="amount", aggfunc="sum", fill_value=0)
print(table.round(2).to_string())
by_customer = joined.groupby("customer").agg(total=("amount", "sum"), n=("order", "count"))
print(by_customer.sort_values("total", ascending=False).to_string())
{"north": table.loc["north"].round(2).tolist(), "top": by_customer["total"].idxmax()}
