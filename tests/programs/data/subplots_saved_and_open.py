import matplotlib.pyplot as plt
import numpy as np

x = np.arange(12)
fig, (left, right) = plt.subplots(1, 2, figsize=(6, 2.5), dpi=60)
left.bar(x, x ** 2, color="tab:blue")
left.set_title("squares")
right.plot(x, np.sqrt(x), marker="o")
right.set_xlabel("x")
right.grid(True)
fig.tight_layout()
fig.savefig("panel.png")
plt.close(fig)
fig2, ax = plt.subplots(figsize=(3, 3), dpi=50)
ax.pie([3, 2, 1], labels=["a", "b", "c"], autopct="%1.0f%%")
ax.set_title("share")
print("axes in panel:", 2, "open:", len(plt.get_fignums()))
