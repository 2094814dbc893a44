/* Repairs of memory-safety bugs in CPython 3.11's own C code that a program reaches with
 * nothing but its own classes, hooks and bytes (docs/security.md, "Memory-safety bugs of
 * CPython itself"). Each is one family: C code keeps a pointer it does not own (a borrowed
 * operand, a field of another object, a buffer, its own state read before it converts an
 * argument) across a call into the program, the program frees what it points to, refills
 * the memory and has a forged object. The membrane cannot see that (the forged object's
 * header names a plain type), so the repair is where the pointer is kept: in the slot or
 * method of the C type, as upstream fixes such bugs.
 *
 * apply() makes them all, once per process, in the template before any program class
 * exists (subclasses that exist already are walked; later ones copy the repaired slots).
 * Every class holds its operands from type.__new__ on, is held again after any special
 * method of it is set (type's tp_setattro, repaired here too), and hold_operands(cls) is
 * called for the program's classes when their statement's hooks first see them
 * (ownership.UserClasses). Not guards: they run whatever the guard mode, and the service
 * reports them as the layer "interpreter_repairs" (a server without them is not healthy
 * by default). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>

/* Calls visit(type) for `base` and every subclass of it that exists now, at any depth. */
static int
walk_subclasses(PyTypeObject *base, int (*visit)(PyTypeObject *))
{
    PyObject *pending = PyList_New(0);
    if (pending == NULL || PyList_Append(pending, (PyObject *)base) < 0) {
        Py_XDECREF(pending);
        return -1;
    }
    while (PyList_GET_SIZE(pending) > 0) {
        Py_ssize_t last = PyList_GET_SIZE(pending) - 1;
        PyObject *type = Py_NewRef(PyList_GET_ITEM(pending, last));
        PyObject *subclasses = NULL;
        if (PyList_SetSlice(pending, last, last + 1, NULL) < 0 || visit((PyTypeObject *)type) < 0 ||
            /* type.__subclasses__(type): no metaclass of the class is asked */
            (subclasses = PyObject_CallMethod((PyObject *)&PyType_Type, "__subclasses__", "O", type)) == NULL) {
            Py_DECREF(type);
            Py_DECREF(pending);
            return -1;
        }
        Py_DECREF(type);
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(subclasses); j++) {
            if (PyList_Append(pending, PyList_GET_ITEM(subclasses, j)) < 0) {
                Py_DECREF(subclasses);
                Py_DECREF(pending);
                return -1;
            }
        }
        Py_DECREF(subclasses);
    }
    Py_DECREF(pending);
    return 0;
}

/* Points the wrapper descriptor `name` of `type` (`list.__lt__`, `property.__get__`...) at
 * `repaired` if it wraps `original`: calls through the descriptor bypass the slot. */
static void
repair_wrapper(PyTypeObject *type, const char *name, void *original, void *repaired)
{
    PyObject *descriptor = PyDict_GetItemString(type->tp_dict, name); /* borrowed, no code runs */
    if (descriptor != NULL && PyObject_TypeCheck(descriptor, &PyWrapperDescr_Type)) {
        PyWrapperDescrObject *wrapper = (PyWrapperDescrObject *)descriptor;
        if (wrapper->d_wrapped == original) {
            wrapper->d_wrapped = repaired;
        }
    }
}

/* The repaired slot in place of `original` in the slot at `offset` of `type`: of the
 * sub-table whose pointer is at `table` in PyTypeObject (tp_as_number...), or of
 * PyTypeObject itself for a `table` of -1. */
static void
repair_slot(PyTypeObject *type, Py_ssize_t table, Py_ssize_t offset, void *original, void *repaired)
{
    char *base = (char *)type;
    if (table >= 0) {
        base = *(char **)((char *)type + table);
        if (base == NULL) {
            return;
        }
    }
    void **slot = (void **)(base + offset);
    if (*slot == original) {
        *slot = repaired;
        PyType_Modified(type);
    }
}

/* The comparison slot of `type` and its six wrapper descriptors (`__lt__`...). */
static void
repair_comparison(PyTypeObject *type, richcmpfunc original, richcmpfunc repaired)
{
    repair_slot(type, -1, offsetof(PyTypeObject, tp_richcompare), (void *)original, (void *)repaired);
    const char *comparisons[] = {"__lt__", "__le__", "__eq__", "__ne__", "__gt__", "__ge__"};
    for (int i = 0; i < 6; i++) {
        repair_wrapper(type, comparisons[i], (void *)original, (void *)repaired);
    }
}

/* Swaps the C function of `type`'s method `name` for `repaired` if it has `flags`. */
static int
repair_method(PyTypeObject *type, const char *name, int flags, PyCFunction *original, PyCFunction repaired)
{
    PyObject *descriptor = PyDict_GetItemString(type->tp_dict, name);
    if (descriptor == NULL || !PyObject_TypeCheck(descriptor, &PyMethodDescr_Type) ||
        ((PyMethodDescrObject *)descriptor)->d_method->ml_flags != flags) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not the method this repair knows", type->tp_name, name);
        return -1;
    }
    PyMethodDef *definition = ((PyMethodDescrObject *)descriptor)->d_method;
    *original = definition->ml_meth;
    definition->ml_meth = repaired;
    return 0;
}

/* repair_list_reentrancy(): two memory-safety bugs of 3.11's list that a program reaches
 * with its own hooks alone, fixed upstream in 3.12/3.13 only (attack pass 65 made each a
 * full escape):
 *   - gh-120384: `lst[a:b:c] = it` computes the slice on the list's size, then runs the
 *     program's iterator, which may shrink the list, then stores past its end. Here any
 *     value but an exact list or tuple is made a list first, before the slice is computed
 *     (as 3.13 does);
 *   - gh-120298: `x < y` compares the first differing items again with borrowed
 *     references, and a reflected comparison of the program's may free them. Here both
 *     are held for that last comparison (as 3.13 does).
 * Both go into list's type slots and into its wrapper descriptors (`list.__setitem__`,
 * `list.__lt__` ...), whose function pointers heap subclasses made later copy; list
 * subclasses that already exist (library ones) take the slot too. */
static objobjargproc original_list_ass_subscript = NULL;
static richcmpfunc original_list_richcompare = NULL;

static int
materialized_list_ass_subscript(PyObject *self, PyObject *item, PyObject *value)
{
    if (value == NULL || !PySlice_Check(item) || PyList_CheckExact(value) || PyTuple_CheckExact(value)) {
        return original_list_ass_subscript(self, item, value);
    }
    PyObject *step = ((PySliceObject *)item)->step;
    int overflow = 0;
    int simple = step == Py_None || (PyLong_CheckExact(step) && PyLong_AsLongAndOverflow(step, &overflow) == 1);
    PyObject *items =
        PySequence_Fast(value, simple ? "can only assign an iterable" : "must assign iterable to extended slice");
    if (items == NULL) {
        return -1;
    }
    int result = original_list_ass_subscript(self, item, items);
    Py_DECREF(items);
    return result;
}

static PyObject *
held_list_richcompare(PyObject *v, PyObject *w, int op)
{
    if (!PyList_Check(v) || !PyList_Check(w)) {
        Py_RETURN_NOTIMPLEMENTED;
    }
    PyListObject *vl = (PyListObject *)v, *wl = (PyListObject *)w;
    if (Py_SIZE(vl) != Py_SIZE(wl) && (op == Py_EQ || op == Py_NE)) {
        /* Shortcut: if the lengths differ, the lists differ */
        if (op == Py_EQ) {
            Py_RETURN_FALSE;
        }
        Py_RETURN_TRUE;
    }
    Py_ssize_t i;
    for (i = 0; i < Py_SIZE(vl) && i < Py_SIZE(wl); i++) {
        PyObject *vitem = vl->ob_item[i];
        PyObject *witem = wl->ob_item[i];
        if (vitem == witem) {
            continue;
        }
        Py_INCREF(vitem);
        Py_INCREF(witem);
        int k = PyObject_RichCompareBool(vitem, witem, Py_EQ);
        Py_DECREF(vitem);
        Py_DECREF(witem);
        if (k < 0) {
            return NULL;
        }
        if (!k) {
            break;
        }
    }
    if (i >= Py_SIZE(vl) || i >= Py_SIZE(wl)) {
        /* No more items to compare -- compare sizes */
        Py_RETURN_RICHCOMPARE(Py_SIZE(vl), Py_SIZE(wl), op);
    }
    if (op == Py_EQ) {
        Py_RETURN_FALSE;
    }
    if (op == Py_NE) {
        Py_RETURN_TRUE;
    }
    /* The final items compared again with the proper operator: held meanwhile. */
    PyObject *vitem = Py_NewRef(vl->ob_item[i]);
    PyObject *witem = Py_NewRef(wl->ob_item[i]);
    PyObject *result = PyObject_RichCompare(vitem, witem, op);
    Py_DECREF(vitem);
    Py_DECREF(witem);
    return result;
}

static int
repair_list_type(PyTypeObject *type)
{
    repair_slot(type, offsetof(PyTypeObject, tp_as_mapping), offsetof(PyMappingMethods, mp_ass_subscript),
                (void *)original_list_ass_subscript, (void *)materialized_list_ass_subscript);
    repair_wrapper(type, "__setitem__", (void *)original_list_ass_subscript, (void *)materialized_list_ass_subscript);
    repair_comparison(type, original_list_richcompare, held_list_richcompare);
    return 0;
}

static int
repair_list_reentrancy(void)
{
    original_list_ass_subscript = PyList_Type.tp_as_mapping->mp_ass_subscript;
    original_list_richcompare = PyList_Type.tp_richcompare;
    return walk_subclasses(&PyList_Type, repair_list_type);
}

/* check_datetime_states(): datetime's C constructors take a pickled state (bytes, or a
 * str of the same length) and check only its month (its hour, for time): a year 0 made
 * weekday() negative and ctime() read its day name out of bounds, and other days crashed
 * (attack pass 65, still so on 3.13). Here a state passes only if every field is in the
 * range the ordinary constructor accepts; copy and pickle, which make valid states, are
 * unchanged. The types' tp_new (which `__new__` calls too, and subclasses copy) is
 * wrapped. */
static newfunc original_date_new = NULL, original_datetime_new = NULL, original_time_new = NULL;

static int
days_in_month(int year, int month)
{
    static const int days[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month];
}

/* The state's bytes if `args` takes the pickled-state branch of a constructor whose state
 * has `size` bytes, else NULL (an ordinary call). `bytes_out` must be `size` long. */
static int
pickled_state(PyObject *args, Py_ssize_t size, unsigned char *bytes_out)
{
    Py_ssize_t count = PyTuple_GET_SIZE(args);
    if (count < 1 || count > 2) {
        return 0;
    }
    PyObject *state = PyTuple_GET_ITEM(args, 0);
    if (PyBytes_Check(state) && PyBytes_GET_SIZE(state) == size) {
        memcpy(bytes_out, PyBytes_AS_STRING(state), size);
        return 1;
    }
    if (PyUnicode_Check(state) && PyUnicode_READY(state) == 0 && PyUnicode_GET_LENGTH(state) == size) {
        for (Py_ssize_t i = 0; i < size; i++) {
            Py_UCS4 c = PyUnicode_READ_CHAR(state, i);
            if (c > 0xFF) {
                return 0; /* not latin-1: the constructor refuses it itself */
            }
            bytes_out[i] = (unsigned char)c;
        }
        return 1;
    }
    return 0;
}

static int
sane_date(const unsigned char *b)
{
    int year = b[0] * 256 + b[1], month = b[2] & 0x7F, day = b[3];
    return year >= 1 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 && day <= days_in_month(year, month);
}

static int
sane_time(const unsigned char *b)
{
    int microsecond = (b[3] << 16) | (b[4] << 8) | b[5];
    return (b[0] & 0x7F) < 24 && b[1] < 60 && b[2] < 60 && microsecond < 1000000;
}

static PyObject *
refused_state(const char *kind)
{
    PyErr_Format(PyExc_ValueError, "a pickled %s state out of range", kind);
    return NULL;
}

static PyObject *
checked_date_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    unsigned char b[4];
    if (pickled_state(args, 4, b) && (b[2] & 0x7F) >= 1 && (b[2] & 0x7F) <= 12 && !sane_date(b)) {
        return refused_state("date");
    }
    return original_date_new(type, args, kwds);
}

static PyObject *
checked_datetime_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    unsigned char b[10];
    /* A datetime's fold is in its month byte: its hour byte is the hour itself. */
    if (pickled_state(args, 10, b) && (b[2] & 0x7F) >= 1 && (b[2] & 0x7F) <= 12 &&
        (!sane_date(b) || b[4] >= 24 || !sane_time(b + 4))) {
        return refused_state("datetime");
    }
    return original_datetime_new(type, args, kwds);
}

static PyObject *
checked_time_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    unsigned char b[6];
    if (pickled_state(args, 6, b) && (b[0] & 0x7F) < 24 && !sane_time(b)) {
        return refused_state("time");
    }
    return original_time_new(type, args, kwds);
}

static int
check_datetime_states(void)
{
    PyObject *datetime = PyImport_ImportModule("datetime");
    if (datetime == NULL) {
        return -1;
    }
    PyTypeObject *types[3];
    const char *names[3] = {"date", "datetime", "time"};
    for (int i = 0; i < 3; i++) {
        PyObject *type = PyObject_GetAttrString(datetime, names[i]);
        if (type == NULL || !PyType_Check(type) || (((PyTypeObject *)type)->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
            Py_XDECREF(type);
            Py_DECREF(datetime);
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_TypeError, "datetime's classes are not the C ones");
            }
            return -1;
        }
        types[i] = (PyTypeObject *)type; /* the module keeps them alive */
        Py_DECREF(type);
    }
    Py_DECREF(datetime);
    original_date_new = types[0]->tp_new;
    original_datetime_new = types[1]->tp_new;
    original_time_new = types[2]->tp_new;
    types[0]->tp_new = checked_date_new;
    types[1]->tp_new = checked_datetime_new;
    types[2]->tp_new = checked_time_new;
    for (int i = 0; i < 3; i++) {
        PyType_Modified(types[i]);
    }
    return 0;
}

/* property: `property_descr_get` calls its getter (`property_descr_set` its setter or
 * deleter) by the pointer in the descriptor, unowned, and the call may re-run
 * `property.__init__` on the live descriptor (a subclass of the program's, or
 * abc.abstractproperty), which frees the accessor while it runs (attack pass 67: a full
 * escape through a bound method whose list is freed mid-extend). Here the descriptor and
 * its accessors are held for the call. */
typedef struct {
    PyObject_HEAD PyObject *prop_get;
    PyObject *prop_set;
    PyObject *prop_del;
} PropertyHead; /* the leading fields of descrobject.c's propertyobject */

static descrgetfunc original_property_get = NULL;
static descrsetfunc original_property_set = NULL;

static PyObject *
held_property_get(PyObject *self, PyObject *obj, PyObject *type)
{
    PropertyHead *property = (PropertyHead *)self;
    PyObject *getter = Py_XNewRef(property->prop_get);
    Py_INCREF(self);
    PyObject *result = original_property_get(self, obj, type);
    Py_DECREF(self);
    Py_XDECREF(getter);
    return result;
}

static int
held_property_set(PyObject *self, PyObject *obj, PyObject *value)
{
    PropertyHead *property = (PropertyHead *)self;
    PyObject *setter = Py_XNewRef(property->prop_set), *deleter = Py_XNewRef(property->prop_del);
    Py_INCREF(self);
    int result = original_property_set(self, obj, value);
    Py_DECREF(self);
    Py_XDECREF(setter);
    Py_XDECREF(deleter);
    return result;
}

static int
repair_property_type(PyTypeObject *type)
{
    repair_slot(type, -1, offsetof(PyTypeObject, tp_descr_get), (void *)original_property_get,
                (void *)held_property_get);
    repair_slot(type, -1, offsetof(PyTypeObject, tp_descr_set), (void *)original_property_set,
                (void *)held_property_set);
    repair_wrapper(type, "__get__", (void *)original_property_get, (void *)held_property_get);
    repair_wrapper(type, "__set__", (void *)original_property_set, (void *)held_property_set);
    repair_wrapper(type, "__delete__", (void *)original_property_set, (void *)held_property_set);
    return 0;
}

/* The containers' comparisons walk their own items while an item's __eq__ (the program's)
 * runs, and the container itself may be one that the caller holds by a borrowed pointer
 * (an item of a deque or a list being compared, of a tuple being walked): the item's
 * __eq__ can drop its last owner and free it mid-walk (attack pass 69, a full escape
 * through a tuple). The comparison of tuple, list, dict, set and frozenset holds both
 * operands for the call and keeps one the call left with no other owner, as the held
 * slots of the classes do; tuple's hash (which hashes its items) likewise. So do the other
 * C comparisons that call the program and then use their operand: dict views (len() of
 * the other side), mappingproxy and SimpleNamespace (their dicts), deque, and aware
 * datetimes and times (the program's tzinfo; pass 71: two full escapes). */
static void release_unless_last(PyObject *operand);

#define HELD_CONTAINER_RICHCOMPARE(NAME)                                                                               \
    static richcmpfunc unheld_##NAME##_comparison = NULL;                                                              \
    static PyObject *holding_##NAME##_comparison(PyObject *a, PyObject *b, int op)                                     \
    {                                                                                                                  \
        Py_INCREF(a);                                                                                                  \
        Py_INCREF(b);                                                                                                  \
        PyObject *result = unheld_##NAME##_comparison(a, b, op);                                                       \
        release_unless_last(a);                                                                                        \
        release_unless_last(b);                                                                                        \
        return result;                                                                                                 \
    }                                                                                                                  \
    static int hold_##NAME##_comparison(PyTypeObject *type)                                                            \
    {                                                                                                                  \
        repair_comparison(type, unheld_##NAME##_comparison, holding_##NAME##_comparison);                              \
        return 0;                                                                                                      \
    }
HELD_CONTAINER_RICHCOMPARE(tuple)
HELD_CONTAINER_RICHCOMPARE(list)
HELD_CONTAINER_RICHCOMPARE(dict)
HELD_CONTAINER_RICHCOMPARE(set)
HELD_CONTAINER_RICHCOMPARE(frozenset)
HELD_CONTAINER_RICHCOMPARE(dict_keys)
HELD_CONTAINER_RICHCOMPARE(dict_items)
HELD_CONTAINER_RICHCOMPARE(mappingproxy)
HELD_CONTAINER_RICHCOMPARE(namespace)
HELD_CONTAINER_RICHCOMPARE(deque)
HELD_CONTAINER_RICHCOMPARE(datetime)
HELD_CONTAINER_RICHCOMPARE(time)

static hashfunc original_tuple_hash = NULL;

static Py_hash_t
held_tuple_hash(PyObject *tuple)
{
    Py_INCREF(tuple);
    Py_hash_t hash = original_tuple_hash(tuple);
    release_unless_last(tuple);
    return hash;
}

static int
hold_tuple_hash(PyTypeObject *type)
{
    repair_slot(type, -1, offsetof(PyTypeObject, tp_hash), (void *)original_tuple_hash, (void *)held_tuple_hash);
    repair_wrapper(type, "__hash__", (void *)original_tuple_hash, (void *)held_tuple_hash);
    return 0;
}

/* `module.name`, a static (C) type the module keeps alive; NULL with an error otherwise. */
static PyTypeObject *
imported_type(const char *module_name, const char *name)
{
    PyObject *module = PyImport_ImportModule(module_name);
    PyObject *type = module == NULL ? NULL : PyObject_GetAttrString(module, name);
    Py_XDECREF(module);
    if (type == NULL) {
        return NULL;
    }
    Py_DECREF(type); /* the module keeps it */
    if (!PyType_Check(type) || PyType_HasFeature((PyTypeObject *)type, Py_TPFLAGS_HEAPTYPE)) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not the C type this repair knows", module_name, name);
        return NULL;
    }
    return (PyTypeObject *)type;
}

/* After the list repair: list's comparison is the repaired one, held in turn. */
static int
hold_container_comparisons(void)
{
    unheld_tuple_comparison = PyTuple_Type.tp_richcompare;
    unheld_list_comparison = PyList_Type.tp_richcompare;
    unheld_dict_comparison = PyDict_Type.tp_richcompare;
    unheld_set_comparison = PySet_Type.tp_richcompare;
    unheld_frozenset_comparison = PyFrozenSet_Type.tp_richcompare;
    original_tuple_hash = PyTuple_Type.tp_hash;
    unheld_dict_keys_comparison = PyDictKeys_Type.tp_richcompare;
    unheld_dict_items_comparison = PyDictItems_Type.tp_richcompare;
    unheld_mappingproxy_comparison = PyDictProxy_Type.tp_richcompare;
    PyTypeObject *namespace = imported_type("types", "SimpleNamespace");
    PyTypeObject *deque = namespace == NULL ? NULL : imported_type("collections", "deque");
    PyTypeObject *datetime = deque == NULL ? NULL : imported_type("datetime", "datetime");
    PyTypeObject *time = datetime == NULL ? NULL : imported_type("datetime", "time");
    if (time == NULL) {
        return -1;
    }
    unheld_namespace_comparison = namespace->tp_richcompare;
    unheld_deque_comparison = deque->tp_richcompare;
    unheld_datetime_comparison = datetime->tp_richcompare;
    unheld_time_comparison = time->tp_richcompare;
    if (walk_subclasses(&PyDictKeys_Type, hold_dict_keys_comparison) < 0 ||
        walk_subclasses(&PyDictItems_Type, hold_dict_items_comparison) < 0 ||
        walk_subclasses(&PyDictProxy_Type, hold_mappingproxy_comparison) < 0 ||
        walk_subclasses(namespace, hold_namespace_comparison) < 0 ||
        walk_subclasses(deque, hold_deque_comparison) < 0 || walk_subclasses(datetime, hold_datetime_comparison) < 0 ||
        walk_subclasses(time, hold_time_comparison) < 0) {
        return -1;
    }
    if (walk_subclasses(&PyTuple_Type, hold_tuple_comparison) < 0 ||
        walk_subclasses(&PyTuple_Type, hold_tuple_hash) < 0 ||
        walk_subclasses(&PyList_Type, hold_list_comparison) < 0 ||
        walk_subclasses(&PyDict_Type, hold_dict_comparison) < 0 ||
        walk_subclasses(&PySet_Type, hold_set_comparison) < 0 ||
        walk_subclasses(&PyFrozenSet_Type, hold_frozenset_comparison) < 0) {
        return -1;
    }
    return 0;
}

/* staticmethod's call and classmethod's __get__ use the callable they wrap by the pointer
 * in the object, and `staticmethod.__init__` re-run on the live object from inside the
 * call frees it (pass 69: property's route again, a full escape). Held for the call. */
typedef struct {
    PyObject_HEAD PyObject *callable;
} WrapperHead; /* funcobject.c's staticmethod and classmethod */

static ternaryfunc original_staticmethod_call = NULL;
static descrgetfunc original_classmethod_get = NULL;

static PyObject *
held_staticmethod_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
    PyObject *callable = Py_XNewRef(((WrapperHead *)self)->callable);
    Py_INCREF(self);
    PyObject *result = original_staticmethod_call(self, args, kwargs);
    Py_DECREF(self);
    Py_XDECREF(callable);
    return result;
}

static PyObject *
held_classmethod_get(PyObject *self, PyObject *obj, PyObject *type)
{
    PyObject *callable = Py_XNewRef(((WrapperHead *)self)->callable);
    Py_INCREF(self);
    PyObject *result = original_classmethod_get(self, obj, type);
    Py_DECREF(self);
    Py_XDECREF(callable);
    return result;
}

static int
repair_staticmethod_type(PyTypeObject *type)
{
    repair_slot(type, -1, offsetof(PyTypeObject, tp_call), (void *)original_staticmethod_call,
                (void *)held_staticmethod_call);
    repair_wrapper(type, "__call__", (void *)original_staticmethod_call, (void *)held_staticmethod_call);
    return 0;
}

static int
repair_classmethod_type(PyTypeObject *type)
{
    repair_slot(type, -1, offsetof(PyTypeObject, tp_descr_get), (void *)original_classmethod_get,
                (void *)held_classmethod_get);
    repair_wrapper(type, "__get__", (void *)original_classmethod_get, (void *)held_classmethod_get);
    return 0;
}

/* deque's index, count, remove and `in` compare the deque's items by the pointers in its
 * blocks, and an item's comparison (the program's __eq__ inside a tuple) may clear the
 * deque and free the item mid-compare (pass 69: a full escape through index). Here they
 * hold a snapshot of the items (a list: O(n), as the search itself) for the call. */
static _PyCFunctionFast original_deque_index = NULL;
static PyCFunction original_deque_count = NULL, original_deque_remove = NULL;
static objobjproc original_deque_contains = NULL;

/* index also reads the deque's first block before it converts `start` and `stop` (the
 * program's __index__, which may free that block: pass 69): they are converted first. */
/* The deque's items as a list, through deque's own C iterator: a subclass's __iter__ (the
 * program's) could hand back anything, and hold nothing (pass 71). */
static getiterfunc deque_own_iter = NULL;

static PyObject *
deque_items(PyObject *self)
{
    PyObject *iterator = deque_own_iter(self);
    if (iterator == NULL) {
        return NULL;
    }
    PyObject *items = PySequence_List(iterator);
    Py_DECREF(iterator);
    return items;
}

static PyObject *
deque_index_holding_items(PyObject *self, PyObject *const *args, Py_ssize_t count)
{
    if (count > 3) {
        return original_deque_index(self, args, count); /* its own error for the count */
    }
    PyObject *converted[3] = {NULL, NULL, NULL}; /* the value, then start and stop as ints */
    for (Py_ssize_t i = 0; i < count; i++) {
        converted[i] = i == 0 || PyLong_CheckExact(args[i]) ? Py_NewRef(args[i]) : PyNumber_Index(args[i]);
        if (converted[i] == NULL) {
            for (Py_ssize_t j = 0; j < i; j++) {
                Py_DECREF(converted[j]);
            }
            return NULL;
        }
    }
    PyObject *items = deque_items(self);
    PyObject *result = items == NULL ? NULL : original_deque_index(self, converted, count);
    Py_XDECREF(items);
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_DECREF(converted[i]);
    }
    return result;
}

#define DEQUE_HOLDING_ITEMS(NAME)                                                                                      \
    static PyObject *deque_##NAME##_holding_items(PyObject *self, PyObject *value)                                     \
    {                                                                                                                  \
        PyObject *items = deque_items(self);                                                                           \
        if (items == NULL) {                                                                                           \
            return NULL;                                                                                               \
        }                                                                                                              \
        PyObject *result = original_deque_##NAME(self, value);                                                         \
        Py_DECREF(items);                                                                                              \
        return result;                                                                                                 \
    }
DEQUE_HOLDING_ITEMS(count)
DEQUE_HOLDING_ITEMS(remove)

static int
deque_contains_holding_items(PyObject *self, PyObject *value)
{
    PyObject *items = deque_items(self);
    if (items == NULL) {
        return -1;
    }
    int result = original_deque_contains(self, value);
    Py_DECREF(items);
    return result;
}

static int
repair_deque_type(PyTypeObject *type)
{
    repair_slot(type, offsetof(PyTypeObject, tp_as_sequence), offsetof(PySequenceMethods, sq_contains),
                (void *)original_deque_contains, (void *)deque_contains_holding_items);
    repair_wrapper(type, "__contains__", (void *)original_deque_contains, (void *)deque_contains_holding_items);
    return 0;
}

static int
repair_deque(void)
{
    PyObject *collections = PyImport_ImportModule("collections");
    PyObject *deque = collections == NULL ? NULL : PyObject_GetAttrString(collections, "deque");
    Py_XDECREF(collections);
    if (deque == NULL) {
        return -1;
    }
    PyTypeObject *type = (PyTypeObject *)deque; /* the module keeps it */
    Py_DECREF(deque);
    if (!PyType_Check(deque) || PyType_HasFeature(type, Py_TPFLAGS_HEAPTYPE) || type->tp_as_sequence == NULL) {
        PyErr_SetString(PyExc_TypeError, "collections.deque is not _collections' C type");
        return -1;
    }
    original_deque_contains = type->tp_as_sequence->sq_contains;
    deque_own_iter = type->tp_iter;
    if (repair_method(type, "index", METH_FASTCALL, (PyCFunction *)&original_deque_index,
                      (PyCFunction)(void (*)(void))deque_index_holding_items) < 0 ||
        repair_method(type, "count", METH_O, &original_deque_count, deque_count_holding_items) < 0 ||
        repair_method(type, "remove", METH_O, &original_deque_remove, deque_remove_holding_items) < 0) {
        return -1;
    }
    return walk_subclasses(type, repair_deque_type);
}

/* The builtin iterators whose step calls the program and then uses state it does not
 * own: `iter(f, sentinel)` calls f and compares with the sentinel by its fields' pointers
 * and clears both when done (a program that re-enters the iterator from f or from the
 * comparison frees them mid-use: pass 67, two full escapes); `iter(obj)` over an object
 * with only `__getitem__` keeps the sequence in a local and releases it when an
 * IndexError ends it, once in the re-entered step and once more in the outer one (the
 * sequence is freed while the program still holds it). Here a step of either refuses to
 * be re-entered while it runs, and holds the iterator and its fields meanwhile. */
typedef struct {
    PyObject_HEAD PyObject *it_callable;
    PyObject *it_sentinel;
} CallIterHead; /* iterobject.c's calliterobject */

typedef struct {
    PyObject_HEAD Py_ssize_t it_index;
    PyObject *it_seq;
} SeqIterHead; /* iterobject.c's seqiterobject */

#define MAX_RUNNING_STEPS 1024
static PyObject *running_steps[MAX_RUNNING_STEPS];
static int running_step_count = 0;
static iternextfunc original_calliter_next = NULL, original_seqiter_next = NULL;

static PyObject *
unreentered_step(PyObject *self, iternextfunc original, PyObject *field_a, PyObject *field_b)
{
    for (int i = 0; i < running_step_count; i++) {
        if (running_steps[i] == self) {
            PyErr_Format(PyExc_RuntimeError, "%s re-entered while it runs", Py_TYPE(self)->tp_name);
            return NULL;
        }
    }
    if (running_step_count >= MAX_RUNNING_STEPS) {
        PyErr_SetString(PyExc_RecursionError, "too many iterator steps inside one another");
        return NULL;
    }
    Py_INCREF(self);
    Py_XINCREF(field_a);
    Py_XINCREF(field_b);
    running_steps[running_step_count++] = self;
    PyObject *result = original(self);
    running_step_count--;
    Py_XDECREF(field_b);
    Py_XDECREF(field_a);
    Py_DECREF(self);
    return result;
}

static PyObject *
unreentered_calliter_next(PyObject *self)
{
    CallIterHead *it = (CallIterHead *)self;
    return unreentered_step(self, original_calliter_next, it->it_callable, it->it_sentinel);
}

static PyObject *
unreentered_seqiter_next(PyObject *self)
{
    return unreentered_step(self, original_seqiter_next, ((SeqIterHead *)self)->it_seq, NULL);
}

/* OSError.__str__ formats "[Errno %S] %S: %R" from its fields, taking every pointer
 * before formatting the first: an errno whose __str__ rewrites the exception's strerror
 * and args (writable on a subclass of the program's) frees the next field mid-format
 * (pass 67, a full escape). Held here for the call, on OSError and every subclass. */
static reprfunc original_oserror_str = NULL;

static PyObject *
held_oserror_str(PyObject *self)
{
    PyOSErrorObject *error = (PyOSErrorObject *)self;
    PyObject *held[5] = {error->myerrno, error->strerror, error->filename, error->filename2, error->args};
    Py_INCREF(self);
    for (int i = 0; i < 5; i++) {
        Py_XINCREF(held[i]);
    }
    PyObject *result = original_oserror_str(self);
    for (int i = 0; i < 5; i++) {
        Py_XDECREF(held[i]);
    }
    Py_DECREF(self);
    return result;
}

static int
repair_oserror_type(PyTypeObject *type)
{
    repair_slot(type, -1, offsetof(PyTypeObject, tp_str), (void *)original_oserror_str, (void *)held_oserror_str);
    repair_wrapper(type, "__str__", (void *)original_oserror_str, (void *)held_oserror_str);
    return 0;
}

/* UnicodeDecodeError.__str__ reads the byte at `start` of its `object` field as a bytes
 * object's, without checking its type or that start is not negative: the fields are
 * writable (on a subclass of the program's, any value), and a list there read a byte past
 * the list (pass 67). Here the reason and encoding (whose __str__ may be the program's,
 * and rewrite the fields) are made strings first; then the object and the range are
 * checked, and the original formats with no code of the program's left to run. */
static reprfunc original_unicode_decode_error_str = NULL;

static PyObject *
checked_unicode_decode_error_str(PyObject *self)
{
    PyUnicodeErrorObject *error = (PyUnicodeErrorObject *)self;
    if (error->object == NULL) {
        return original_unicode_decode_error_str(self); /* not initialised: "" */
    }
    Py_INCREF(self);
    PyObject *reason = PyObject_Str(error->reason != NULL ? error->reason : Py_None);
    PyObject *encoding = reason == NULL ? NULL : PyObject_Str(error->encoding != NULL ? error->encoding : Py_None);
    PyObject *result = NULL;
    if (encoding != NULL) {
        PyObject *object = error->object;
        if (object == NULL || !PyBytes_Check(object)) {
            PyErr_SetString(PyExc_TypeError, "UnicodeDecodeError's object must be bytes");
        }
        else if (error->end == error->start + 1 && (error->start < 0 || error->start >= PyBytes_GET_SIZE(object))) {
            PyErr_SetString(PyExc_ValueError, "UnicodeDecodeError's start is outside its object");
        }
        else {
            PyObject *own_reason = error->reason, *own_encoding = error->encoding;
            error->reason = reason; /* borrowed for the call: exact strings run no code */
            error->encoding = encoding;
            result = original_unicode_decode_error_str(self);
            error->reason = own_reason;
            error->encoding = own_encoding;
        }
    }
    Py_XDECREF(reason);
    Py_XDECREF(encoding);
    Py_DECREF(self);
    return result;
}

static int
repair_unicode_decode_error_type(PyTypeObject *type)
{
    repair_slot(type, -1, offsetof(PyTypeObject, tp_str), (void *)original_unicode_decode_error_str,
                (void *)checked_unicode_decode_error_str);
    repair_wrapper(type, "__str__", (void *)original_unicode_decode_error_str,
                   (void *)checked_unicode_decode_error_str);
    return 0;
}

/* bytearray's methods take the buffer's pointer and size, then convert their arguments,
 * whose __index__ or __len__ may be the program's and clear the bytearray: the method
 * reads freed memory (pass 67: the searches and `%`; pass 68: hex's separator). Every
 * method that does not resize the bytearray (all but append, extend, insert, pop, remove
 * and clear, which convert first and re-read after) holds an export of the buffer for
 * its call, so that a resize from the program's code raises BufferError, as it does
 * under bytearray.join; `in` and `%` too. One wrapper per calling convention. */
#define HOLDING_EXPORT(CALL)                                                                                           \
    Py_buffer view;                                                                                                    \
    if (PyObject_GetBuffer(self, &view, PyBUF_SIMPLE) < 0) {                                                           \
        return NULL;                                                                                                   \
    }                                                                                                                  \
    PyObject *result = CALL;                                                                                           \
    PyBuffer_Release(&view);                                                                                           \
    return result;

#define EXPORTING_VARARGS(TYPE, NAME)                                                                                  \
    static PyCFunction original_##TYPE##_##NAME = NULL;                                                                \
    static PyObject *exporting_##TYPE##_##NAME(PyObject *self, PyObject *args)                                         \
    {                                                                                                                  \
        HOLDING_EXPORT(original_##TYPE##_##NAME(self, args))                                                           \
    }
#define EXPORTING_O(TYPE, NAME) EXPORTING_VARARGS(TYPE, NAME) /* the same signature: (self, arg) */
#define EXPORTING_FASTCALL(TYPE, NAME)                                                                                 \
    static _PyCFunctionFast original_##TYPE##_##NAME = NULL;                                                           \
    static PyObject *exporting_##TYPE##_##NAME(PyObject *self, PyObject *const *args, Py_ssize_t count)                \
    {                                                                                                                  \
        HOLDING_EXPORT(original_##TYPE##_##NAME(self, args, count))                                                    \
    }
#define EXPORTING_KEYWORDS(TYPE, NAME)                                                                                 \
    static _PyCFunctionFastWithKeywords original_##TYPE##_##NAME = NULL;                                               \
    static PyObject *exporting_##TYPE##_##NAME(PyObject *self, PyObject *const *args, Py_ssize_t count,                \
                                                PyObject *names)                                                       \
    {                                                                                                                  \
        HOLDING_EXPORT(original_##TYPE##_##NAME(self, args, count, names))                                             \
    }
EXPORTING_VARARGS(ByteArray, count)
EXPORTING_VARARGS(ByteArray, endswith)
EXPORTING_VARARGS(ByteArray, find)
EXPORTING_VARARGS(ByteArray, index)
EXPORTING_VARARGS(ByteArray, rfind)
EXPORTING_VARARGS(ByteArray, rindex)
EXPORTING_VARARGS(ByteArray, startswith)
EXPORTING_O(ByteArray, partition)
EXPORTING_O(ByteArray, removeprefix)
EXPORTING_O(ByteArray, removesuffix)
EXPORTING_O(ByteArray, rpartition)
EXPORTING_O(ByteArray, zfill)
EXPORTING_FASTCALL(ByteArray, __reduce_ex__)
EXPORTING_FASTCALL(ByteArray, center)
EXPORTING_FASTCALL(ByteArray, ljust)
EXPORTING_FASTCALL(ByteArray, lstrip)
EXPORTING_FASTCALL(ByteArray, replace)
EXPORTING_FASTCALL(ByteArray, rjust)
EXPORTING_FASTCALL(ByteArray, rstrip)
EXPORTING_FASTCALL(ByteArray, strip)
EXPORTING_KEYWORDS(ByteArray, decode)
EXPORTING_KEYWORDS(ByteArray, expandtabs)
EXPORTING_KEYWORDS(ByteArray, hex)
EXPORTING_KEYWORDS(ByteArray, rsplit)
EXPORTING_KEYWORDS(ByteArray, split)
EXPORTING_KEYWORDS(ByteArray, splitlines)
EXPORTING_KEYWORDS(ByteArray, translate)

/* memoryview's hex, tobytes and cast read the view's buffer, then convert their arguments
 * (hex's separator: the program's __len__, which may release() the view): an export of
 * the view held for the call makes release() raise BufferError (pass 68). */
EXPORTING_KEYWORDS(MemoryView, cast)
EXPORTING_KEYWORDS(MemoryView, hex)
EXPORTING_KEYWORDS(MemoryView, tobytes)

typedef struct {
    PyTypeObject *type;
    const char *name;
    int flags;
    PyCFunction *original; /* stored through the generic pointer type, called through its own */
    PyCFunction exporting;
} ExportingMethod;

#define VARARGS_METHOD(TYPE, NAME)                                                                                     \
    {&Py##TYPE##_Type, #NAME, METH_VARARGS, &original_##TYPE##_##NAME, exporting_##TYPE##_##NAME}
#define O_METHOD(TYPE, NAME) {&Py##TYPE##_Type, #NAME, METH_O, &original_##TYPE##_##NAME, exporting_##TYPE##_##NAME}
#define FASTCALL_METHOD(TYPE, NAME)                                                                                    \
    {&Py##TYPE##_Type, #NAME, METH_FASTCALL, (PyCFunction *)&original_##TYPE##_##NAME,                                 \
     (PyCFunction)(void (*)(void))exporting_##TYPE##_##NAME}
#define KEYWORDS_METHOD(TYPE, NAME)                                                                                    \
    {&Py##TYPE##_Type, #NAME, METH_FASTCALL | METH_KEYWORDS, (PyCFunction *)&original_##TYPE##_##NAME,                 \
     (PyCFunction)(void (*)(void))exporting_##TYPE##_##NAME}

static ExportingMethod exporting_methods[] = {
    VARARGS_METHOD(ByteArray, count),
    VARARGS_METHOD(ByteArray, endswith),
    VARARGS_METHOD(ByteArray, find),
    VARARGS_METHOD(ByteArray, index),
    VARARGS_METHOD(ByteArray, rfind),
    VARARGS_METHOD(ByteArray, rindex),
    VARARGS_METHOD(ByteArray, startswith),
    O_METHOD(ByteArray, partition),
    O_METHOD(ByteArray, removeprefix),
    O_METHOD(ByteArray, removesuffix),
    O_METHOD(ByteArray, rpartition),
    O_METHOD(ByteArray, zfill),
    FASTCALL_METHOD(ByteArray, __reduce_ex__),
    FASTCALL_METHOD(ByteArray, center),
    FASTCALL_METHOD(ByteArray, ljust),
    FASTCALL_METHOD(ByteArray, lstrip),
    FASTCALL_METHOD(ByteArray, replace),
    FASTCALL_METHOD(ByteArray, rjust),
    FASTCALL_METHOD(ByteArray, rstrip),
    FASTCALL_METHOD(ByteArray, strip),
    KEYWORDS_METHOD(ByteArray, decode),
    KEYWORDS_METHOD(ByteArray, expandtabs),
    KEYWORDS_METHOD(ByteArray, hex),
    KEYWORDS_METHOD(ByteArray, rsplit),
    KEYWORDS_METHOD(ByteArray, split),
    KEYWORDS_METHOD(ByteArray, splitlines),
    KEYWORDS_METHOD(ByteArray, translate),
    KEYWORDS_METHOD(MemoryView, cast),
    KEYWORDS_METHOD(MemoryView, hex),
    KEYWORDS_METHOD(MemoryView, tobytes),
};
#define EXPORTING_METHOD_COUNT ((int)(sizeof(exporting_methods) / sizeof(exporting_methods[0])))

static objobjproc original_bytearray_contains = NULL;
static binaryfunc original_bytearray_remainder = NULL;

static int
exporting_bytearray_contains(PyObject *self, PyObject *value)
{
    Py_buffer view;
    if (PyObject_GetBuffer(self, &view, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    int result = original_bytearray_contains(self, value);
    PyBuffer_Release(&view);
    return result;
}

static PyObject *
exporting_bytearray_remainder(PyObject *format, PyObject *values)
{
    if (!PyByteArray_Check(format)) {
        return original_bytearray_remainder(format, values); /* the reflected `x % bytearray` */
    }
    Py_buffer view;
    if (PyObject_GetBuffer(format, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    PyObject *result = original_bytearray_remainder(format, values);
    PyBuffer_Release(&view);
    return result;
}

/* Item stores: `ba[i] = v` (mp_ass_subscript) reads the buffer's address, then converts
 * the index and the value (the program's __index__, which may grow the bytearray and free
 * that buffer), then writes through the address it read (attack pass 71: a full escape);
 * `PySequence_SetItem` (sq_ass_item) checks the index, then converts the value, then
 * writes. Here an index and a value that are not exact ints are converted first, and the
 * original runs with ints, whose conversion runs nothing of the program's. A slice is
 * passed as it is: the slice forms read the buffer after converting it. */
static objobjargproc original_bytearray_ass_subscript = NULL;
static ssizeobjargproc original_bytearray_ass_item = NULL;

/* A new reference to `value` as an exact int if it converts like one (nb_index), else to
 * `value` itself (the original refuses it, running nothing of the program's). */
static PyObject *
as_int_first(PyObject *value)
{
    if (value == NULL || PyLong_CheckExact(value) || Py_TYPE(value)->tp_as_number == NULL ||
        Py_TYPE(value)->tp_as_number->nb_index == NULL) {
        return Py_XNewRef(value);
    }
    return PyNumber_Index(value);
}

static int
converting_bytearray_ass_subscript(PyObject *self, PyObject *index, PyObject *value)
{
    if (PySlice_Check(index)) {
        return original_bytearray_ass_subscript(self, index, value);
    }
    PyObject *converted_index = as_int_first(index);
    if (converted_index == NULL) {
        return -1;
    }
    PyObject *converted_value = as_int_first(value);
    if (converted_value == NULL && value != NULL) {
        Py_DECREF(converted_index);
        return -1;
    }
    int result = original_bytearray_ass_subscript(self, converted_index, converted_value);
    Py_DECREF(converted_index);
    Py_XDECREF(converted_value);
    return result;
}

static int
converting_bytearray_ass_item(PyObject *self, Py_ssize_t index, PyObject *value)
{
    PyObject *converted_value = as_int_first(value);
    if (converted_value == NULL && value != NULL) {
        return -1;
    }
    int result = original_bytearray_ass_item(self, index, converted_value);
    Py_XDECREF(converted_value);
    return result;
}

static int
repair_bytearray_type(PyTypeObject *type)
{
    repair_slot(type, offsetof(PyTypeObject, tp_as_mapping), offsetof(PyMappingMethods, mp_ass_subscript),
                (void *)original_bytearray_ass_subscript, (void *)converting_bytearray_ass_subscript);
    repair_slot(type, offsetof(PyTypeObject, tp_as_sequence), offsetof(PySequenceMethods, sq_ass_item),
                (void *)original_bytearray_ass_item, (void *)converting_bytearray_ass_item);
    repair_wrapper(type, "__setitem__", (void *)original_bytearray_ass_subscript,
                   (void *)converting_bytearray_ass_subscript);
    repair_wrapper(type, "__delitem__", (void *)original_bytearray_ass_subscript,
                   (void *)converting_bytearray_ass_subscript);
    repair_slot(type, offsetof(PyTypeObject, tp_as_sequence), offsetof(PySequenceMethods, sq_contains),
                (void *)original_bytearray_contains, (void *)exporting_bytearray_contains);
    repair_slot(type, offsetof(PyTypeObject, tp_as_number), offsetof(PyNumberMethods, nb_remainder),
                (void *)original_bytearray_remainder, (void *)exporting_bytearray_remainder);
    repair_wrapper(type, "__contains__", (void *)original_bytearray_contains, (void *)exporting_bytearray_contains);
    repair_wrapper(type, "__mod__", (void *)original_bytearray_remainder, (void *)exporting_bytearray_remainder);
    repair_wrapper(type, "__rmod__", (void *)original_bytearray_remainder, (void *)exporting_bytearray_remainder);
    return 0;
}

static int
repair_bytearray(void)
{
    original_bytearray_contains = PyByteArray_Type.tp_as_sequence->sq_contains;
    original_bytearray_remainder = PyByteArray_Type.tp_as_number->nb_remainder;
    original_bytearray_ass_subscript = PyByteArray_Type.tp_as_mapping->mp_ass_subscript;
    original_bytearray_ass_item = PyByteArray_Type.tp_as_sequence->sq_ass_item;
    for (int i = 0; i < EXPORTING_METHOD_COUNT; i++) {
        const ExportingMethod *method = &exporting_methods[i];
        if (repair_method(method->type, method->name, method->flags, method->original, method->exporting) < 0) {
            return -1;
        }
    }
    return walk_subclasses(&PyByteArray_Type, repair_bytearray_type);
}

/* decimal's Context: its signal dicts (`traps`, `flags`) keep a raw pointer into their
 * context and no reference to it, so `decimal.Context().traps` outlives the context and
 * reads and writes its freed memory (gh-146011, gh-155493; attack passes 68 and 69: full
 * escapes). Here a context about to be freed gives each signal dict that someone else
 * still holds a word of its own (with the value it had), so the dict never points into
 * freed memory; a context nobody reads the dicts of is freed as before (a program that
 * makes a context per call keeps constant memory, pass 71). And a Decimal comparison,
 * which borrows the thread's current context while it reads a Rational's numerator (the
 * program's property, which may setcontext() it away: gh-148382), holds the current
 * context for the call. The offsets are 3.11's PyDecContextObject, checked by apply(). */
#define CONTEXT_TRAPS_OFFSET 64
#define CONTEXT_FLAGS_OFFSET 72
#define CONTEXT_TRAP_WORD_OFFSET 40
#define CONTEXT_STATUS_WORD_OFFSET 44

typedef struct {
    PyObject_HEAD uint32_t *flags;
} SignalDictHead; /* _decimal.c's PyDecSignalDictObject */

static destructor original_context_dealloc = NULL;
static richcmpfunc original_decimal_richcompare = NULL;
static PyObject *decimal_getcontext = NULL;
static uint32_t orphans_without_memory = 0; /* shared by orphans when no word could be allocated */

static void
orphan_signal_dict(PyObject *context, Py_ssize_t offset)
{
    PyObject *dict = *(PyObject **)((char *)context + offset);
    if (dict == NULL || Py_REFCNT(dict) <= 1) {
        return; /* only the context holds it: freed with it */
    }
    SignalDictHead *signals = (SignalDictHead *)dict;
    uint32_t *own = PyMem_RawMalloc(sizeof(uint32_t)); /* never freed: the dict's dealloc knows nothing of it */
    if (own == NULL) {
        own = &orphans_without_memory;
    }
    *own = *signals->flags;
    signals->flags = own;
}

static void
dealloc_orphaning_signals(PyObject *context)
{
    orphan_signal_dict(context, CONTEXT_TRAPS_OFFSET);
    orphan_signal_dict(context, CONTEXT_FLAGS_OFFSET);
    original_context_dealloc(context);
}

static PyObject *
richcompare_holding_context(PyObject *a, PyObject *b, int op)
{
    PyObject *current = PyObject_CallNoArgs(decimal_getcontext);
    if (current == NULL) {
        return NULL;
    }
    PyObject *result = original_decimal_richcompare(a, b, op);
    Py_DECREF(current);
    return result;
}

static int
repair_context_type(PyTypeObject *type)
{
    repair_slot(type, -1, offsetof(PyTypeObject, tp_dealloc), (void *)original_context_dealloc,
                (void *)dealloc_orphaning_signals);
    return 0;
}

static int
repair_decimal_type(PyTypeObject *type)
{
    repair_comparison(type, original_decimal_richcompare, richcompare_holding_context);
    return 0;
}

/* Whether a fresh context has 3.11's layout: its signal dicts at the offsets above, each
 * pointing at the context's own word. */
static int
context_layout_is_known(PyObject *context_type)
{
    PyObject *context = PyObject_CallNoArgs(context_type);
    if (context == NULL) {
        return -1;
    }
    PyObject *traps = PyObject_GetAttrString(context, "traps");
    PyObject *flags = traps == NULL ? NULL : PyObject_GetAttrString(context, "flags");
    int known = flags != NULL && Py_TYPE(context)->tp_basicsize >= CONTEXT_FLAGS_OFFSET + (Py_ssize_t)sizeof(void *) &&
                *(PyObject **)((char *)context + CONTEXT_TRAPS_OFFSET) == traps &&
                *(PyObject **)((char *)context + CONTEXT_FLAGS_OFFSET) == flags &&
                ((SignalDictHead *)traps)->flags == (uint32_t *)((char *)context + CONTEXT_TRAP_WORD_OFFSET) &&
                ((SignalDictHead *)flags)->flags == (uint32_t *)((char *)context + CONTEXT_STATUS_WORD_OFFSET);
    Py_XDECREF(traps);
    Py_XDECREF(flags);
    Py_DECREF(context);
    if (PyErr_Occurred()) {
        return -1;
    }
    if (!known) {
        PyErr_SetString(PyExc_TypeError, "decimal.Context's layout is not the one this repair knows");
        return -1;
    }
    return 0;
}

static int
repair_decimal(void)
{
    PyObject *decimal = PyImport_ImportModule("decimal");
    if (decimal == NULL) {
        return -1;
    }
    PyObject *context = PyObject_GetAttrString(decimal, "Context");
    PyObject *number = context == NULL ? NULL : PyObject_GetAttrString(decimal, "Decimal");
    decimal_getcontext = number == NULL ? NULL : PyObject_GetAttrString(decimal, "getcontext"); /* kept */
    Py_DECREF(decimal);
    int result = -1;
    if (decimal_getcontext != NULL && PyType_Check(context) && PyType_Check(number) &&
        !PyType_HasFeature((PyTypeObject *)context, Py_TPFLAGS_HEAPTYPE) &&
        !PyType_HasFeature((PyTypeObject *)number, Py_TPFLAGS_HEAPTYPE) && context_layout_is_known(context) == 0) {
        original_context_dealloc = ((PyTypeObject *)context)->tp_dealloc;
        original_decimal_richcompare = ((PyTypeObject *)number)->tp_richcompare;
        result = walk_subclasses((PyTypeObject *)context, repair_context_type) < 0 ||
                         walk_subclasses((PyTypeObject *)number, repair_decimal_type) < 0
                     ? -1
                     : 0;
    }
    else if (!PyErr_Occurred()) {
        PyErr_SetString(PyExc_TypeError, "decimal's Context and Decimal are not _decimal's C types");
    }
    Py_XDECREF(context);
    Py_XDECREF(number);
    return result;
}

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
static void
release_unless_last(PyObject *operand)
{
    if (operand != NULL && Py_REFCNT(operand) > 1) {
        Py_DECREF(operand);
    } /* else: our reference is the last; the caller may still use its borrowed one */
}

/* The binary number slots. typeobject.c's generic ones (SLOT1BINFULL) call __add__ only
 * while the class's slot is the generic function itself, so the held slot cannot call it:
 * it makes the same dispatch (the reflected method first when the right operand's class
 * is a subclass that overrides it, then the method, then the reflected one), testing for
 * itself instead, and calls the methods by the class's lookup, as typeobject.c does. */
typedef struct {
    Py_ssize_t offset; /* in PyNumberMethods */
    const char *name, *reflected_name;
    PyObject *method, *reflected; /* interned by apply() */
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

static int
hold_type_operands(PyTypeObject *type)
{
    if (PyType_HasFeature(type, Py_TPFLAGS_HEAPTYPE)) {
        for (int i = 0; i < HELD_SLOT_COUNT; i++) {
            repair_slot(type, held_slots[i].table, held_slots[i].offset, *held_slots[i].original, held_slots[i].held);
        }
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
    hold_type_operands(type);
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
 * whatever the store itself answered (it may fail after the slot changed). */
static setattrofunc original_type_setattro = NULL;

static int
holding_type_setattro(PyObject *type, PyObject *name, PyObject *value)
{
    int result = original_type_setattro(type, name, value);
    /* Only a special method's name changes a slot: a class attribute (`Cls.count += 1`)
     * does not walk the subclasses. */
    if (PyType_Check(type) && PyUnicode_Check(name) && PyUnicode_GET_LENGTH(name) > 4 &&
        PyUnicode_READ_CHAR(name, 0) == '_' && PyUnicode_READ_CHAR(name, 1) == '_' &&
        hold_in_place((PyTypeObject *)type, 0) < 0) {
        return -1;
    }
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
    if (type != NULL && PyType_Check(type)) {
        hold_type_operands((PyTypeObject *)type);
    }
    return type;
}

static int
repair_type_setattro(PyTypeObject *type)
{
    repair_slot(type, -1, offsetof(PyTypeObject, tp_new), (void *)original_type_new, (void *)holding_type_new);
    repair_slot(type, -1, offsetof(PyTypeObject, tp_setattro), (void *)original_type_setattro,
                (void *)holding_type_setattro);
    repair_wrapper(type, "__setattr__", (void *)original_type_setattro, (void *)holding_type_setattro);
    repair_wrapper(type, "__delattr__", (void *)original_type_setattro, (void *)holding_type_setattro);
    return 0;
}

static PyObject *
hold_operands(PyObject *module, PyObject *type)
{
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "hold_operands() takes a class");
        return NULL;
    }
    if (original_type_setattro == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "hold_operands() before apply()");
        return NULL;
    }
    if (hold_type_operands((PyTypeObject *)type) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* operands_held(cls): whether every slot of cls that runs a Python special method holds
 * its operands (tests; a class with no such slot holds none and answers False). */
static PyObject *
operands_held(PyObject *module, PyObject *type)
{
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "operands_held() takes a class");
        return NULL;
    }
    int held = 0;
    for (int i = 0; i < HELD_SLOT_COUNT; i++) {
        char *base = (char *)type;
        if (held_slots[i].table >= 0 && (base = *(char **)(base + held_slots[i].table)) == NULL) {
            continue;
        }
        void *slot = *(void **)(base + held_slots[i].offset);
        if (slot == *held_slots[i].original) {
            Py_RETURN_FALSE;
        }
        held |= slot == held_slots[i].held;
    }
    return PyBool_FromLong(held);
}

/* apply(reference, getattribute_only): every repair, once per process (False if made
 * already). `reference`: a class whose special methods are Python functions, one for each
 * slot in held_slots, from which the generic slot functions are read; `getattribute_only`:
 * a class with a Python __getattribute__ and no __getattr__ that has answered one lookup
 * (its slot is then typeobject.c's slot_tp_getattro, which `reference` cannot show). */
static PyObject *
apply(PyObject *module, PyObject *args)
{
    PyObject *reference, *getattribute_only;
    if (!PyArg_ParseTuple(args, "OO", &reference, &getattribute_only)) {
        return NULL;
    }
    if (original_type_setattro != NULL) {
        Py_RETURN_FALSE;
    }
    if (!PyType_Check(reference) || !PyType_HasFeature((PyTypeObject *)reference, Py_TPFLAGS_HEAPTYPE) ||
        !PyType_Check(getattribute_only)) {
        PyErr_SetString(PyExc_TypeError, "apply() takes two classes with Python special methods");
        return NULL;
    }
    for (int i = 0; i < HELD_SLOT_COUNT; i++) {
        char *base = (char *)reference;
        if (held_slots[i].table >= 0) {
            base = *(char **)(base + held_slots[i].table);
        }
        *held_slots[i].original = *(void **)(base + held_slots[i].offset);
        if (*held_slots[i].original == NULL) {
            PyErr_Format(PyExc_TypeError, "the reference class has no special method for held slot %d", i);
            return NULL;
        }
    }
    /* The entry read from `reference` above is its hook; this one is the other class's. */
    original_tp_getattribute = ((PyTypeObject *)getattribute_only)->tp_getattro;
    if (original_tp_getattribute == original_tp_getattro) {
        PyErr_SetString(PyExc_TypeError, "getattribute_only has not answered a lookup yet");
        return NULL;
    }
    for (int i = 0; i < BINARY_SLOT_COUNT; i++) {
        binary_slots[i].method = PyUnicode_InternFromString(binary_slots[i].name);
        binary_slots[i].reflected = PyUnicode_InternFromString(binary_slots[i].reflected_name);
        if (binary_slots[i].method == NULL || binary_slots[i].reflected == NULL) {
            return NULL;
        }
    }
    original_property_get = PyProperty_Type.tp_descr_get;
    original_property_set = PyProperty_Type.tp_descr_set;
    original_calliter_next = PyCallIter_Type.tp_iternext;
    original_seqiter_next = PySeqIter_Type.tp_iternext;
    original_oserror_str = ((PyTypeObject *)PyExc_OSError)->tp_str;
    original_unicode_decode_error_str = ((PyTypeObject *)PyExc_UnicodeDecodeError)->tp_str;
    original_type_setattro = PyType_Type.tp_setattro;
    original_type_new = PyType_Type.tp_new;
    PyCallIter_Type.tp_iternext = unreentered_calliter_next; /* neither can be subclassed */
    PySeqIter_Type.tp_iternext = unreentered_seqiter_next;
    repair_wrapper(&PyCallIter_Type, "__next__", (void *)original_calliter_next, (void *)unreentered_calliter_next);
    repair_wrapper(&PySeqIter_Type, "__next__", (void *)original_seqiter_next, (void *)unreentered_seqiter_next);
    PyType_Modified(&PyCallIter_Type);
    PyType_Modified(&PySeqIter_Type);
    original_staticmethod_call = PyStaticMethod_Type.tp_call;
    original_classmethod_get = PyClassMethod_Type.tp_descr_get;
    if (repair_list_reentrancy() < 0 || check_datetime_states() < 0 || repair_bytearray() < 0 ||
        repair_decimal() < 0 || repair_deque() < 0 || hold_container_comparisons() < 0 ||
        walk_subclasses(&PyStaticMethod_Type, repair_staticmethod_type) < 0 ||
        walk_subclasses(&PyClassMethod_Type, repair_classmethod_type) < 0 ||
        walk_subclasses(&PyProperty_Type, repair_property_type) < 0 ||
        walk_subclasses((PyTypeObject *)PyExc_OSError, repair_oserror_type) < 0 ||
        walk_subclasses((PyTypeObject *)PyExc_UnicodeDecodeError, repair_unicode_decode_error_type) < 0 ||
        walk_subclasses(&PyType_Type, repair_type_setattro) < 0 ||
        walk_subclasses(&PyBaseObject_Type, hold_type_operands) < 0) {
        return NULL;
    }
    Py_RETURN_TRUE;
}

static PyMethodDef module_methods[] = {
    {"apply", apply, METH_VARARGS, "apply(reference, getattribute_only): every repair, once per process"},
    {"hold_operands", hold_operands, METH_O, "hold_operands(cls): the program's class holds its operands"},
    {"operands_held", operands_held, METH_O, "operands_held(cls): whether it does (tests)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef repairs_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "src.worker._repairs",
    .m_doc = "Repairs of memory-safety bugs in the interpreter's C code (see repairs.py).",
    .m_size = 0,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__repairs(void)
{
    return PyModuleDef_Init(&repairs_module);
}
