#include "repairs.h"

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

/* Neither type can be subclassed: the type and its `__next__` wrapper are all there is. */
int
repair_iterators(void)
{
    original_calliter_next = PyCallIter_Type.tp_iternext;
    original_seqiter_next = PySeqIter_Type.tp_iternext;
    PyCallIter_Type.tp_iternext = unreentered_calliter_next;
    PySeqIter_Type.tp_iternext = unreentered_seqiter_next;
    repair_wrapper(&PyCallIter_Type, "__next__", (void *)original_calliter_next, (void *)unreentered_calliter_next);
    repair_wrapper(&PySeqIter_Type, "__next__", (void *)original_seqiter_next, (void *)unreentered_seqiter_next);
    PyType_Modified(&PyCallIter_Type);
    PyType_Modified(&PySeqIter_Type);
    return 0;
}
