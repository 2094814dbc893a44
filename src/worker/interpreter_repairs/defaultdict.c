/* defaultdict's `__missing__` calls its `default_factory` by the pointer in the object,
 * unowned, and the factory's own code may set `default_factory` to something else, which
 * frees the factory while it runs (a bound method of a list being sorted: the list too;
 * pass 67 made it a full escape). The sandbox offers a Python defaultdict whose
 * `__missing__` holds its factory, but the C class stays reachable (as that class's base,
 * through `typing.DefaultDict`: pass 76, a crash the program controls). Here the C
 * `__missing__` holds the factory for the call, whatever route reached it. */
#include "repairs.h"

#include <structmember.h> /* after Python.h, which repairs.h includes */

static PyCFunction original_missing = NULL; /* METH_O */
static Py_ssize_t factory_offset = -1;

static PyObject *
missing_holding_factory(PyObject *self, PyObject *key)
{
    PyObject *factory = Py_XNewRef(*(PyObject **)((char *)self + factory_offset));
    PyObject *result = original_missing(self, key);
    Py_XDECREF(factory);
    return result;
}

int
repair_defaultdict(void)
{
    PyTypeObject *defaultdict = imported_type("_collections", "defaultdict");
    if (defaultdict == NULL) {
        return -1;
    }
    PyObject *member = PyDict_GetItemString(defaultdict->tp_dict, "default_factory"); /* borrowed */
    if (member == NULL || !PyObject_TypeCheck(member, &PyMemberDescr_Type) ||
        ((PyMemberDescrObject *)member)->d_member->type != T_OBJECT) {
        PyErr_SetString(PyExc_TypeError, "defaultdict.default_factory is not the member this repair knows");
        return -1;
    }
    factory_offset = ((PyMemberDescrObject *)member)->d_member->offset;
    return repair_method(defaultdict, "__missing__", METH_O, &original_missing, missing_holding_factory);
}
