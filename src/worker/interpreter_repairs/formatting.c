/* repr() and str() of the interpreter's C types hold their object for the call. C code
 * formats objects it only borrows: list's repr formats each item by the pointer in the list,
 * an exception's repr and str format `args[0]` by the pointer in its args, `%R` and `%S` of
 * PyUnicode_FromFormat are given fields read before the first is formatted. When the
 * object's own repr runs code of the program's (an item's `__repr__`, a field's), that code
 * can drop the object's last owner (clear the list, replace the args) and free it, and the
 * C repr goes on reading it: slice's repr formats its stop and step from a freed slice
 * (attack pass 72: a full escape through `repr([slice(a, b)])`). The program's own classes
 * hold their operands already (operands.c); here every other repr and str slot does: the
 * object is held for the call, and kept if the call left it with no other owner, so what a
 * C repr reads from it stays alive whichever caller lent it.
 *
 * One trampoline per distinct C function (a slot copied into a subclass keeps calling its
 * own original): a pool of FORMAT_POOL_SIZE, assigned by apply() to the functions of every
 * type that exists then, and put in their `__repr__`/`__str__` wrapper descriptors too, so
 * classes made later inherit the held one. */
#include "repairs.h"

#define FORMAT_POOL_SIZE 256

static reprfunc format_originals[FORMAT_POOL_SIZE];

#define HELD_FORMAT(K)                                                                                                 \
    static PyObject *held_format_##K(PyObject *self)                                                                   \
    {                                                                                                                  \
        Py_INCREF(self);                                                                                               \
        PyObject *result = format_originals[0##K](self);                                                               \
        release_unless_last(self);                                                                                     \
        return result;                                                                                                 \
    }
/* 256 trampolines, named by three octal digits (000 to 377): with the 0 prefix, each name
 * is its own index in the pool. */
#define HELD_FORMAT_8(K)                                                                                               \
    HELD_FORMAT(K##0)                                                                                                  \
    HELD_FORMAT(K##1)                                                                                                  \
    HELD_FORMAT(K##2)                                                                                                  \
    HELD_FORMAT(K##3)                                                                                                  \
    HELD_FORMAT(K##4)                                                                                                  \
    HELD_FORMAT(K##5)                                                                                                  \
    HELD_FORMAT(K##6)                                                                                                  \
    HELD_FORMAT(K##7)
#define HELD_FORMAT_64(K)                                                                                              \
    HELD_FORMAT_8(K##0)                                                                                                \
    HELD_FORMAT_8(K##1)                                                                                                \
    HELD_FORMAT_8(K##2)                                                                                                \
    HELD_FORMAT_8(K##3)                                                                                                \
    HELD_FORMAT_8(K##4)                                                                                                \
    HELD_FORMAT_8(K##5)                                                                                                \
    HELD_FORMAT_8(K##6)                                                                                                \
    HELD_FORMAT_8(K##7)
HELD_FORMAT_64(0)
HELD_FORMAT_64(1)
HELD_FORMAT_64(2)
HELD_FORMAT_64(3)

#define FORMAT_ENTRY(K) [0##K] = held_format_##K,
#define FORMAT_ENTRY_8(K)                                                                                              \
    FORMAT_ENTRY(K##0)                                                                                                 \
    FORMAT_ENTRY(K##1)                                                                                                 \
    FORMAT_ENTRY(K##2)                                                                                                 \
    FORMAT_ENTRY(K##3)                                                                                                 \
    FORMAT_ENTRY(K##4)                                                                                                 \
    FORMAT_ENTRY(K##5)                                                                                                 \
    FORMAT_ENTRY(K##6)                                                                                                 \
    FORMAT_ENTRY(K##7)
#define FORMAT_ENTRY_64(K)                                                                                             \
    FORMAT_ENTRY_8(K##0)                                                                                               \
    FORMAT_ENTRY_8(K##1)                                                                                               \
    FORMAT_ENTRY_8(K##2)                                                                                               \
    FORMAT_ENTRY_8(K##3)                                                                                               \
    FORMAT_ENTRY_8(K##4)                                                                                               \
    FORMAT_ENTRY_8(K##5)                                                                                               \
    FORMAT_ENTRY_8(K##6)                                                                                               \
    FORMAT_ENTRY_8(K##7)
static const reprfunc format_trampolines[FORMAT_POOL_SIZE] = {
    FORMAT_ENTRY_64(0) FORMAT_ENTRY_64(1) FORMAT_ENTRY_64(2) FORMAT_ENTRY_64(3)};

/* The trampoline that calls `original`, assigned on first use; NULL with an error when the
 * pool is spent (apply() fails: a new interpreter with more C reprs needs a larger pool). */
static reprfunc
held_format_for(reprfunc original)
{
    for (int i = 0; i < FORMAT_POOL_SIZE; i++) {
        if (format_originals[i] == original || format_trampolines[i] == original) {
            return format_trampolines[i];
        }
        if (format_originals[i] == NULL) {
            format_originals[i] = original;
            return format_trampolines[i];
        }
    }
    PyErr_SetString(PyExc_RuntimeError, "more C repr and str functions than trampolines");
    return NULL;
}

static int
is_trampoline(reprfunc function)
{
    for (int i = 0; i < FORMAT_POOL_SIZE; i++) {
        if (format_trampolines[i] == function) {
            return 1;
        }
    }
    return 0;
}

/* The slot at `offset` (tp_repr or tp_str) of `type` and its wrapper `name`, held, unless
 * it is empty, held already, or runs a Python method (the program's classes: operands.c). */
static int
hold_format_slot(PyTypeObject *type, Py_ssize_t offset, const char *name)
{
    reprfunc original = *(reprfunc *)((char *)type + offset);
    if (original == NULL || is_trampoline(original) || runs_python_method((void *)original)) {
        return 0;
    }
    reprfunc held = held_format_for(original);
    if (held == NULL) {
        return -1;
    }
    repair_slot(type, -1, offset, (void *)original, (void *)held);
    repair_wrapper(type, name, (void *)original, (void *)held);
    return 0;
}

static int
hold_type_formatting(PyTypeObject *type)
{
    if (hold_format_slot(type, offsetof(PyTypeObject, tp_repr), "__repr__") < 0 ||
        hold_format_slot(type, offsetof(PyTypeObject, tp_str), "__str__") < 0) {
        return -1;
    }
    return 0;
}

int
hold_c_formatting(void)
{
    return walk_subclasses(&PyBaseObject_Type, hold_type_formatting);
}

/* formatting_held(cls): whether cls's repr and str are held (tests). */
int
type_formatting_held(PyTypeObject *type)
{
    return (type->tp_repr == NULL || is_trampoline(type->tp_repr) || runs_python_method((void *)type->tp_repr)) &&
           (type->tp_str == NULL || is_trampoline(type->tp_str) || runs_python_method((void *)type->tp_str));
}
