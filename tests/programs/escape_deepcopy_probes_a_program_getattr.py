# Tries: catch the special names copy.deepcopy asks an instance for (__deepcopy__, which
# it hands its internal memo) with a __getattr__ of its own. Must: see none of them: [].
import copy
seen = []
class Hook:
    def __getattr__(self, name):
        seen.append(name)
        raise AttributeError(name)
copy.deepcopy([Hook()])
[n for n in seen if n.startswith('_')]
