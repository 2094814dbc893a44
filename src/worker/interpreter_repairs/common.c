/* The helpers every family of repairs uses: walking a type's subclasses, swapping a slot,
 * a wrapper descriptor or a method's C function for the repaired one where it still holds
 * the original. */
#include "repairs.h"

/* Calls visit(type) for `base` and every subclass of it that exists now, at any depth. */
int
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
void
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
void
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

/* The slot (as repair_slot) and the wrapper descriptors `names` (NULL-terminated) that
 * call the same function: `repaired` in place of `original` in each that still holds it. */
void
repair_slot_and_wrappers(PyTypeObject *type, Py_ssize_t table, Py_ssize_t offset, void *original, void *repaired,
                         const char *const *names)
{
    repair_slot(type, table, offset, original, repaired);
    for (int i = 0; names[i] != NULL; i++) {
        repair_wrapper(type, names[i], original, repaired);
    }
}

/* The comparison slot of `type` and its six wrapper descriptors (`__lt__`...). */
void
repair_comparison(PyTypeObject *type, richcmpfunc original, richcmpfunc repaired)
{
    REPAIR_SLOT(type, -1, offsetof(PyTypeObject, tp_richcompare), original, repaired, "__lt__", "__le__", "__eq__",
                "__ne__", "__gt__", "__ge__");
}

/* Swaps the C function of `type`'s method `name` (a class method's too) for `repaired` if it
 * has `flags`. */
int
repair_method(PyTypeObject *type, const char *name, int flags, PyCFunction *original, PyCFunction repaired)
{
    PyObject *descriptor = PyDict_GetItemString(type->tp_dict, name);
    int method = descriptor != NULL && (PyObject_TypeCheck(descriptor, &PyMethodDescr_Type) ||
                                        PyObject_TypeCheck(descriptor, &PyClassMethodDescr_Type));
    if (!method || ((PyMethodDescrObject *)descriptor)->d_method->ml_flags != flags) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not the method this repair knows", type->tp_name, name);
        return -1;
    }
    PyMethodDef *definition = ((PyMethodDescrObject *)descriptor)->d_method;
    *original = definition->ml_meth;
    definition->ml_meth = repaired;
    return 0;
}

/* `module.name`, a static (C) type the module keeps alive; NULL with an error otherwise. */
PyTypeObject *
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

/* Drops a reference a repair took for a call, unless it is the last one: the C caller
 * that borrowed the object may still use its pointer after the call (operands.c); the
 * worker runs one program and exits, so what is kept is bounded by what the program frees
 * during its own special methods. */
void
release_unless_last(PyObject *operand)
{
    if (operand != NULL && Py_REFCNT(operand) > 1) {
        Py_DECREF(operand);
    } /* else: our reference is the last; the caller may still use its borrowed one */
}
