# Classes with properties and exceptions for control flow.
class InsufficientFunds(Exception):
    pass


class Account:
    def __init__(self, owner, balance=0):
        self.owner = owner
        self._balance = balance
        self.history = []

    @property
    def balance(self):
        return self._balance

    def deposit(self, amount):
        self._balance += amount
        self.history.append(("in", amount))

    def withdraw(self, amount):
        if amount > self._balance:
            raise InsufficientFunds(self.owner)
        self._balance -= amount
        self.history.append(("out", amount))


accounts = [Account(f"owner{i}", 100) for i in range(50)]
refused = 0
for step in range(30000):
    account = accounts[step % 50]
    try:
        if step % 3:
            account.deposit(step % 17)
        else:
            account.withdraw(step % 113)
    except InsufficientFunds:
        refused += 1
[refused, sum(a.balance for a in accounts), sum(len(a.history) for a in accounts)]
