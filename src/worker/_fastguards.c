/* The guards' common cases in C: the guards the compiled program calls most (_getattr_,
 * _getitem_, _admit_, _write_) decide the ordinary case here, without running Python
 * bytecode, and hand every other case to the Python code that defines the rules
 * (fastguards.py explains the split; tests/unit/test_fastguards.py checks that both give
 * the same answers).
 *
 * _admit_(value): the value if its exact type is in PLAIN, else the Python admit.
 * _getitem_(obj, key): obj[key] if its exact type is in PLAIN, else the membrane's
 * admit_slow of it (no second read).
 * _write_(obj): obj if it is an exact dict or list, else the Python write guard.
 * _write_attribute_(obj, name): obj if name is an exact str not starting with "_" and the
 * running job's table (ownership.PUBLIC_ATTRIBUTES_WRITABLE) already holds obj's
 * exact class under its id, or name is one of the plain private names and the job's
 * ownership.PRIVATE_ATTRIBUTES_OF_INSTANCES holds obj's exact class; else the Python
 * guard (which fills both).
 * _admitting_iter_(iterable, count): a for statement's items through the membrane before
 * they are bound (an AdmittingIterator, below).
 * call_through(function, args, kwargs): a crossing's call (crossing.py) when every argument
 * is plain: function(*args, **kwargs), the result admitted; else the Python version.
 *
 * getattr: what is decided here, in this order, exactly as guarded_getattr decides it:
 *   - anything but (obj, exact str name) with no keywords, or a name not yet known to be
 *     public (nor a plain private name on an instance of a class noted in
 *     ownership.PRIVATE_ATTRIBUTES_OF_INSTANCES), or obj a frame, code object, traceback
 *     or real module, or obj (an instance or a class) one of the ruled classes whose
 *     attributes an allow-list decides (the data tier's): the Python guard;
 *   - value = getattr(obj, name); an AttributeError with a default given: the default;
 *   - a value whose exact type is in PLAIN (not a tuple): the value;
 *   - a built-in method bound to obj (a builtin_function_or_method or a builtin_method,
 *     the C methods that know their class): the value;
 *   - a value read from a module proxy (obj's class was module_proxy before the read)
 *     that the sandbox offers (its id in offered_ids): the value;
 *   - a method of the program's own function bound to obj: the value;
 *   - a method of a library function bound to obj, obj's class plain, the function's
 *     crossing already made (METHOD_CROSSINGS): the crossing bound to obj, as
 *     membrane.admit_slow and crossing.method_crossing would make it;
 *   - anything else: the Python classification of the value read (no second read).
 *
 * Nothing here holds a borrowed reference across a call that may run Python code: the
 * read runs any code (a property, __getattr__), which may drop the caller's own reference
 * to an argument (a C caller passes them borrowed: itertools.accumulate's total) or
 * change obj's class. Every argument used after such a call is held for its length.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h> /* T_PYSSIZET, READONLY (Python.h itself has them only from 3.12) */

/* The module's state: its two types. */
typedef struct {
    PyTypeObject *guard_type;
    PyTypeObject *iterator_type;
} ModuleState;

typedef struct {
    PyObject_HEAD
    PyObject *name;         /* the builtin's name, for repr */
    PyObject *plain;        /* set of types whose instances need no check */
    PyObject *fallback;     /* the Python guard, called with the same arguments */
    PyObject *classify;     /* getattr: classify(obj, kind, name, value); getitem: admit_slow(value) */
    PyObject *public_names; /* getattr: set of exact str, names known to be public and not careful */
    PyObject *opaque;       /* getattr: tuple of types never read from here (frame, code, traceback, module) */
    PyObject *source_filename; /* getattr: the program's code's co_filename */
    PyObject *method_crossings; /* getattr: dict, library function -> its crossing */
    PyObject *module_proxy; /* getattr: the ModuleProxy class */
    PyObject *offered_ids;  /* getattr: set of ids of every value the sandbox offers */
    PyObject *writable;     /* write_attribute: exact dict, id(class) -> class, the running job's */
    PyObject *private_names; /* getattr, write_attribute: set of exact str, private names nothing else defines */
    PyObject *private_kinds; /* getattr, write_attribute: exact dict, id(class) -> class whose instances hold
                              * only the program's private names (ownership.PRIVATE_ATTRIBUTES_OF_INSTANCES) */
    PyObject *receivers;    /* getattr: set of types, besides the plain ones, a C method bound to an instance of
                             * which is as safe as the instance (guards._METHOD_RECEIVERS) */
    PyObject *ruled;        /* getattr: exact dict, id(class) -> class whose instances' (and own) attributes are
                             * read by an allow-list (instance_rules.RULED_KINDS): never read from here */
    PyObject *admit;        /* call_through: the membrane's admit, for a result that is not plain */
    PyObject *safe_point;   /* _admit_, _admitting_iter_: the collector's work, called every SAFE_POINT_PERIOD */
    vectorcallfunc vectorcall;
} Guard;


static int noted_class(PyObject *table, PyObject *obj);

/* 1 when obj, or obj as a class, is one whose attributes an allow-list decides (the data
 * tier's classes): the Python guard reads them; 0 when not; -1 on an error. */
static int
is_ruled(Guard *self, PyObject *obj)
{
    if (PyDict_GET_SIZE(self->ruled) == 0) {
        return 0;
    }
    if (Py_IS_TYPE(obj, &PySuper_Type)) {
        return 1; /* a super object may be over a ruled one: the Python guard looks */
    }
    int ruled = noted_class(self->ruled, obj);
    if (ruled != 0 || !PyType_Check(obj)) {
        return ruled;
    }
    PyObject *key = PyLong_FromVoidPtr(obj); /* id(obj): a class read as an object */
    if (key == NULL) {
        return -1;
    }
    PyObject *noted = PyDict_GetItemWithError(self->ruled, key);
    Py_DECREF(key);
    if (noted == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    return noted == obj;
}

static int
is_opaque(Guard *self, PyTypeObject *kind)
{
    Py_ssize_t n = PyTuple_GET_SIZE(self->opaque);
    for (Py_ssize_t i = 0; i < n; i++) {
        if ((PyObject *)kind == PyTuple_GET_ITEM(self->opaque, i)) {
            return 1;
        }
    }
    return 0;
}

/* 1: the program's own method bound to obj; 0: not; -1: error. */
static int
is_programs_method_of(Guard *self, PyObject *value, PyObject *obj)
{
    if (PyMethod_GET_SELF(value) != obj) {
        return 0;
    }
    PyObject *function = PyMethod_GET_FUNCTION(value);
    if (!PyFunction_Check(function)) {
        return 0;
    }
    PyObject *filename = ((PyCodeObject *)PyFunction_GET_CODE(function))->co_filename;
    if (!PyUnicode_CheckExact(filename)) {
        return 0; /* the Python verdict decides (a str subclass's __eq__ is code) */
    }
    return PyUnicode_Compare(filename, self->source_filename) == 0; /* runs no Python code */
}

/* 1: the sandbox offers value (its id is in offered_ids); 0: not; -1: error. */
static int
is_offered(Guard *self, PyObject *value)
{
    PyObject *id = PyLong_FromVoidPtr(value);
    if (id == NULL) {
        return -1;
    }
    int offered = PySet_Contains(self->offered_ids, id); /* an int: no Python code runs */
    Py_DECREF(id);
    return offered;
}

/* The crossing of the method's function bound to obj, a new reference; NULL with no
 * error set if there is none yet (the Python path makes it) or obj's class is not plain. */
static PyObject *
crossing_bound_to(Guard *self, PyObject *method, PyObject *obj)
{
    int plain = PySet_Contains(self->plain, (PyObject *)Py_TYPE(obj));
    if (plain <= 0) {
        return NULL;
    }
    /* A function hashes by identity: no Python code runs here. */
    PyObject *crossing = PyDict_GetItemWithError(self->method_crossings, PyMethod_GET_FUNCTION(method));
    if (crossing == NULL) {
        return NULL;
    }
    return PyMethod_New(crossing, obj);
}

/* The read and the verdict, with obj, name and the default (NULL: none) held by the
 * caller of this function for its whole length. */
static PyObject *
read_and_decide(Guard *self, PyObject *obj, PyObject *name, PyObject *fallback_value)
{
    PyTypeObject *kind = Py_TYPE(obj);
    Py_INCREF(kind); /* the class obj had before the read, kept alive through it */
    PyObject *value = PyObject_GetAttr(obj, name);
    if (value == NULL) {
        Py_DECREF(kind);
        if (fallback_value != NULL && PyErr_ExceptionMatches(PyExc_AttributeError)) {
            PyErr_Clear();
            return Py_NewRef(fallback_value);
        }
        return NULL;
    }
    PyTypeObject *value_kind = Py_TYPE(value);
    int verdict = 0; /* 1: the value as it is */
    if (value_kind != &PyTuple_Type) {
        verdict = PySet_Contains(self->plain, (PyObject *)value_kind);
        if (verdict == 0 && (PyObject *)kind == self->module_proxy) {
            verdict = is_offered(self, value);
        }
        if (verdict == 0 && (value_kind == &PyCFunction_Type || value_kind == &PyCMethod_Type) &&
            PyCFunction_GET_SELF(value) == obj) {
            /* As safe as obj only if obj's class is plain or a receiver: C code calls this
             * guard too (map(getattr, ...)), with values the program never held (pass 86). */
            verdict = PySet_Contains(self->plain, (PyObject *)kind);
            if (verdict == 0) {
                verdict = PySet_Contains(self->receivers, (PyObject *)kind); /* a type hashes by identity */
            }
        }
        else if (verdict == 0 && value_kind == &PyMethod_Type) {
            verdict = is_programs_method_of(self, value, obj);
            if (verdict == 0 && PyMethod_GET_SELF(value) == obj && PyFunction_Check(PyMethod_GET_FUNCTION(value))) {
                PyObject *crossing = crossing_bound_to(self, value, obj);
                if (crossing != NULL || PyErr_Occurred()) {
                    Py_DECREF(kind);
                    Py_DECREF(value);
                    return crossing;
                }
            }
        }
    }
    if (verdict < 0) {
        Py_DECREF(kind);
        Py_DECREF(value);
        return NULL;
    }
    if (verdict) {
        Py_DECREF(kind);
        return value;
    }
    PyObject *classify_args[4] = {obj, (PyObject *)kind, name, value};
    PyObject *result = PyObject_Vectorcall(self->classify, classify_args, 4, NULL);
    Py_DECREF(kind);
    Py_DECREF(value);
    return result;
}

static int private_name_noted(Guard *self, PyObject *obj, PyObject *name);

/* The job runs with the automatic collector off (runner.execute): a collection runs the
 * program's finalisers, and at an allocation inside a guard they ran between the guard's
 * check and its use. The collector's work is done here instead, at the entry of the
 * guards only the program's own bytecode calls (_admit_, a for loop's next item), where
 * the program's code is running anyway: every SAFE_POINT_PERIOD calls, safe_point()
 * collects if the allocations since the last collection call for it. 0, or -1 with an
 * error set. */
#define SAFE_POINT_PERIOD 256
static Py_ssize_t safe_point_calls = 0;

static int
at_a_safe_point(PyObject *safe_point)
{
    if (safe_point == NULL || ++safe_point_calls < SAFE_POINT_PERIOD) {
        return 0;
    }
    safe_point_calls = 0;
    PyObject *done = PyObject_CallNoArgs(safe_point);
    if (done == NULL) {
        return -1;
    }
    Py_DECREF(done);
    return 0;
}

static PyObject *
guarded_getattr_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Guard *self = (Guard *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (kwnames != NULL || nargs < 2 || nargs > 3) {
        return PyObject_Vectorcall(self->fallback, args, nargsf, kwnames);
    }
    PyObject *obj = args[0];
    PyObject *name = args[1];
    if (!PyUnicode_CheckExact(name) || is_opaque(self, Py_TYPE(obj))) {
        return PyObject_Vectorcall(self->fallback, args, nargsf, NULL);
    }
    int ruled = is_ruled(self, obj); /* int keys only: no Python code runs */
    if (ruled != 0) {
        return ruled < 0 ? NULL : PyObject_Vectorcall(self->fallback, args, nargsf, NULL);
    }
    int public = PySet_Contains(self->public_names, name); /* an exact str: no Python __hash__ */
    if (public < 0) {
        return NULL;
    }
    if (!public) {
        public = private_name_noted(self, obj, name); /* looks up ints and an exact str only */
        if (public < 0) {
            return NULL;
        }
    }
    if (!public) {
        return PyObject_Vectorcall(self->fallback, args, nargsf, NULL);
    }
    /* The arguments may be borrowed from a C caller (itertools.accumulate's total) whose
     * own reference the read can drop (a property that advances the accumulate): held
     * here until the verdict is made, as a Python frame holds its arguments. */
    PyObject *fallback_value = nargs == 3 ? args[2] : NULL;
    Py_INCREF(obj);
    Py_INCREF(name);
    Py_XINCREF(fallback_value);
    PyObject *result = read_and_decide(self, obj, name, fallback_value);
    Py_XDECREF(fallback_value);
    Py_DECREF(name);
    Py_DECREF(obj);
    return result;
}

static PyObject *
admit_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Guard *self = (Guard *)callable;
    if (at_a_safe_point(self->safe_point) < 0) {
        return NULL;
    }
    if (kwnames == NULL && PyVectorcall_NARGS(nargsf) == 1) {
        PyObject *value = Py_NewRef(args[0]); /* held: a class's hash may run a metaclass's code */
        int plain = PySet_Contains(self->plain, (PyObject *)Py_TYPE(value));
        if (plain != 0) {
            if (plain < 0) {
                Py_CLEAR(value);
            }
            return value;
        }
        Py_DECREF(value);
    }
    return PyObject_Vectorcall(self->fallback, args, nargsf, kwnames);
}

static PyObject *
getitem_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Guard *self = (Guard *)callable;
    if (kwnames != NULL || PyVectorcall_NARGS(nargsf) != 2) {
        return PyObject_Vectorcall(self->fallback, args, nargsf, kwnames);
    }
    /* Held across the read, as getattr holds its own: a C caller (itertools.accumulate)
     * may pass references that the program's __getitem__ or __eq__ drops. */
    PyObject *obj = Py_NewRef(args[0]);
    PyObject *key = Py_NewRef(args[1]);
    PyObject *value = PyObject_GetItem(obj, key);
    Py_DECREF(key);
    Py_DECREF(obj);
    if (value == NULL) {
        return NULL;
    }
    int plain = PySet_Contains(self->plain, (PyObject *)Py_TYPE(value));
    if (plain < 0) {
        Py_DECREF(value);
        return NULL;
    }
    if (plain) {
        return value;
    }
    PyObject *result = PyObject_CallOneArg(self->classify, value);
    Py_DECREF(value);
    return result;
}

static PyObject *
write_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Guard *self = (Guard *)callable;
    if (kwnames == NULL && PyVectorcall_NARGS(nargsf) == 1 &&
        (PyDict_CheckExact(args[0]) || PyList_CheckExact(args[0]))) {
        return Py_NewRef(args[0]);
    }
    return PyObject_Vectorcall(self->fallback, args, nargsf, kwnames);
}

/* 1 when table (one of the running job's tables in ownership.py, id(class) -> class)
 * holds obj's exact class under its id; 0 when not; -1 on an error. */
static int
noted_class(PyObject *table, PyObject *obj)
{
    PyObject *kind = (PyObject *)Py_TYPE(obj);
    PyObject *key = PyLong_FromVoidPtr(kind); /* id(kind) */
    if (key == NULL) {
        return -1;
    }
    PyObject *noted = PyDict_GetItemWithError(table, key); /* an int key: no Python code runs */
    Py_DECREF(key);
    if (noted == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    return noted == kind; /* only compared, never used */
}

/* 1 when name (an exact str) is one of the plain private names and obj's exact class one
 * whose instances hold only the program's private names; 0 when not; -1 on an error. */
static int
private_name_noted(Guard *self, PyObject *obj, PyObject *name)
{
    int known = PySet_Contains(self->private_names, name); /* an exact str: no Python __hash__ */
    if (known <= 0) {
        return known;
    }
    return noted_class(self->private_kinds, obj);
}

static PyObject *
write_attribute_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Guard *self = (Guard *)callable;
    if (kwnames != NULL || PyVectorcall_NARGS(nargsf) != 2 || !PyUnicode_CheckExact(args[1])) {
        return PyObject_Vectorcall(self->fallback, args, nargsf, kwnames);
    }
    if (PyUnicode_READY(args[1]) < 0) {
        return NULL;
    }
    PyObject *obj = Py_NewRef(args[0]); /* held across the lookups below */
    int noted;
    if (PyUnicode_GET_LENGTH(args[1]) > 0 && PyUnicode_READ_CHAR(args[1], 0) == '_') {
        noted = private_name_noted(self, obj, args[1]);
    }
    else {
        noted = noted_class(self->writable, obj);
    }
    if (noted != 0) {
        if (noted < 0) {
            Py_CLEAR(obj);
        }
        return obj; /* the object, or NULL with the error set */
    }
    Py_DECREF(obj);
    return PyObject_Vectorcall(self->fallback, args, nargsf, kwnames);
}

/* 1: every item of the tuple (or value of the dict) has its exact type in plain; 0: not;
 * -1: error. The container is held by the caller. */
static int
all_plain(Guard *self, PyObject *container)
{
    if (PyTuple_CheckExact(container)) {
        Py_ssize_t n = PyTuple_GET_SIZE(container);
        for (Py_ssize_t i = 0; i < n; i++) {
            int plain = PySet_Contains(self->plain, (PyObject *)Py_TYPE(PyTuple_GET_ITEM(container, i)));
            if (plain <= 0) {
                return plain;
            }
        }
        return 1;
    }
    Py_ssize_t position = 0;
    PyObject *key, *value;
    while (PyDict_Next(container, &position, &key, &value)) {
        int plain = PySet_Contains(self->plain, (PyObject *)Py_TYPE(value)); /* a type's hash: no code of the program's */
        if (plain <= 0) {
            return plain;
        }
    }
    return 1;
}

/* call_through(function, args, kwargs): a crossing's work (crossing.py), for the case where
 * every argument is plain: function(*args, **kwargs), its result admitted (a tuple through
 * admitted_nested, anything not plain through admit). Anything else, to the Python version. */
static PyObject *
call_through_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Guard *self = (Guard *)callable;
    if (kwnames != NULL || PyVectorcall_NARGS(nargsf) != 3 || !PyTuple_CheckExact(args[1]) ||
        !PyDict_CheckExact(args[2])) {
        return PyObject_Vectorcall(self->fallback, args, nargsf, kwnames);
    }
    PyObject *function = Py_NewRef(args[0]);
    PyObject *positional = Py_NewRef(args[1]);
    PyObject *keywords = Py_NewRef(args[2]);
    PyObject *result = NULL;
    int plain = all_plain(self, positional);
    if (plain > 0) {
        plain = all_plain(self, keywords);
    }
    if (plain < 0) {
        goto done;
    }
    if (plain == 0) {
        result = PyObject_Vectorcall(self->fallback, args, nargsf, NULL);
        goto done;
    }
    result = PyObject_Call(function, positional, PyDict_GET_SIZE(keywords) ? keywords : NULL);
    if (result == NULL) {
        goto done;
    }
    PyObject *admitted;
    if (PyTuple_CheckExact(result)) {
        admitted = PyObject_CallOneArg(self->classify, result);
    }
    else {
        int verdict = PySet_Contains(self->plain, (PyObject *)Py_TYPE(result));
        if (verdict > 0) {
            goto done;
        }
        admitted = verdict < 0 ? NULL : PyObject_CallOneArg(self->admit, result);
    }
    Py_SETREF(result, admitted);
done:
    Py_DECREF(keywords);
    Py_DECREF(positional);
    Py_DECREF(function);
    return result;
}

/* A guard holds Python functions whose closures reach the job's namespace, which holds
 * the guard: a cycle the collector must see through (sessions run many jobs in one process). */
static int
guard_traverse(Guard *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->name);
    Py_VISIT(self->plain);
    Py_VISIT(self->fallback);
    Py_VISIT(self->classify);
    Py_VISIT(self->public_names);
    Py_VISIT(self->opaque);
    Py_VISIT(self->source_filename);
    Py_VISIT(self->method_crossings);
    Py_VISIT(self->module_proxy);
    Py_VISIT(self->offered_ids);
    Py_VISIT(self->writable);
    Py_VISIT(self->private_names);
    Py_VISIT(self->private_kinds);
    Py_VISIT(self->receivers);
    Py_VISIT(self->ruled);
    Py_VISIT(self->admit);
    Py_VISIT(self->safe_point);
    return 0;
}

static int
guard_clear(Guard *self)
{
    Py_CLEAR(self->name);
    Py_CLEAR(self->plain);
    Py_CLEAR(self->fallback);
    Py_CLEAR(self->classify);
    Py_CLEAR(self->public_names);
    Py_CLEAR(self->opaque);
    Py_CLEAR(self->source_filename);
    Py_CLEAR(self->method_crossings);
    Py_CLEAR(self->module_proxy);
    Py_CLEAR(self->offered_ids);
    Py_CLEAR(self->writable);
    Py_CLEAR(self->private_names);
    Py_CLEAR(self->private_kinds);
    Py_CLEAR(self->receivers);
    Py_CLEAR(self->ruled);
    Py_CLEAR(self->admit);
    Py_CLEAR(self->safe_point);
    return 0;
}

static void
guard_dealloc(Guard *self)
{
    PyObject_GC_UnTrack(self);
    guard_clear(self);
    PyTypeObject *tp = Py_TYPE(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *
guard_repr(Guard *self)
{
    return PyUnicode_FromFormat("<built-in function %U>", self->name);
}

/* guard._call(...): the guard as a built-in method bound to it. The interpreter (3.11+)
 * specialises a call of a built-in method at its call site (PRECALL_BUILTIN_FAST_WITH_
 * KEYWORDS) but calls any other callable through the generic path: the compiled program
 * calls the guards in the namespace through these, each call about a quarter cheaper. */
static PyObject *
guard_call(Guard *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return self->vectorcall((PyObject *)self, args, (size_t)nargs, kwnames);
}

static PyMethodDef guard_methods[] = {
    /* A private name: the guards refuse it to the program, which holds the guard itself
     * where it may hold one (the builtin getattr). */
    {"_call", (PyCFunction)(void (*)(void))guard_call, METH_FASTCALL | METH_KEYWORDS,
     "_call(*args, **kwargs): the guard itself, as a built-in method"},
    {NULL},
};

static PyMemberDef guard_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(Guard, vectorcall), READONLY},
    {NULL},
};

static PyType_Slot guard_slots[] = {
    {Py_tp_dealloc, guard_dealloc},
    {Py_tp_traverse, guard_traverse},
    {Py_tp_clear, guard_clear},
    {Py_tp_repr, guard_repr},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_members, guard_members},
    {Py_tp_methods, guard_methods},
    {Py_tp_doc, "One of the sandbox's guards, its common case in C."},
    {0, NULL},
};

/* Not instantiable from Python (no tp_new) and not subclassable: only the make_*
 * functions build one, and the module is not offered to programs. */
static PyType_Spec guard_spec = {
    .name = "src.worker._fastguards.Guard",
    .basicsize = sizeof(Guard),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_DISALLOW_INSTANTIATION |
             Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = guard_slots,
};

/* A new guard of the module's type; takes new references to every object given. */
static PyObject *
new_guard(PyObject *module, vectorcallfunc vectorcall, const char *name, PyObject *plain, PyObject *fallback,
          PyObject *classify)
{
    ModuleState *state = PyModule_GetState(module);
    if (state == NULL || state->guard_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_fastguards is not initialised");
        return NULL;
    }
    if (!PySet_CheckExact(plain) || !PyCallable_Check(fallback) || (classify != NULL && !PyCallable_Check(classify))) {
        PyErr_SetString(PyExc_TypeError, "a guard needs the PLAIN set and Python callables");
        return NULL;
    }
    PyObject *repr_name = PyUnicode_FromString(name);
    if (repr_name == NULL) {
        return NULL;
    }
    Guard *self = PyObject_GC_New(Guard, state->guard_type);
    if (self == NULL) {
        Py_DECREF(repr_name);
        return NULL;
    }
    self->name = repr_name;
    self->plain = Py_NewRef(plain);
    self->fallback = Py_NewRef(fallback);
    self->classify = Py_XNewRef(classify);
    self->public_names = NULL;
    self->opaque = NULL;
    self->source_filename = NULL;
    self->method_crossings = NULL;
    self->module_proxy = NULL;
    self->offered_ids = NULL;
    self->writable = NULL;
    self->private_names = NULL;
    self->private_kinds = NULL;
    self->receivers = NULL;
    self->ruled = NULL;
    self->admit = NULL;
    self->safe_point = NULL;
    self->vectorcall = vectorcall;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static PyObject *
make_getattr(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 13 || !PySet_CheckExact(args[0]) || !PyTuple_CheckExact(args[2]) || !PyUnicode_CheckExact(args[3]) ||
        !PyDict_CheckExact(args[6]) || !PyType_Check(args[7]) || !PySet_CheckExact(args[8]) ||
        !PySet_CheckExact(args[9]) || !PyDict_CheckExact(args[10]) || !PyFrozenSet_CheckExact(args[11]) ||
        !PyDict_CheckExact(args[12])) {
        PyErr_SetString(PyExc_TypeError,
                        "make_getattr(public_names: set, plain: set, opaque: tuple, source_filename: str, "
                        "fallback, classify, method_crossings: dict, module_proxy: type, offered_ids: set, "
                        "private_names: set, private_kinds: dict, receivers: frozenset, ruled: dict)");
        return NULL;
    }
    Guard *self = (Guard *)new_guard(module, guarded_getattr_vectorcall, "getattr", args[1], args[4], args[5]);
    if (self == NULL) {
        return NULL;
    }
    self->public_names = Py_NewRef(args[0]);
    self->opaque = Py_NewRef(args[2]);
    self->source_filename = Py_NewRef(args[3]);
    self->method_crossings = Py_NewRef(args[6]);
    self->module_proxy = Py_NewRef(args[7]);
    self->offered_ids = Py_NewRef(args[8]);
    self->private_names = Py_NewRef(args[9]);
    self->private_kinds = Py_NewRef(args[10]);
    self->receivers = Py_NewRef(args[11]);
    self->ruled = Py_NewRef(args[12]);
    return (PyObject *)self;
}

static PyObject *
make_admit(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyCallable_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "make_admit(plain: set, fallback, safe_point)");
        return NULL;
    }
    Guard *self = (Guard *)new_guard(module, admit_vectorcall, "_admit_", args[0], args[1], NULL);
    if (self == NULL) {
        return NULL;
    }
    self->safe_point = Py_NewRef(args[2]);
    return (PyObject *)self;
}

static PyObject *
make_getitem(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "make_getitem(plain: set, fallback, admit_slow)");
        return NULL;
    }
    return new_guard(module, getitem_vectorcall, "_getitem_", args[0], args[1], args[2]);
}

static PyObject *
make_write(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "make_write(plain: set, fallback)");
        return NULL;
    }
    return new_guard(module, write_vectorcall, "_write_", args[0], args[1], NULL);
}

static PyObject *
make_write_attribute(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyDict_CheckExact(args[1]) || !PySet_CheckExact(args[3]) || !PyDict_CheckExact(args[4])) {
        PyErr_SetString(PyExc_TypeError,
                        "make_write_attribute(plain: set, writable: dict, fallback, private_names: set, "
                        "private_kinds: dict)");
        return NULL;
    }
    Guard *self = (Guard *)new_guard(module, write_attribute_vectorcall, "_write_attribute_", args[0], args[2], NULL);
    if (self == NULL) {
        return NULL;
    }
    self->writable = Py_NewRef(args[1]);
    self->private_names = Py_NewRef(args[3]);
    self->private_kinds = Py_NewRef(args[4]);
    return (PyObject *)self;
}

/* _admitting_iter_(iterable, count): an iterator over iterable whose items pass the
 * membrane before the for statement binds them: count 0, one name (the item, or the
 * membrane's admit of it); count n, a tuple of n names (an exact n-tuple of plain values
 * as it is, anything else through unpack(item, count), the Python half, which unpacks as
 * the interpreter would and admits each value). */
typedef struct {
    PyObject_HEAD
    PyObject *inner;  /* the iterator */
    Py_ssize_t count; /* 0: one name; n: n names */
    PyObject *plain;  /* PLAIN */
    PyObject *admit;  /* the membrane's admit */
    PyObject *unpack; /* guards.admitted_unpacking */
    PyObject *safe_point; /* the collector's work (see at_a_safe_point) */
} AdmittingIterator;

static int
iterator_traverse(AdmittingIterator *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->inner);
    Py_VISIT(self->plain);
    Py_VISIT(self->admit);
    Py_VISIT(self->unpack);
    Py_VISIT(self->safe_point);
    return 0;
}

static int
iterator_clear(AdmittingIterator *self)
{
    Py_CLEAR(self->inner);
    Py_CLEAR(self->plain);
    Py_CLEAR(self->admit);
    Py_CLEAR(self->unpack);
    Py_CLEAR(self->safe_point);
    return 0;
}

static void
iterator_dealloc(AdmittingIterator *self)
{
    PyObject_GC_UnTrack(self);
    iterator_clear(self);
    PyTypeObject *tp = Py_TYPE(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *
iterator_next(AdmittingIterator *self)
{
    if (self->inner == NULL) {
        return NULL;
    }
    if (at_a_safe_point(self->safe_point) < 0) {
        return NULL;
    }
    PyObject *item = PyIter_Next(self->inner); /* NULL, no error set: the end */
    if (item == NULL) {
        return NULL;
    }
    if (self->count == 0) {
        int plain = PySet_Contains(self->plain, (PyObject *)Py_TYPE(item));
        if (plain > 0) {
            return item;
        }
        PyObject *admitted = plain < 0 ? NULL : PyObject_CallOneArg(self->admit, item);
        Py_DECREF(item);
        return admitted;
    }
    if (PyTuple_CheckExact(item) && PyTuple_GET_SIZE(item) == self->count) {
        Py_ssize_t i = 0;
        for (; i < self->count; i++) {
            int plain = PySet_Contains(self->plain, (PyObject *)Py_TYPE(PyTuple_GET_ITEM(item, i)));
            if (plain < 0) {
                Py_DECREF(item);
                return NULL;
            }
            if (!plain) {
                break;
            }
        }
        if (i == self->count) {
            return item;
        }
    }
    PyObject *count = PyLong_FromSsize_t(self->count);
    if (count == NULL) {
        Py_DECREF(item);
        return NULL;
    }
    PyObject *unpacked = PyObject_CallFunctionObjArgs(self->unpack, item, count, NULL);
    Py_DECREF(count);
    Py_DECREF(item);
    return unpacked;
}

static PyType_Slot iterator_slots[] = {
    {Py_tp_dealloc, iterator_dealloc},
    {Py_tp_traverse, iterator_traverse},
    {Py_tp_clear, iterator_clear},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, iterator_next},
    {Py_tp_doc, "The items of a for statement's iterable, each through the membrane."},
    {0, NULL},
};

static PyType_Spec iterator_spec = {
    .name = "src.worker._fastguards.AdmittingIterator",
    .basicsize = sizeof(AdmittingIterator),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = iterator_slots,
};

static PyObject *
admitting_iter_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Guard *self = (Guard *)callable;
    if (kwnames != NULL || PyVectorcall_NARGS(nargsf) != 2 || !PyLong_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "_admitting_iter_(iterable, count)");
        return NULL;
    }
    Py_ssize_t count = PyLong_AsSsize_t(args[1]);
    if (count < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "_admitting_iter_: a count of names, 0 or more");
        }
        return NULL;
    }
    PyObject *module = PyType_GetModule(Py_TYPE(self));
    if (module == NULL) {
        return NULL;
    }
    ModuleState *state = PyModule_GetState(module);
    PyObject *inner = PyObject_GetIter(args[0]);
    if (inner == NULL) {
        return NULL;
    }
    AdmittingIterator *iterator = PyObject_GC_New(AdmittingIterator, state->iterator_type);
    if (iterator == NULL) {
        Py_DECREF(inner);
        return NULL;
    }
    iterator->inner = inner;
    iterator->count = count;
    iterator->plain = Py_NewRef(self->plain);
    iterator->admit = Py_NewRef(self->fallback);
    iterator->unpack = Py_NewRef(self->classify);
    iterator->safe_point = Py_XNewRef(self->safe_point);
    PyObject_GC_Track(iterator);
    return (PyObject *)iterator;
}

static PyObject *
make_admitting_iter(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyCallable_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "make_admitting_iter(plain: set, admit, unpack, safe_point)");
        return NULL;
    }
    Guard *self = (Guard *)new_guard(module, admitting_iter_vectorcall, "_admitting_iter_", args[0], args[1], args[2]);
    if (self == NULL) {
        return NULL;
    }
    self->safe_point = Py_NewRef(args[3]);
    return (PyObject *)self;
}

static PyObject *
make_call_through(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyCallable_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "make_call_through(plain: set, fallback, admitted_nested, admit)");
        return NULL;
    }
    Guard *self = (Guard *)new_guard(module, call_through_vectorcall, "call_through", args[0], args[1], args[2]);
    if (self == NULL) {
        return NULL;
    }
    self->admit = Py_NewRef(args[3]);
    return (PyObject *)self;
}

/* plain_throughout(plain, value): whether value, an exact tuple, list, set, frozenset or
 * dict, holds at any depth (through containers of those exact types) only values whose
 * exact types are in plain: membrane.admitted_nested's common case, answered without a
 * walk in Python (an exception carrying a long list, a crossing returning records). No
 * Python code runs meanwhile (a type's hash and equality are its identity: the program's
 * one metaclass is ABCMeta), so no container changes under the walk. */
static int
is_nested(PyObject *value)
{
    return PyTuple_CheckExact(value) || PyList_CheckExact(value) || PyDict_CheckExact(value) ||
           PyAnySet_CheckExact(value);
}

/* 1 if item is plain (a container is pushed, to be looked into), 0 if not, -1 on error.
 * *last: the type last found plain (containers are mostly of one type). */
static int
plain_item(PyObject *plain, PyObject *pending, PyObject *item, PyTypeObject **last)
{
    if (Py_TYPE(item) == *last) {
        return 1;
    }
    if (is_nested(item)) {
        return PyList_Append(pending, item) < 0 ? -1 : 1;
    }
    int verdict = PySet_Contains(plain, (PyObject *)Py_TYPE(item));
    if (verdict == 1) {
        *last = Py_TYPE(item); /* plain stays plain while no Python code runs */
    }
    return verdict;
}

static int
plain_elements(PyObject *plain, PyObject *pending, PyObject *container)
{
    int verdict = 1;
    PyTypeObject *last = NULL;
    if (PyDict_CheckExact(container)) {
        Py_ssize_t position = 0;
        PyObject *key, *value;
        while (verdict == 1 && PyDict_Next(container, &position, &key, &value)) {
            verdict = plain_item(plain, pending, key, &last);
            if (verdict == 1) {
                verdict = plain_item(plain, pending, value, &last);
            }
        }
    }
    else if (PyAnySet_CheckExact(container)) {
        Py_ssize_t position = 0;
        PyObject *key;
        Py_hash_t hash;
        while (verdict == 1 && _PySet_NextEntry(container, &position, &key, &hash)) {
            verdict = plain_item(plain, pending, key, &last);
        }
    }
    else {
        PyObject **items = PySequence_Fast_ITEMS(container); /* an exact tuple or list */
        Py_ssize_t size = PySequence_Fast_GET_SIZE(container);
        for (Py_ssize_t i = 0; verdict == 1 && i < size; i++) {
            verdict = plain_item(plain, pending, items[i], &last);
        }
    }
    return verdict;
}

static PyObject *
plain_throughout(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyAnySet_Check(args[0]) || !is_nested(args[1])) {
        PyErr_SetString(PyExc_TypeError, "plain_throughout(plain, container)");
        return NULL;
    }
    PyObject *plain = args[0];
    PyObject *pending = PyList_New(0); /* a stack: depth first, only what is still to look into */
    PyObject *seen = PySet_New(NULL);
    int verdict = (pending == NULL || seen == NULL) ? -1 : PyList_Append(pending, args[1]) < 0 ? -1 : 1;
    while (verdict == 1 && PyList_GET_SIZE(pending) > 0) {
        Py_ssize_t last = PyList_GET_SIZE(pending) - 1;
        PyObject *container = Py_NewRef(PyList_GET_ITEM(pending, last));
        if (PyList_SetSlice(pending, last, last + 1, NULL) < 0) {
            Py_DECREF(container);
            verdict = -1;
            break;
        }
        /* Held by this function and one referrer only: reached once (by that referrer,
         * looked into once). Anything else (shared, or in a cycle) is remembered. */
        int known = 0;
        if (Py_REFCNT(container) > 2) {
            PyObject *key = PyLong_FromVoidPtr(container);
            known = key == NULL ? -1 : PySet_Contains(seen, key);
            if (known == 0 && PySet_Add(seen, key) < 0) {
                known = -1;
            }
            Py_XDECREF(key);
        }
        if (known == 0) {
            verdict = plain_elements(plain, pending, container);
        }
        else if (known < 0) {
            verdict = -1;
        }
        Py_DECREF(container);
    }
    Py_XDECREF(pending);
    Py_XDECREF(seen);
    if (verdict < 0) {
        return NULL;
    }
    return PyBool_FromLong(verdict);
}

/* allocation_failures(): how many allocations of the interpreter's own allocators (the
 * "mem" and "object" domains, which every object and buffer of Python's goes through)
 * have failed in this process since the first call, which installs the count as a hook
 * around the allocators in place (as tracemalloc does). A MemoryError is the memory limit
 * only if one failed while the program ran (runner._made_by_the_program): the program can
 * raise the exact class, with the interpreter's own traceback shape, without one
 * (generator.throw). The "raw" domain is not hooked: it is called without the GIL. */
static PyMemAllocatorEx base_allocators[2];
static unsigned long long allocation_failures_seen = 0;
static int counting_allocation_failures = 0;

static void *
counted_malloc(void *ctx, size_t size)
{
    PyMemAllocatorEx *base = ctx;
    void *memory = base->malloc(base->ctx, size);
    allocation_failures_seen += memory == NULL;
    return memory;
}

static void *
counted_calloc(void *ctx, size_t count, size_t size)
{
    PyMemAllocatorEx *base = ctx;
    void *memory = base->calloc(base->ctx, count, size);
    allocation_failures_seen += memory == NULL;
    return memory;
}

static void *
counted_realloc(void *ctx, void *old, size_t size)
{
    PyMemAllocatorEx *base = ctx;
    void *memory = base->realloc(base->ctx, old, size);
    allocation_failures_seen += memory == NULL;
    return memory;
}

static void
counted_free(void *ctx, void *memory)
{
    PyMemAllocatorEx *base = ctx;
    base->free(base->ctx, memory);
}

static PyObject *
allocation_failures(PyObject *module, PyObject *unused)
{
    if (!counting_allocation_failures) {
        PyMemAllocatorDomain domains[2] = {PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ};
        for (int i = 0; i < 2; i++) {
            PyMem_GetAllocator(domains[i], &base_allocators[i]);
            PyMemAllocatorEx counted = {&base_allocators[i], counted_malloc, counted_calloc, counted_realloc,
                                        counted_free};
            PyMem_SetAllocator(domains[i], &counted);
        }
        counting_allocation_failures = 1;
    }
    return PyLong_FromUnsignedLongLong(allocation_failures_seen);
}

/* safe_point_soon(): the next call of a guard that counts makes it a safe point (a
 * finalizer waits for one: interpreter_repairs/finalizers.c). */
static PyObject *
safe_point_soon(PyObject *module, PyObject *unused)
{
    safe_point_calls = SAFE_POINT_PERIOD - 1;
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"safe_point_soon", safe_point_soon, METH_NOARGS, "safe_point_soon(): the next counted call is a safe point"},
    {"make_getattr", (PyCFunction)(void (*)(void))make_getattr, METH_FASTCALL,
     "make_getattr(public_names, plain, opaque, source_filename, fallback, classify, method_crossings, "
     "module_proxy, offered_ids, private_names, private_kinds, receivers, ruled)"},
    {"make_admit", (PyCFunction)(void (*)(void))make_admit, METH_FASTCALL, "make_admit(plain, fallback, safe_point)"},
    {"make_getitem", (PyCFunction)(void (*)(void))make_getitem, METH_FASTCALL,
     "make_getitem(plain, fallback, admit_slow)"},
    {"make_write", (PyCFunction)(void (*)(void))make_write, METH_FASTCALL, "make_write(plain, fallback)"},
    {"make_admitting_iter", (PyCFunction)(void (*)(void))make_admitting_iter, METH_FASTCALL,
     "make_admitting_iter(plain, admit, unpack, safe_point)"},
    {"make_call_through", (PyCFunction)(void (*)(void))make_call_through, METH_FASTCALL,
     "make_call_through(plain, fallback, admitted_nested, admit)"},
    {"allocation_failures", allocation_failures, METH_NOARGS, "allocation_failures()"},
    {"plain_throughout", (PyCFunction)(void (*)(void))plain_throughout, METH_FASTCALL,
     "plain_throughout(plain, container)"},
    {"make_write_attribute", (PyCFunction)(void (*)(void))make_write_attribute, METH_FASTCALL,
     "make_write_attribute(plain, writable, fallback, private_names, private_kinds)"},
    {NULL, NULL, 0, NULL},
};

static int
module_exec(PyObject *module)
{
    ModuleState *state = PyModule_GetState(module);
    state->guard_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &guard_spec, NULL);
    if (state->guard_type == NULL) {
        return -1;
    }
    state->iterator_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &iterator_spec, NULL);
    if (state->iterator_type == NULL) {
        return -1;
    }
    /* The module keeps both; the guard type is also its attribute (fastguards.called_form). */
    return PyModule_AddObjectRef(module, "Guard", (PyObject *)state->guard_type);
}

static int
module_traverse(PyObject *module, visitproc visit, void *arg)
{
    ModuleState *state = PyModule_GetState(module);
    if (state != NULL) {
        Py_VISIT(state->guard_type);
        Py_VISIT(state->iterator_type);
    }
    return 0;
}

static int
module_clear(PyObject *module)
{
    ModuleState *state = PyModule_GetState(module);
    if (state != NULL) {
        Py_CLEAR(state->guard_type);
        Py_CLEAR(state->iterator_type);
    }
    return 0;
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

static struct PyModuleDef fastguards_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "src.worker._fastguards",
    .m_doc = "The attribute guard's common case in C (see guards.py and fastguards.py).",
    .m_size = sizeof(ModuleState),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
};

PyMODINIT_FUNC
PyInit__fastguards(void)
{
    return PyModuleDef_Init(&fastguards_module);
}
