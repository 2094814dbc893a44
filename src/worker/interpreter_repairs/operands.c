/* The program's special methods, called by C code with operands it only borrowed: C code
 * that compares or adds an object it holds by a pointer it does not own (Counter.update's
 * count, a set's key taken from a dict, the list comparison above...) hands it to the
 * program's method, which may drop the object's last owner; a NotImplemented then has the
 * interpreter call the other operand's slot with freed memory (pass 67: Counter.update).
 * Upstream fixes each caller in turn; here the callee does it, for every caller at once:
 * each slot of a class of the program's that runs its Python special method holds its
 * operands for the call, and an operand the call left with no other owner is kept alive
 * (the worker runs one program and exits; only an object freed during its own special
 * method is kept, which ordinary code does not do). */
#include "repairs.h"

/* The binary number slots. typeobject.c's generic ones (SLOT1BINFULL) call __add__ only
 * while the class's slot is the generic function itself, so the held slot cannot call it:
 * it makes the same dispatch (the reflected method first when the right operand's class
 * is a subclass that overrides it, then the method, then the reflected one), testing for
 * itself instead, and calls the methods by the class's lookup, as typeobject.c does. */
typedef struct {
    Py_ssize_t offset; /* in PyNumberMethods */
    const char *name, *reflected_name;
    PyObject *method, *reflected; /* interned by hold_class_operands() */
} BinarySlot;

/* typeobject.c's vectorcall_maybe: type(self).<name>(self, other[, modulus]),
 * NotImplemented where the class has no such method. */
static PyObject *
call_special(PyObject *self, PyObject *name, PyObject *other, PyObject *modulus)
{
    PyObject *descriptor = _PyType_Lookup(Py_TYPE(self), name); /* borrowed */
    if (descriptor == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        Py_RETURN_NOTIMPLEMENTED;
    }
    Py_INCREF(descriptor);
    PyObject *result;
    PyObject *arguments[3] = {self, other, modulus};
    size_t count = modulus == NULL ? 2 : 3;
    if (PyType_HasFeature(Py_TYPE(descriptor), Py_TPFLAGS_METHOD_DESCRIPTOR)) {
        result = PyObject_Vectorcall(descriptor, arguments, count, NULL);
    }
    else {
        descrgetfunc get = Py_TYPE(descriptor)->tp_descr_get;
        PyObject *bound = get == NULL ? Py_NewRef(descriptor) : get(descriptor, self, (PyObject *)Py_TYPE(self));
        result = bound == NULL ? NULL : PyObject_Vectorcall(bound, arguments + 1, count - 1, NULL);
        Py_XDECREF(bound);
    }
    Py_DECREF(descriptor);
    return result;
}

/* typeobject.c's method_is_overloaded: whether `right` (a subclass) has its own `name`. */
static int
method_is_overloaded(PyObject *left, PyObject *right, PyObject *name)
{
    PyObject *a, *b;
    if (_PyObject_LookupAttr(right, name, &b) < 0) {
        return -1;
    }
    if (b == NULL) {
        return 0;
    }
    if (_PyObject_LookupAttr(left, name, &a) < 0) {
        Py_DECREF(b);
        return -1;
    }
    if (a == NULL) {
        Py_DECREF(b);
        return 1;
    }
    int overloaded = PyObject_RichCompareBool(a, b, Py_NE);
    Py_DECREF(a);
    Py_DECREF(b);
    return overloaded;
}

static void *
number_slot(PyObject *value, Py_ssize_t offset)
{
    PyNumberMethods *number = Py_TYPE(value)->tp_as_number;
    return number == NULL ? NULL : *(void **)((char *)number + offset);
}

static PyObject *
dispatch_binary(PyObject *self, PyObject *other, const BinarySlot *slot, void *held)
{
    int do_other = !Py_IS_TYPE(self, Py_TYPE(other)) && number_slot(other, slot->offset) == held;
    if (number_slot(self, slot->offset) == held) {
        PyObject *result;
        if (do_other && PyType_IsSubtype(Py_TYPE(other), Py_TYPE(self))) {
            PyObject *left = (PyObject *)Py_TYPE(self), *right = (PyObject *)Py_TYPE(other);
            int overloaded = method_is_overloaded(left, right, slot->reflected);
            if (overloaded < 0) {
                return NULL;
            }
            if (overloaded) {
                result = call_special(other, slot->reflected, self, NULL);
                if (result != Py_NotImplemented) {
                    return result;
                }
                Py_DECREF(result);
                do_other = 0;
            }
        }
        result = call_special(self, slot->method, other, NULL);
        if (result != Py_NotImplemented || Py_IS_TYPE(other, Py_TYPE(self))) {
            return result;
        }
        Py_DECREF(result);
    }
    if (do_other) {
        return call_special(other, slot->reflected, self, NULL);
    }
    Py_RETURN_NOTIMPLEMENTED;
}

static PyObject *
held_binary(PyObject *self, PyObject *other, const BinarySlot *slot, void *held)
{
    Py_INCREF(self);
    Py_INCREF(other);
    PyObject *result = dispatch_binary(self, other, slot, held);
    release_unless_last(self);
    release_unless_last(other);
    return result;
}

static BinarySlot binary_slots[] = {
    {offsetof(PyNumberMethods, nb_add), "__add__", "__radd__"},
    {offsetof(PyNumberMethods, nb_subtract), "__sub__", "__rsub__"},
    {offsetof(PyNumberMethods, nb_multiply), "__mul__", "__rmul__"},
    {offsetof(PyNumberMethods, nb_remainder), "__mod__", "__rmod__"},
    {offsetof(PyNumberMethods, nb_divmod), "__divmod__", "__rdivmod__"},
    {offsetof(PyNumberMethods, nb_lshift), "__lshift__", "__rlshift__"},
    {offsetof(PyNumberMethods, nb_rshift), "__rshift__", "__rrshift__"},
    {offsetof(PyNumberMethods, nb_and), "__and__", "__rand__"},
    {offsetof(PyNumberMethods, nb_xor), "__xor__", "__rxor__"},
    {offsetof(PyNumberMethods, nb_or), "__or__", "__ror__"},
    {offsetof(PyNumberMethods, nb_floor_divide), "__floordiv__", "__rfloordiv__"},
    {offsetof(PyNumberMethods, nb_true_divide), "__truediv__", "__rtruediv__"},
    {offsetof(PyNumberMethods, nb_matrix_multiply), "__matmul__", "__rmatmul__"},
    {offsetof(PyNumberMethods, nb_power), "__pow__", "__rpow__"},
};
#define BINARY_SLOT_COUNT ((int)(sizeof(binary_slots) / sizeof(binary_slots[0])))

#define HELD_BINARY(NAME, INDEX)                                                                                       \
    static binaryfunc original_##NAME = NULL;                                                                          \
    static PyObject *held_##NAME(PyObject *a, PyObject *b)                                                             \
    {                                                                                                                  \
        return held_binary(a, b, &binary_slots[INDEX], (void *)held_##NAME);                                           \
    }
#define HELD_PAIR(NAME)                                                                                                \
    static binaryfunc original_##NAME = NULL;                                                                          \
    static PyObject *held_##NAME(PyObject *a, PyObject *b)                                                             \
    {                                                                                                                  \
        Py_INCREF(a);                                                                                                  \
        Py_INCREF(b);                                                                                                  \
        PyObject *result = original_##NAME(a, b);                                                                      \
        release_unless_last(a);                                                                                        \
        release_unless_last(b);                                                                                        \
        return result;                                                                                                 \
    }
/* Three operands, any of them NULL where the slot allows it (a descriptor read from the
 * class has no instance; a call no keywords). */
#define HELD_TERNARY(NAME)                                                                                             \
    static ternaryfunc original_##NAME = NULL;                                                                         \
    static PyObject *held_##NAME(PyObject *a, PyObject *b, PyObject *c)                                                \
    {                                                                                                                  \
        Py_XINCREF(a);                                                                                                 \
        Py_XINCREF(b);                                                                                                 \
        Py_XINCREF(c);                                                                                                 \
        PyObject *result = original_##NAME(a, b, c);                                                                   \
        release_unless_last(a);                                                                                        \
        release_unless_last(b);                                                                                        \
        release_unless_last(c);                                                                                        \
        return result;                                                                                                 \
    }
#define HELD_UNARY(NAME, RESULT, FUNCTION_TYPE)                                                                        \
    static FUNCTION_TYPE original_##NAME = NULL;                                                                       \
    static RESULT held_##NAME(PyObject *a)                                                                             \
    {                                                                                                                  \
        Py_INCREF(a);                                                                                                  \
        RESULT result = original_##NAME(a);                                                                            \
        release_unless_last(a);                                                                                        \
        return result;                                                                                                 \
    }

HELD_BINARY(nb_add, 0)
HELD_BINARY(nb_subtract, 1)
HELD_BINARY(nb_multiply, 2)
HELD_BINARY(nb_remainder, 3)
HELD_BINARY(nb_divmod, 4)
HELD_BINARY(nb_lshift, 5)
HELD_BINARY(nb_rshift, 6)
HELD_BINARY(nb_and, 7)
HELD_BINARY(nb_xor, 8)
HELD_BINARY(nb_or, 9)
HELD_BINARY(nb_floor_divide, 10)
HELD_BINARY(nb_true_divide, 11)
HELD_BINARY(nb_matrix_multiply, 12)
HELD_PAIR(nb_inplace_add)
HELD_PAIR(nb_inplace_subtract)
HELD_PAIR(nb_inplace_multiply)
HELD_PAIR(nb_inplace_remainder)
HELD_PAIR(nb_inplace_lshift)
HELD_PAIR(nb_inplace_rshift)
HELD_PAIR(nb_inplace_and)
HELD_PAIR(nb_inplace_xor)
HELD_PAIR(nb_inplace_or)
HELD_PAIR(nb_inplace_floor_divide)
HELD_PAIR(nb_inplace_true_divide)
HELD_PAIR(nb_inplace_matrix_multiply)
HELD_PAIR(mp_subscript)
HELD_TERNARY(nb_inplace_power)

/* nb_power: two operands as the other binary slots; with a modulus, as typeobject.c's
 * slot_nb_power: only self's __pow__, and only if its class's slot is this one. */
static ternaryfunc original_nb_power = NULL;
static PyObject *
held_nb_power(PyObject *self, PyObject *other, PyObject *modulus)
{
    if (modulus == Py_None) {
        return held_binary(self, other, &binary_slots[13], (void *)held_nb_power);
    }
    if (number_slot(self, offsetof(PyNumberMethods, nb_power)) != (void *)held_nb_power) {
        Py_RETURN_NOTIMPLEMENTED;
    }
    Py_INCREF(self);
    Py_INCREF(other);
    Py_INCREF(modulus);
    PyObject *result = call_special(self, binary_slots[13].method, other, modulus);
    release_unless_last(self);
    release_unless_last(other);
    release_unless_last(modulus);
    return result;
}
HELD_TERNARY(tp_call)
HELD_UNARY(tp_iternext, PyObject *, iternextfunc)
HELD_UNARY(nb_index, PyObject *, unaryfunc)
HELD_UNARY(nb_bool, int, inquiry)
HELD_UNARY(tp_hash, Py_hash_t, hashfunc)
HELD_UNARY(tp_repr, PyObject *, reprfunc)
HELD_UNARY(tp_str, PyObject *, reprfunc)
HELD_UNARY(tp_iter, PyObject *, getiterfunc)
HELD_UNARY(nb_negative, PyObject *, unaryfunc)
HELD_UNARY(nb_positive, PyObject *, unaryfunc)
HELD_UNARY(nb_absolute, PyObject *, unaryfunc)
HELD_UNARY(nb_invert, PyObject *, unaryfunc)
HELD_UNARY(nb_int, PyObject *, unaryfunc)
HELD_UNARY(nb_float, PyObject *, unaryfunc)
HELD_UNARY(sq_length, Py_ssize_t, lenfunc)
HELD_UNARY(mp_length, Py_ssize_t, lenfunc)

/* __getattr__ and __getattribute__: typeobject.c's generic slot for them
 * (slot_tp_getattr_hook) rewrites itself into a simpler one (slot_tp_getattro) the first
 * time it finds no __getattr__ on the class; that one is held as well, from then on. */
static getattrofunc original_tp_getattro = NULL, original_tp_getattribute = NULL;

static PyObject *
held_tp_getattribute(PyObject *self, PyObject *name)
{
    Py_INCREF(self);
    Py_INCREF(name);
    PyObject *result = original_tp_getattribute(self, name);
    release_unless_last(self);
    release_unless_last(name);
    return result;
}

static PyObject *
held_tp_getattro(PyObject *self, PyObject *name)
{
    PyTypeObject *type = Py_TYPE(self); /* alive while self is held */
    Py_INCREF(self);
    Py_INCREF(name);
    PyObject *result = original_tp_getattro(self, name);
    if (type->tp_getattro == original_tp_getattribute) {
        type->tp_getattro = held_tp_getattribute;
    }
    release_unless_last(self);
    release_unless_last(name);
    return result;
}

static richcmpfunc original_tp_richcompare = NULL;
static PyObject *
held_tp_richcompare(PyObject *a, PyObject *b, int op)
{
    Py_INCREF(a);
    Py_INCREF(b);
    PyObject *result = original_tp_richcompare(a, b, op);
    release_unless_last(a);
    release_unless_last(b);
    return result;
}

static objobjproc original_sq_contains = NULL;
static int
held_sq_contains(PyObject *a, PyObject *b)
{
    Py_INCREF(a);
    Py_INCREF(b);
    int result = original_sq_contains(a, b);
    release_unless_last(a);
    release_unless_last(b);
    return result;
}

/* Three operands, an int result: __setitem__/__delitem__ (value NULL), __set__/__delete__.
 * Not __setattr__: object.__setattr__ refuses to run on a class whose slot is not
 * typeobject.c's own (hackcheck), and a super().__setattr__ would fail. */
#define HELD_STORE(NAME, FUNCTION_TYPE)                                                                                \
    static FUNCTION_TYPE original_##NAME = NULL;                                                                       \
    static int held_##NAME(PyObject *a, PyObject *b, PyObject *c)                                                      \
    {                                                                                                                  \
        Py_INCREF(a);                                                                                                  \
        Py_INCREF(b);                                                                                                  \
        Py_XINCREF(c);                                                                                                 \
        int result = original_##NAME(a, b, c);                                                                         \
        release_unless_last(a);                                                                                        \
        release_unless_last(b);                                                                                        \
        release_unless_last(c);                                                                                        \
        return result;                                                                                                 \
    }
HELD_STORE(mp_ass_subscript, objobjargproc)
HELD_STORE(tp_descr_set, descrsetfunc)
HELD_TERNARY(tp_descr_get)

static ssizeobjargproc original_sq_ass_item = NULL;
static int
held_sq_ass_item(PyObject *a, Py_ssize_t i, PyObject *value)
{
    Py_INCREF(a);
    Py_XINCREF(value);
    int result = original_sq_ass_item(a, i, value);
    release_unless_last(a);
    release_unless_last(value);
    return result;
}

static ssizeargfunc original_sq_item = NULL;
static PyObject *
held_sq_item(PyObject *a, Py_ssize_t i)
{
    Py_INCREF(a);
    PyObject *result = original_sq_item(a, i);
    release_unless_last(a);
    return result;
}

typedef struct {
    Py_ssize_t table; /* offset of the sub-table pointer in PyTypeObject, or -1 */
    Py_ssize_t offset;
    void **original; /* the generic slot function typeobject.c installs for a Python method */
    void *held;
} HeldSlot;

#define NUMBER_SLOT(NAME)                                                                                              \
    {offsetof(PyTypeObject, tp_as_number), offsetof(PyNumberMethods, NAME), (void **)&original_##NAME,                 \
     (void *)held_##NAME}
#define TYPE_SLOT(NAME) {-1, offsetof(PyTypeObject, NAME), (void **)&original_##NAME, (void *)held_##NAME}

static HeldSlot held_slots[] = {
    NUMBER_SLOT(nb_add),
    NUMBER_SLOT(nb_subtract),
    NUMBER_SLOT(nb_multiply),
    NUMBER_SLOT(nb_remainder),
    NUMBER_SLOT(nb_divmod),
    NUMBER_SLOT(nb_lshift),
    NUMBER_SLOT(nb_rshift),
    NUMBER_SLOT(nb_and),
    NUMBER_SLOT(nb_xor),
    NUMBER_SLOT(nb_or),
    NUMBER_SLOT(nb_floor_divide),
    NUMBER_SLOT(nb_true_divide),
    NUMBER_SLOT(nb_matrix_multiply),
    NUMBER_SLOT(nb_inplace_add),
    NUMBER_SLOT(nb_inplace_subtract),
    NUMBER_SLOT(nb_inplace_multiply),
    NUMBER_SLOT(nb_inplace_remainder),
    NUMBER_SLOT(nb_inplace_lshift),
    NUMBER_SLOT(nb_inplace_rshift),
    NUMBER_SLOT(nb_inplace_and),
    NUMBER_SLOT(nb_inplace_xor),
    NUMBER_SLOT(nb_inplace_or),
    NUMBER_SLOT(nb_inplace_floor_divide),
    NUMBER_SLOT(nb_inplace_true_divide),
    NUMBER_SLOT(nb_inplace_matrix_multiply),
    NUMBER_SLOT(nb_power),
    NUMBER_SLOT(nb_inplace_power),
    NUMBER_SLOT(nb_index),
    NUMBER_SLOT(nb_bool),
    NUMBER_SLOT(nb_negative),
    NUMBER_SLOT(nb_positive),
    NUMBER_SLOT(nb_absolute),
    NUMBER_SLOT(nb_invert),
    NUMBER_SLOT(nb_int),
    NUMBER_SLOT(nb_float),
    {offsetof(PyTypeObject, tp_as_sequence), offsetof(PySequenceMethods, sq_length), (void **)&original_sq_length,
     (void *)held_sq_length},
    {offsetof(PyTypeObject, tp_as_mapping), offsetof(PyMappingMethods, mp_length), (void **)&original_mp_length,
     (void *)held_mp_length},
    {offsetof(PyTypeObject, tp_as_sequence), offsetof(PySequenceMethods, sq_ass_item), (void **)&original_sq_ass_item,
     (void *)held_sq_ass_item},
    {offsetof(PyTypeObject, tp_as_mapping), offsetof(PyMappingMethods, mp_ass_subscript),
     (void **)&original_mp_ass_subscript, (void *)held_mp_ass_subscript},
    {offsetof(PyTypeObject, tp_as_mapping), offsetof(PyMappingMethods, mp_subscript), (void **)&original_mp_subscript,
     (void *)held_mp_subscript},
    {offsetof(PyTypeObject, tp_as_sequence), offsetof(PySequenceMethods, sq_item), (void **)&original_sq_item,
     (void *)held_sq_item},
    {offsetof(PyTypeObject, tp_as_sequence), offsetof(PySequenceMethods, sq_contains), (void **)&original_sq_contains,
     (void *)held_sq_contains},
    TYPE_SLOT(tp_call),
    TYPE_SLOT(tp_iternext),
    TYPE_SLOT(tp_hash),
    TYPE_SLOT(tp_richcompare),
    TYPE_SLOT(tp_repr),
    TYPE_SLOT(tp_str),
    TYPE_SLOT(tp_iter),
    TYPE_SLOT(tp_getattro),
    {-1, offsetof(PyTypeObject, tp_getattro), (void **)&original_tp_getattribute, (void *)held_tp_getattribute},
    TYPE_SLOT(tp_descr_get),
    TYPE_SLOT(tp_descr_set),
};
#define HELD_SLOT_COUNT ((int)(sizeof(held_slots) / sizeof(held_slots[0])))

int
hold_type_operands(PyTypeObject *type)
{
    if (PyType_HasFeature(type, Py_TPFLAGS_HEAPTYPE)) {
        for (int i = 0; i < HELD_SLOT_COUNT; i++) {
            repair_slot(type, held_slots[i].table, held_slots[i].offset, *held_slots[i].original, held_slots[i].held);
        }
        /* a class made now has its finalizer from its base's `__del__` or its own */
        return defer_type_finalizer(type);
    }
    return 0;
}

/* `type` and every subclass of it, held again, without allocating (it follows 3.11's
 * tp_subclasses, a dict of weak references, in place): a failed allocation must not
 * leave a class with the generic slot its special method was just given. Deeper than
 * MAX_HELD_DEPTH, the allocating walk takes over. */
#define MAX_HELD_DEPTH 1000

static int
hold_in_place(PyTypeObject *type, int depth)
{
    if (hold_type_operands(type) < 0) {
        return -1;
    }
    PyObject *subclasses = type->tp_subclasses;
    if (subclasses == NULL || !PyDict_Check(subclasses)) {
        return 0;
    }
    Py_ssize_t position = 0;
    PyObject *key, *reference;
    while (PyDict_Next(subclasses, &position, &key, &reference)) {
        PyObject *subclass = PyWeakref_GET_OBJECT(reference);
        if (subclass == Py_None || !PyType_Check(subclass)) {
            continue;
        }
        int held = depth < MAX_HELD_DEPTH ? hold_in_place((PyTypeObject *)subclass, depth + 1)
                                          : walk_subclasses((PyTypeObject *)subclass, hold_type_operands);
        if (held < 0) {
            return -1;
        }
    }
    return 0;
}

/* Setting or deleting a special method of a class (functools.total_ordering,
 * dataclass) puts the generic slot back in it and in its subclasses: held again here,
 * whatever the store itself answered (it may fail after the slot changed).
 *
 * And the value a store replaces (or a deletion removes) is released inside the dict
 * store, before the original invalidates the type's attribute cache, which lends it by a
 * borrowed pointer (so do the interpreter's per-instruction caches, by the same version
 * tag): code the release runs (a suspended generator's `finally`, a finaliser) read the
 * dying value back through the cache and kept it past its free (attack pass 75: a full
 * escape, 36 of 36 shapes). It is held here until the original has returned, with the
 * caches invalid, as 3.13 orders it. */
static setattrofunc original_type_setattro = NULL;

/* A new reference to what `type`'s own dict holds under `name`, NULL if nothing (or an
 * error, set). The name as the original stores it: an exact str. */
static PyObject *
value_replaced(PyObject *type, PyObject *name)
{
    PyObject *dict = ((PyTypeObject *)type)->tp_dict;
    if (dict == NULL || !PyUnicode_Check(name)) {
        return NULL;
    }
    PyObject *key = PyUnicode_CheckExact(name) ? Py_NewRef(name) : PyUnicode_FromObject(name);
    if (key == NULL) {
        return NULL;
    }
    PyObject *old = PyDict_GetItemWithError(dict, key);
    Py_XINCREF(old);
    Py_DECREF(key);
    return old;
}

static int
holding_type_setattro(PyObject *type, PyObject *name, PyObject *value)
{
    PyObject *old = PyType_Check(type) ? value_replaced(type, name) : NULL;
    if (old == NULL && PyErr_Occurred()) {
        return -1;
    }
    int result = original_type_setattro(type, name, value);
    /* Only a special method's name changes a slot: a class attribute (`Cls.count += 1`)
     * does not walk the subclasses. */
    if (PyType_Check(type) && PyUnicode_Check(name) && PyUnicode_GET_LENGTH(name) > 4 &&
        PyUnicode_READ_CHAR(name, 0) == '_' && PyUnicode_READ_CHAR(name, 1) == '_' &&
        hold_in_place((PyTypeObject *)type, 0) < 0) {
        result = -1;
    }
    Py_XDECREF(old); /* last: what its release runs finds the class as it now is */
    return result;
}

/* Every class made from now on holds its operands from the moment type.__new__ returns
 * it (a library's too: a library class's Python special method returning NotImplemented
 * also leaves C code with an operand its frame freed; pass 69). The program's classes
 * are held earlier still, when their statement's hooks first see them
 * (ownership.UserClasses.add). */
static newfunc original_type_new = NULL;

static PyObject *
holding_type_new(PyTypeObject *metatype, PyObject *args, PyObject *kwds)
{
    PyObject *type = original_type_new(metatype, args, kwds);
    if (type != NULL && PyType_Check(type) && hold_type_operands((PyTypeObject *)type) < 0) {
        Py_CLEAR(type);
    }
    return type;
}

static int
repair_type_setattro(PyTypeObject *type)
{
    repair_slot(type, -1, offsetof(PyTypeObject, tp_new), (void *)original_type_new, (void *)holding_type_new);
    REPAIR_SLOT(type, -1, offsetof(PyTypeObject, tp_setattro), original_type_setattro, holding_type_setattro,
                "__setattr__", "__delattr__");
    return 0;
}

/* Whether `function` is a slot function that runs a Python special method: the generic one
 * typeobject.c installs, or its held replacement. */
int
runs_python_method(void *function)
{
    for (int i = 0; i < HELD_SLOT_COUNT; i++) {
        if (function == *held_slots[i].original || function == held_slots[i].held) {
            return 1;
        }
    }
    return 0;
}

int
class_operands_applied(void)
{
    return original_type_setattro != NULL;
}

int
type_operands_held(PyTypeObject *type)
{
    int held = 0;
    for (int i = 0; i < HELD_SLOT_COUNT; i++) {
        char *base = (char *)type;
        if (held_slots[i].table >= 0 && (base = *(char **)(base + held_slots[i].table)) == NULL) {
            continue;
        }
        void *slot = *(void **)(base + held_slots[i].offset);
        if (slot == *held_slots[i].original) {
            return 0;
        }
        held |= slot == held_slots[i].held;
    }
    return held;
}

/* `reference`: a heap class whose special methods are Python functions, one for each slot
 * in held_slots, from which the generic slot functions are read; `getattribute_only`: a
 * class with a Python __getattribute__ and no __getattr__ that has answered one lookup
 * (its slot is then typeobject.c's slot_tp_getattro, which `reference` cannot show). Then
 * type's own slots are repaired and every class that exists now is held. */
int
hold_class_operands(PyObject *reference, PyObject *getattribute_only)
{
    if (!PyType_Check(reference) || !PyType_HasFeature((PyTypeObject *)reference, Py_TPFLAGS_HEAPTYPE) ||
        !PyType_Check(getattribute_only)) {
        PyErr_SetString(PyExc_TypeError, "apply() takes two classes with Python special methods");
        return -1;
    }
    for (int i = 0; i < HELD_SLOT_COUNT; i++) {
        char *base = (char *)reference;
        if (held_slots[i].table >= 0) {
            base = *(char **)(base + held_slots[i].table);
        }
        *held_slots[i].original = *(void **)(base + held_slots[i].offset);
        if (*held_slots[i].original == NULL) {
            PyErr_Format(PyExc_TypeError, "the reference class has no special method for held slot %d", i);
            return -1;
        }
    }
    /* The entry read from `reference` above is its hook; this one is the other class's. */
    original_tp_getattribute = ((PyTypeObject *)getattribute_only)->tp_getattro;
    if (original_tp_getattribute == original_tp_getattro) {
        PyErr_SetString(PyExc_TypeError, "getattribute_only has not answered a lookup yet");
        return -1;
    }
    for (int i = 0; i < BINARY_SLOT_COUNT; i++) {
        binary_slots[i].method = PyUnicode_InternFromString(binary_slots[i].name);
        binary_slots[i].reflected = PyUnicode_InternFromString(binary_slots[i].reflected_name);
        if (binary_slots[i].method == NULL || binary_slots[i].reflected == NULL) {
            return -1;
        }
    }
    original_type_setattro = PyType_Type.tp_setattro;
    original_type_new = PyType_Type.tp_new;
    if (walk_subclasses(&PyType_Type, repair_type_setattro) < 0 ||
        walk_subclasses(&PyBaseObject_Type, hold_type_operands) < 0) {
        return -1;
    }
    return 0;
}
