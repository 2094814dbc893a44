/* zoneinfo's strong cache: `ZoneInfo(key)` first walks `_zoneinfo`'s LRU list of cached
 * zones (C nodes of its own), comparing the key with each node's key and then following
 * the node's `next`; `ZoneInfo.clear_cache(only_keys=...)` walks it the same way. A key
 * whose `__eq__` is the program's (a str subclass, or any object) ran inside the walk,
 * called `ZoneInfo.clear_cache()` (which frees every node) and refilled the memory: the
 * walk followed a forged node (attack pass 75: a full escape). Here a key reaches the
 * walk as an exact str: a str subclass's contents, copied (as type.__setattr__ copies an
 * attribute's name); anything else is refused as the key's validation refuses it
 * (library_guards' exact_key), before the walk rather than after it. */
#include "repairs.h"

static newfunc original_zoneinfo_new = NULL;
static PyCFunction original_zoneinfo_clear_cache = NULL; /* called as PyCFunctionWithKeywords */

/* A new reference to `key` as an exact str, or NULL with the error zoneinfo gives. */
static PyObject *
exact_key(PyObject *key)
{
    if (PyUnicode_CheckExact(key)) {
        return Py_NewRef(key);
    }
    if (PyUnicode_Check(key)) {
        return PyUnicode_FromObject(key);
    }
    PyErr_Format(PyExc_TypeError, "a ZoneInfo key is a str, not %s", Py_TYPE(key)->tp_name);
    return NULL;
}

static PyObject *
zoneinfo_new_with_exact_key(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *keywords[] = {"key", NULL};
    PyObject *key = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O", keywords, &key)) {
        return NULL;
    }
    PyObject *exact = exact_key(key);
    PyObject *exact_args = exact == NULL ? NULL : PyTuple_Pack(1, exact);
    Py_XDECREF(exact);
    if (exact_args == NULL) {
        return NULL;
    }
    PyObject *zone = original_zoneinfo_new(type, exact_args, NULL);
    Py_DECREF(exact_args);
    return zone;
}

/* clear_cache(*, only_keys=None): the keys made exact strs first (a list of them); a key
 * that is no str matches no cached zone (every cached key is an exact str) and is left
 * out. */
static PyObject *
clear_cache_with_exact_keys(PyObject *cls, PyObject *args, PyObject *kwds)
{
    static char *keywords[] = {"only_keys", NULL};
    PyObject *only_keys = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$O", keywords, &only_keys)) {
        return NULL;
    }
    if (only_keys == NULL || only_keys == Py_None) {
        return ((PyCFunctionWithKeywords)(void (*)(void))original_zoneinfo_clear_cache)(cls, args, kwds);
    }
    PyObject *iterator = PyObject_GetIter(only_keys);
    PyObject *exact = iterator == NULL ? NULL : PyList_New(0);
    PyObject *item;
    while (exact != NULL && (item = PyIter_Next(iterator)) != NULL) {
        PyObject *key = PyUnicode_Check(item) ? exact_key(item) : NULL;
        if ((key == NULL && PyErr_Occurred()) || (key != NULL && PyList_Append(exact, key) < 0)) {
            Py_CLEAR(exact);
        }
        Py_XDECREF(key);
        Py_DECREF(item);
    }
    Py_XDECREF(iterator);
    if (exact == NULL || PyErr_Occurred()) {
        Py_XDECREF(exact);
        return NULL;
    }
    PyObject *empty = PyTuple_New(0);
    PyObject *exact_kwds = empty == NULL ? NULL : Py_BuildValue("{sO}", "only_keys", exact);
    PyCFunctionWithKeywords clear = (PyCFunctionWithKeywords)(void (*)(void))original_zoneinfo_clear_cache;
    PyObject *result = exact_kwds == NULL ? NULL : clear(cls, empty, exact_kwds);
    Py_XDECREF(exact_kwds);
    Py_XDECREF(empty);
    Py_DECREF(exact);
    return result;
}

int
repair_zoneinfo(void)
{
    PyTypeObject *zoneinfo = imported_type("zoneinfo", "ZoneInfo");
    if (zoneinfo == NULL) {
        return -1;
    }
    if (repair_method(zoneinfo, "clear_cache", METH_VARARGS | METH_KEYWORDS | METH_CLASS,
                      &original_zoneinfo_clear_cache, (PyCFunction)(void (*)(void))clear_cache_with_exact_keys) < 0) {
        return -1;
    }
    original_zoneinfo_new = zoneinfo->tp_new;
    zoneinfo->tp_new = zoneinfo_new_with_exact_key; /* `ZoneInfo.__new__` calls the slot too */
    PyType_Modified(zoneinfo);
    return 0;
}
