/* The slots of the interpreter's C types that may run code of the program's hold their
 * object for the call: repr, str, hash and the comparisons. C code hands objects it does
 * not own to these slots: list's repr formats each item by the pointer in the list, an
 * exception's str and repr format `args[0]` by the pointer in its args, a deque's search
 * compared its items by the pointers in its blocks, a Counter's update its counts. When
 * the slot runs code of the program's (an item's `__repr__`, `__eq__`, a tzinfo's
 * `utcoffset`), that code can drop the object's last owner (clear the list, replace the
 * args) and free it while the C slot still reads it: slice's repr then formatted its stop
 * from a freed slice (attack pass 72), a tuple's comparison walked a freed tuple (pass 69),
 * an aware datetime's comparison read a freed datetime (pass 71): full escapes. Upstream
 * fixes each caller in turn; here every callee holds itself, for every caller at once:
 * the object (both operands of a comparison) is held for the call and kept if the call
 * left it with no other owner, as operands.c does for the slots that run the program's
 * own special methods (which are left to it).
 *
 * One trampoline per distinct C function: a slot copied into a subclass keeps calling its
 * own original, with no lookup. A pool of POOL_SIZE per slot kind, assigned by
 * hold_callees() to the functions of every type that exists then (again once the template
 * has imported everything: repairs.hold_new_types), and put in the `__repr__`, `__str__`,
 * `__hash__`, `__eq__`... wrapper descriptors too, from which classes made later take their
 * slots. The slots of the types that never run code of the program's (int, float, str,
 * bytes, object's identity hash...) are left as they are: they read nothing after a call. */
#include "repairs.h"

#define POOL_SIZE 512

/* 512 trampolines per kind, named by three octal digits after a 0 (0000 to 0777): with the
 * 0 prefix, each name is its own index in the pool. A process with the data tier's
 * libraries imported (numpy, pandas, matplotlib, and a test runner's own) needs about 300
 * of a kind; 512 leaves room, and each trampoline costs compile time. */
#define POOL_64(T, K)                                                                                                  \
    POOL_8(T, K##0)                                                                                                    \
    POOL_8(T, K##1)                                                                                                    \
    POOL_8(T, K##2)                                                                                                    \
    POOL_8(T, K##3)                                                                                                    \
    POOL_8(T, K##4)                                                                                                    \
    POOL_8(T, K##5)                                                                                                    \
    POOL_8(T, K##6)                                                                                                    \
    POOL_8(T, K##7)
#define POOL_512(T, K)                                                                                                 \
    POOL_64(T, K##0)                                                                                                   \
    POOL_64(T, K##1)                                                                                                   \
    POOL_64(T, K##2)                                                                                                   \
    POOL_64(T, K##3)                                                                                                   \
    POOL_64(T, K##4)                                                                                                   \
    POOL_64(T, K##5)                                                                                                   \
    POOL_64(T, K##6)                                                                                                   \
    POOL_64(T, K##7)
#define POOL_ALL(T) POOL_512(T, 0)

static void *repr_originals[POOL_SIZE], *hash_originals[POOL_SIZE], *compare_originals[POOL_SIZE];

#define HELD_REPR(K)                                                                                                   \
    static PyObject *held_repr_##K(PyObject *self)                                                                     \
    {                                                                                                                  \
        Py_INCREF(self);                                                                                               \
        PyObject *result = ((reprfunc)repr_originals[0##K])(self);                                                     \
        release_unless_last(self);                                                                                     \
        return result;                                                                                                 \
    }
#define HELD_HASH(K)                                                                                                   \
    static Py_hash_t held_hash_##K(PyObject *self)                                                                     \
    {                                                                                                                  \
        Py_INCREF(self);                                                                                               \
        Py_hash_t result = ((hashfunc)hash_originals[0##K])(self);                                                     \
        release_unless_last(self);                                                                                     \
        return result;                                                                                                 \
    }
#define HELD_COMPARE(K)                                                                                                \
    static PyObject *held_compare_##K(PyObject *a, PyObject *b, int op)                                                \
    {                                                                                                                  \
        Py_INCREF(a);                                                                                                  \
        Py_INCREF(b);                                                                                                  \
        PyObject *result = ((richcmpfunc)compare_originals[0##K])(a, b, op);                                           \
        release_unless_last(a);                                                                                        \
        release_unless_last(b);                                                                                        \
        return result;                                                                                                 \
    }
POOL_ALL(HELD_REPR)
POOL_ALL(HELD_HASH)
POOL_ALL(HELD_COMPARE)

#define REPR_ENTRY(K) [0##K] = (void *)held_repr_##K,
#define HASH_ENTRY(K) [0##K] = (void *)held_hash_##K,
#define COMPARE_ENTRY(K) [0##K] = (void *)held_compare_##K,
static void *const repr_trampolines[POOL_SIZE] = {POOL_ALL(REPR_ENTRY)};
static void *const hash_trampolines[POOL_SIZE] = {POOL_ALL(HASH_ENTRY)};
static void *const compare_trampolines[POOL_SIZE] = {POOL_ALL(COMPARE_ENTRY)};

typedef struct {
    const char *kind;
    void **originals;
    void *const *trampolines;
    void *leaves[32]; /* the functions left as they are, NULL-terminated */
} Pool;

static Pool repr_pool = {"repr and str", repr_originals, repr_trampolines, {NULL}};
static Pool hash_pool = {"hash", hash_originals, hash_trampolines, {NULL}};
static Pool compare_pool = {"comparison", compare_originals, compare_trampolines, {NULL}};

static int
in_pool(const Pool *pool, void *function)
{
    for (int i = 0; i < POOL_SIZE; i++) {
        if (pool->trampolines[i] == function) {
            return 1;
        }
    }
    return 0;
}

static int
is_leaf(const Pool *pool, void *function)
{
    for (int i = 0; pool->leaves[i] != NULL; i++) {
        if (pool->leaves[i] == function) {
            return 1;
        }
    }
    return 0;
}

/* The trampoline that calls `original`, assigned on first use; NULL with an error when the
 * pool is spent (a newer interpreter with more C functions of the kind needs a larger one). */
static void *
trampoline_for(Pool *pool, void *original)
{
    for (int i = 0; i < POOL_SIZE; i++) {
        if (pool->originals[i] == original) {
            return pool->trampolines[i];
        }
        if (pool->originals[i] == NULL) {
            pool->originals[i] = original;
            return pool->trampolines[i];
        }
    }
    PyErr_Format(PyExc_RuntimeError, "more C %s functions than trampolines", pool->kind);
    return NULL;
}

/* Whether the slot holds its object, or needs not: empty, a trampoline, a leaf, or a slot
 * that runs a Python method (operands.c holds those). */
static int
slot_is_held(const Pool *pool, void *function)
{
    return function == NULL || in_pool(pool, function) || is_leaf(pool, function) || runs_python_method(function);
}

/* The slot at `offset` of `type` and its wrapper descriptors `names`, held. */
static int
hold_slot(Pool *pool, PyTypeObject *type, Py_ssize_t offset, const char *const *names)
{
    void *original = *(void **)((char *)type + offset);
    if (slot_is_held(pool, original)) {
        return 0;
    }
    void *held = trampoline_for(pool, original);
    if (held == NULL) {
        return -1;
    }
    repair_slot_and_wrappers(type, -1, offset, original, held, names);
    return 0;
}

static const char *const repr_names[] = {"__repr__", NULL};
static const char *const str_names[] = {"__str__", NULL};
static const char *const hash_names[] = {"__hash__", NULL};
static const char *const compare_names[] = {"__lt__", "__le__", "__eq__", "__ne__", "__gt__", "__ge__", NULL};

static int
hold_type_callees(PyTypeObject *type)
{
    if (hold_slot(&repr_pool, type, offsetof(PyTypeObject, tp_repr), repr_names) < 0 ||
        hold_slot(&repr_pool, type, offsetof(PyTypeObject, tp_str), str_names) < 0 ||
        hold_slot(&hash_pool, type, offsetof(PyTypeObject, tp_hash), hash_names) < 0 ||
        hold_slot(&compare_pool, type, offsetof(PyTypeObject, tp_richcompare), compare_names) < 0) {
        return -1;
    }
    return 0;
}

/* The types whose repr, str, hash and comparison run nothing of the program's (their
 * operands' own slots excepted) and read nothing after a call: their functions, read
 * before any is held. */
static void
learn_leaves(void)
{
    if (repr_pool.leaves[0] != NULL) {
        return;
    }
    PyTypeObject *leaves[] = {&PyLong_Type, &PyFloat_Type, &PyComplex_Type, &PyUnicode_Type,
                              &PyBytes_Type, &PyBool_Type, &PyBaseObject_Type, &PyType_Type, Py_TYPE(Py_None)};
    int count = (int)(sizeof(leaves) / sizeof(leaves[0])), r = 0, h = 0, c = 0;
    for (int i = 0; i < count; i++) {
        repr_pool.leaves[r++] = (void *)leaves[i]->tp_repr;
        repr_pool.leaves[r++] = (void *)leaves[i]->tp_str; /* object's str calls the (held) repr */
        hash_pool.leaves[h++] = (void *)leaves[i]->tp_hash;
        compare_pool.leaves[c++] = (void *)leaves[i]->tp_richcompare;
    }
    hash_pool.leaves[h++] = (void *)PyObject_HashNotImplemented; /* unhashable: raises */
}

int
hold_callees(void)
{
    learn_leaves();
    return walk_subclasses(&PyBaseObject_Type, hold_type_callees);
}

int
type_callees_held(PyTypeObject *type)
{
    return slot_is_held(&repr_pool, (void *)type->tp_repr) && slot_is_held(&repr_pool, (void *)type->tp_str) &&
           slot_is_held(&hash_pool, (void *)type->tp_hash) &&
           slot_is_held(&compare_pool, (void *)type->tp_richcompare);
}
