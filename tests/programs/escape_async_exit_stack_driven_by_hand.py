# Tries: async syntax is refused, but contextlib's async helpers run when the program
# drives their coroutines by hand: AsyncExitStack().aclose().send(None) runs __aexit__,
# which calls each exit callback with sys.exc_info() of the one before, raw traceback
# included, and a namedtuple class as a callback kept it. Must: the async helpers that
# run code are not offered; the markers programs subclass still are, and ExitStack works.
import contextlib

refused = []
for name in ["AsyncExitStack", "asynccontextmanager", "aclosing"]:
    try:
        getattr(contextlib, name)
    except Exception as error:  # noqa: BLE001
        refused.append(type(error).__name__)


class Resource(contextlib.AbstractAsyncContextManager):
    async_ready = True


closed = []
with contextlib.ExitStack() as stack:
    stack.callback(closed.append, "closed")
[refused, Resource.async_ready, closed]
