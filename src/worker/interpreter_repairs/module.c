/* Repairs of memory-safety bugs in CPython 3.11's own C code that a program reaches with
 * nothing but its own classes, hooks and bytes (docs/security.md, "Memory-safety bugs of
 * CPython itself"). Each is one family: C code keeps a pointer it does not own (a borrowed
 * operand, a field of another object, a buffer, its own state read before it converts an
 * argument) across a call into the program, the program frees what it points to, refills
 * the memory and has a forged object. The membrane cannot see that (the forged object's
 * header names a plain type), so the repair is where the pointer is kept: in the slot or
 * method of the C type, as upstream fixes such bugs. One file per family (repairs.h lists
 * them); this one is the module.
 *
 * apply() makes them all, once per process, in the template before any program class
 * exists (subclasses that exist already are walked; later ones copy the repaired slots).
 * Every class holds its operands from type.__new__ on, is held again after any special
 * method of it is set (type's tp_setattro, repaired too: operands.c), and hold_operands(cls) is
 * called for the program's classes when their statement's hooks first see them
 * (ownership.UserClasses). Not guards: they run whatever the guard mode, and the service
 * reports them as the layer "interpreter_repairs" (a server without them is not healthy
 * by default). */
#include "repairs.h"

/* apply(reference, getattribute_only): every repair, once per process (False if made
 * already); the two classes are operands.c's hold_class_operands(). */
static PyObject *
apply(PyObject *module, PyObject *args)
{
    PyObject *reference, *getattribute_only;
    if (!PyArg_ParseTuple(args, "OO", &reference, &getattribute_only)) {
        return NULL;
    }
    if (class_operands_applied()) {
        Py_RETURN_FALSE;
    }
    /* The class operands, then the C callees last: they hold the repaired functions in
     * turn, and leave the slots that run Python methods to the operands. */
    if (repair_iterators() < 0 || repair_list_reentrancy() < 0 || check_datetime_states() < 0 ||
        repair_bytearray() < 0 || repair_decimal() < 0 || repair_deque() < 0 || repair_zoneinfo() < 0 ||
        repair_defaultdict() < 0 || repair_partials() < 0 ||
        repair_descriptors() < 0 || repair_exceptions() < 0 || hold_class_operands(reference, getattribute_only) < 0 ||
        hold_callees() < 0 || defer_finalizers() < 0) {
        return NULL;
    }
    Py_RETURN_TRUE;
}

static PyObject *
hold_operands(PyObject *module, PyObject *type)
{
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "hold_operands() takes a class");
        return NULL;
    }
    if (!class_operands_applied()) {
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
    return PyBool_FromLong(type_operands_held((PyTypeObject *)type));
}

/* hold_new_types(): the repairs that cover every type that exists, made again for the types
 * made since apply() (the C types of modules imported after it); idempotent. */
static PyObject *
hold_new_types(PyObject *module, PyObject *unused)
{
    if (!class_operands_applied()) {
        PyErr_SetString(PyExc_RuntimeError, "hold_new_types() before apply()");
        return NULL;
    }
    if (hold_callees() < 0 || defer_finalizers() < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* callees_held(cls): whether cls's repr, str, hash and comparison hold their objects
 * (tests). */
static PyObject *
callees_held(PyObject *module, PyObject *type)
{
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "callees_held() takes a class");
        return NULL;
    }
    return PyBool_FromLong(type_callees_held((PyTypeObject *)type));
}

/* begin_deferring_finalizers(filename, soon): from now on (a job), finalizers wait for a
 * safe point (finalizers.c). */
static PyObject *
begin_deferring(PyObject *module, PyObject *args)
{
    PyObject *filename, *soon;
    if (!PyArg_ParseTuple(args, "OO", &filename, &soon)) {
        return NULL;
    }
    if (!class_operands_applied()) {
        PyErr_SetString(PyExc_RuntimeError, "begin_deferring_finalizers() before apply()");
        return NULL;
    }
    if (begin_deferring_finalizers(filename, soon) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* run_waiting_finalizers(): the finalizers that wait, run (at a safe point); how many. */
static PyObject *
run_waiting(PyObject *module, PyObject *unused)
{
    return PyLong_FromSsize_t(run_waiting_finalizers());
}

/* end_deferring_finalizers(): the job is over; what waits is dropped unrun, the rest runs at once. */
static PyObject *
end_deferring(PyObject *module, PyObject *unused)
{
    end_deferring_finalizers();
    Py_RETURN_NONE;
}

/* finalizers_never_run(): how many objects were freed unfinalized for want of memory to
 * queue them (tests). */
static PyObject *
never_run(PyObject *module, PyObject *unused)
{
    return PyLong_FromSsize_t(finalizers_never_run());
}

/* finalizer_deferred(cls): whether cls's finalizer, if it has one, waits (tests). */
static PyObject *
finalizer_deferred(PyObject *module, PyObject *type)
{
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "finalizer_deferred() takes a class");
        return NULL;
    }
    return PyBool_FromLong(type_finalizer_deferred((PyTypeObject *)type));
}

static PyMethodDef module_methods[] = {
    {"apply", apply, METH_VARARGS, "apply(reference, getattribute_only): every repair, once per process"},
    {"hold_operands", hold_operands, METH_O, "hold_operands(cls): the program's class holds its operands"},
    {"operands_held", operands_held, METH_O, "operands_held(cls): whether it does (tests)"},
    {"hold_new_types", hold_new_types, METH_NOARGS, "hold_new_types(): the repairs, for types made since apply()"},
    {"callees_held", callees_held, METH_O, "callees_held(cls): whether its repr, str, hash, comparison hold (tests)"},
    {"begin_deferring_finalizers", begin_deferring, METH_VARARGS,
     "begin_deferring_finalizers(filename, soon): finalizers wait for a safe point from now on"},
    {"end_deferring_finalizers", end_deferring, METH_NOARGS, "end_deferring_finalizers(): the job is over; what waits never runs"},
    {"run_waiting_finalizers", run_waiting, METH_NOARGS, "run_waiting_finalizers(): run them (at a safe point)"},
    {"finalizers_never_run", never_run, METH_NOARGS, "finalizers_never_run(): freed for want of memory (tests)"},
    {"finalizer_deferred", finalizer_deferred, METH_O, "finalizer_deferred(cls): whether its finalizer waits (tests)"},
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
