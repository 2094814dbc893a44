#include "repairs.h"

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
    REPAIR_SLOT(type, offsetof(PyTypeObject, tp_as_mapping), offsetof(PyMappingMethods, mp_ass_subscript),
                original_list_ass_subscript, materialized_list_ass_subscript, "__setitem__");
    repair_comparison(type, original_list_richcompare, held_list_richcompare);
    return 0;
}

int
repair_list_reentrancy(void)
{
    original_list_ass_subscript = PyList_Type.tp_as_mapping->mp_ass_subscript;
    original_list_richcompare = PyList_Type.tp_richcompare;
    return walk_subclasses(&PyList_Type, repair_list_type);
}
