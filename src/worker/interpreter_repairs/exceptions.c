#include "repairs.h"

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
    REPAIR_SLOT(type, -1, offsetof(PyTypeObject, tp_str), original_oserror_str, held_oserror_str, "__str__");
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
    REPAIR_SLOT(type, -1, offsetof(PyTypeObject, tp_str), original_unicode_decode_error_str,
                checked_unicode_decode_error_str, "__str__");
    return 0;
}

int
repair_exceptions(void)
{
    original_oserror_str = ((PyTypeObject *)PyExc_OSError)->tp_str;
    original_unicode_decode_error_str = ((PyTypeObject *)PyExc_UnicodeDecodeError)->tp_str;
    if (walk_subclasses((PyTypeObject *)PyExc_OSError, repair_oserror_type) < 0 ||
        walk_subclasses((PyTypeObject *)PyExc_UnicodeDecodeError, repair_unicode_decode_error_type) < 0) {
        return -1;
    }
    return 0;
}
