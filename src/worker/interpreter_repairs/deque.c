#include "repairs.h"

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
    REPAIR_SLOT(type, offsetof(PyTypeObject, tp_as_sequence), offsetof(PySequenceMethods, sq_contains),
                original_deque_contains, deque_contains_holding_items, "__contains__");
    return 0;
}

int
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
