/* functools.partial's repr and call read the partial's fields through the pointers in the
 * object, unowned, while they run code that may replace them: an argument's __repr__, or
 * the callee's own code, running __setstate__ on the same partial. The repr then reads
 * past the end of a shorter tuple swapped in (it takes the length once), and the call
 * frees the callee it is running (gh-144475 and gh-154189, fixed upstream after 3.11's last
 * bugfix release; attack pass 90 reached both through copy's reconstruction, closed in
 * library_guards.guard_copy_reconstruct). Here the repr formats the fields it took, held,
 * as it started, and the call holds them for its length, whatever route swaps them. */
#include "repairs.h"

#include <structmember.h> /* after Python.h, which repairs.h includes */

static reprfunc original_repr = NULL;
static ternaryfunc original_call = NULL;
static Py_ssize_t fn_offset = -1;
static Py_ssize_t args_offset = -1;
static Py_ssize_t kw_offset = -1;

#define FIELD(self, offset) (*(PyObject **)((char *)(self) + (offset)))

/* The partial's repr, as 3.11 writes it, over the fields taken at the start and held. */
static PyObject *
repr_of_held_fields(PyObject *self)
{
    int entered = Py_ReprEnter(self);
    if (entered != 0) {
        return entered < 0 ? NULL : PyUnicode_FromString("...");
    }
    PyObject *fn = Py_XNewRef(FIELD(self, fn_offset));
    PyObject *args = Py_XNewRef(FIELD(self, args_offset));
    PyObject *kw = Py_XNewRef(FIELD(self, kw_offset));
    PyObject *result = NULL;
    PyObject *arglist = NULL;
    if (fn == NULL || args == NULL || kw == NULL || !PyTuple_Check(args) || !PyDict_Check(kw)) {
        PyErr_SetString(PyExc_TypeError, "the partial is not initialised");
        goto done;
    }
    arglist = PyUnicode_FromString("");
    if (arglist == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(args); i++) { /* the tuple held: its own items */
        Py_SETREF(arglist, PyUnicode_FromFormat("%U, %R", arglist, PyTuple_GET_ITEM(args, i)));
        if (arglist == NULL) {
            goto done;
        }
    }
    PyObject *key, *value;
    for (Py_ssize_t position = 0; PyDict_Next(kw, &position, &key, &value);) {
        /* Both held: a key's __str__ or a value's __repr__ may change the dict. */
        Py_INCREF(key);
        Py_INCREF(value);
        Py_SETREF(arglist, PyUnicode_FromFormat("%U, %S=%R", arglist, key, value));
        Py_DECREF(value);
        Py_DECREF(key);
        if (arglist == NULL) {
            goto done;
        }
    }
    result = PyUnicode_FromFormat("%s(%R%U)", Py_TYPE(self)->tp_name, fn, arglist);
done:
    Py_XDECREF(arglist);
    Py_XDECREF(kw);
    Py_XDECREF(args);
    Py_XDECREF(fn);
    Py_ReprLeave(self);
    return result;
}

/* The partial's call, with its fields held for the call's length: the callee the original
 * reads from the object is the one held here (no code runs between the two reads). */
static PyObject *
call_holding_fields(PyObject *self, PyObject *args, PyObject *kwargs)
{
    PyObject *fn = Py_XNewRef(FIELD(self, fn_offset));
    PyObject *held_args = Py_XNewRef(FIELD(self, args_offset));
    PyObject *kw = Py_XNewRef(FIELD(self, kw_offset));
    PyObject *result = original_call(self, args, kwargs);
    Py_XDECREF(kw);
    Py_XDECREF(held_args);
    Py_XDECREF(fn);
    return result;
}

static Py_ssize_t
member_offset(PyTypeObject *type, const char *name)
{
    PyObject *member = PyDict_GetItemString(type->tp_dict, name); /* borrowed, no code runs */
    if (member == NULL || !PyObject_TypeCheck(member, &PyMemberDescr_Type) ||
        ((PyMemberDescrObject *)member)->d_member->type != T_OBJECT) {
        PyErr_Format(PyExc_TypeError, "partial.%s is not the member this repair knows", name);
        return -1;
    }
    return ((PyMemberDescrObject *)member)->d_member->offset;
}

static int
repair_one(PyTypeObject *type)
{
    REPAIR_SLOT(type, -1, offsetof(PyTypeObject, tp_repr), original_repr, repr_of_held_fields, "__repr__");
    REPAIR_SLOT(type, -1, offsetof(PyTypeObject, tp_call), original_call, call_holding_fields, "__call__");
    return 0;
}

int
repair_partials(void)
{
    /* A heap type of _functools (3.10+), which its module keeps alive. */
    PyObject *module = PyImport_ImportModule("_functools");
    PyObject *found = module == NULL ? NULL : PyObject_GetAttrString(module, "partial");
    Py_XDECREF(module);
    if (found == NULL) {
        return -1;
    }
    Py_DECREF(found); /* the module keeps it */
    if (!PyType_Check(found)) {
        PyErr_SetString(PyExc_TypeError, "_functools.partial is not a type");
        return -1;
    }
    PyTypeObject *partial = (PyTypeObject *)found;
    if ((fn_offset = member_offset(partial, "func")) < 0 || (args_offset = member_offset(partial, "args")) < 0 ||
        (kw_offset = member_offset(partial, "keywords")) < 0) {
        return -1;
    }
    original_repr = partial->tp_repr;
    original_call = partial->tp_call;
    if (original_repr == NULL || original_call == NULL) {
        PyErr_SetString(PyExc_TypeError, "partial has no repr or call slot");
        return -1;
    }
    /* Its subclasses that exist now (the library's) too; later ones inherit the slots. */
    return walk_subclasses(partial, repair_one);
}
