/* Finalizers wait for a safe point. A finalizer runs code of the program's wherever the
 * object's last reference goes: a suspended generator's `finally` (or a coroutine's), an
 * io object's `close()` in a class of the program's. The last reference often goes inside
 * a C operation of the interpreter that has not made its state whole yet: a class's
 * attribute store releases the old value before it invalidates the type attribute cache,
 * which lends that value by a borrowed pointer (attack pass 75: the `finally` read the
 * dying value back and kept it past its free, a full escape); a list store, a dict
 * deletion and a tuple's dealloc release their items in the middle of their work too.
 * Each such window is one memory-safety bug; the family's common trigger is the
 * finalizer. The sandbox already confines the collector's finalizers to safe points
 * (guards.collect_at_a_safe_point); this does the same for a finalizer a decref runs.
 *
 * Every tp_finalize of every type (one trampoline per distinct C function, in the slot
 * and in the `__del__` wrapper descriptor that later classes copy theirs from; a class
 * made later is held by operands.c's type.__new__) queues its object instead of running,
 * once a job has begun deferring: the queue's reference resurrects the object, which
 * CPython has already marked finalized, so it is finalized once. A release that is the
 * program's own instruction (a pop, a rebinding or deletion of a name) runs it at once, as
 * CPython does: no C operation is under it. Else the queue is run
 *  - between two instructions of the program's own code: a pending call, which the
 *    interpreter runs at its next eval-breaker check (a call, a loop's jump back, a
 *    function's start), if that check is in a frame of the program's (a check in the
 *    sandbox's own Python code asks for the guards' next safe point instead, through
 *    `soon`: a guard between its check and its use must not run the program's code);
 *  - at the guards' safe points, as a collection is (guards.collect_at_a_safe_point);
 *  - before the program's output is written (printing.py) and once the program is done.
 * An object the queue has no memory for is freed without being finalized (attack pass 77:
 * a program exhausted memory so that the finalizer ran inside the operation after all).
 * So a generator abandoned by `break`, `g = None` or `del g` closes at once, as in
 * CPython; one a C operation released (`d[k] = v`) closes at the next call or print.
 * Objects whose class is not collected by the GC (whose finalized mark CPython cannot
 * keep) are finalized at once, as before: no offered class is one; so are the objects a
 * collection finalizes (it runs at a safe point), while what their finalizers release
 * waits. */
#include "repairs.h"
#include "opcode.h"

#define FINALIZER_POOL_SIZE 16

static void *finalize_originals[FINALIZER_POOL_SIZE];

/* The queue: the objects whose finalizers are due, in order. */
static PyObject *waiting = NULL;
static int deferring = 0, scheduled = 0;
/* Runs of the queue in progress: a finalizer's own code reaches safe points too, and what
 * it releases meanwhile runs there, in a run of its own (attack pass 79: a `finally` that
 * loops kept every value it replaced until it returned); bounded, for the C stack. */
static int running = 0;
#define MAX_NESTED_RUNS 32
static Py_ssize_t never_finalized = 0; /* freed unfinalized: no memory to queue, or the job was over */
/* The job's queue is being dropped: nothing it releases is finalized either. */
static int dropping = 0;
/* A job has ended and no other has begun: the program's generators are never finalized. */
static int job_over = 0;
static PyObject *program_filename = NULL; /* the co_filename of the program's code */
static PyObject *soon = NULL;             /* makes the guards' next call a safe point */

static void finalize_or_defer(PyObject *self, int index);

/* Whether `frame`, running `code`, is a module's code whose names live in an exact dict.
 * Module code has no fast locals, so asking for its locals copies nothing into them. */
static int
module_namespace_is_a_dict(PyFrameObject *frame, PyCodeObject *code)
{
    if ((code->co_flags & CO_OPTIMIZED) || !PyUnicode_CheckExact(code->co_name) ||
        PyUnicode_CompareWithASCIIString(code->co_name, "<module>") != 0 || code->co_nlocalsplus != 0) {
        return 0;
    }
    PyObject *locals = PyFrame_GetLocals(frame);
    int plain = locals != NULL && PyDict_CheckExact(locals);
    Py_XDECREF(locals);
    return plain;
}

#define DEFERRING_FINALIZER(K)                                                                                         \
    static void deferring_finalizer_##K(PyObject *self) { finalize_or_defer(self, 0##K); }
POOL_8(DEFERRING_FINALIZER, 0)
POOL_8(DEFERRING_FINALIZER, 1)

#define FINALIZER_ENTRY(K) [0##K] = (void *)deferring_finalizer_##K,
static void *const finalize_trampolines[FINALIZER_POOL_SIZE] = {POOL_8(FINALIZER_ENTRY, 0) POOL_8(FINALIZER_ENTRY, 1)};

static int
schedule_pending(void *unused);

/* Whether `self` is a generator, coroutine or async generator whose finalizer runs nothing:
 * its frame is done (genobject.c's _PyGen_Finalize returns at once; 3.11's frame states,
 * FRAME_COMPLETED and after), or it is a generator never started (FRAME_CREATED, -2:
 * gen_close only marks it done; an unawaited coroutine's warning still waits). Most
 * generators die so (a generator expression summed; `all(map(gen, xs))` makes and drops
 * one per item inside C code that reaches no safe point: attack pass 78 filled the memory
 * limit with them). Or a suspended generator whose code has no exception handler (no
 * `try`, `with`): the GeneratorExit that closes it unwinds its frame without running an
 * instruction (what the unwinding releases goes through its own finalizers). */
static int
finished_generator(PyObject *self)
{
    if (PyGen_CheckExact(self)) {
        PyGenObject *generator = (PyGenObject *)self;
        int8_t state = generator->gi_frame_state;
        if (state >= 1 || state == -2) {
            return 1;
        }
        PyObject *handlers = ((PyCodeObject *)generator->gi_code)->co_exceptiontable;
        return state == -1 && PyBytes_CheckExact(handlers) && PyBytes_GET_SIZE(handlers) == 0;
    }
    if (PyCoro_CheckExact(self)) {
        return ((PyCoroObject *)self)->cr_frame_state >= 1;
    }
    if (PyAsyncGen_CheckExact(self)) {
        return ((PyAsyncGenObject *)self)->ag_frame_state >= 1;
    }
    return 0;
}

/* The instruction the innermost frame is running (deoptimized: its base opcode), if that
 * frame runs the program's own code; -1 otherwise. `*namespace_is_a_dict` tells whether a
 * name stored or deleted by that instruction lives in an exact dict. */
static int
program_instruction(int *namespace_is_a_dict)
{
    PyFrameObject *frame = PyEval_GetFrame(); /* borrowed */
    if (frame == NULL || program_filename == NULL) {
        return -1;
    }
    PyCodeObject *code = PyFrame_GetCode(frame);
    PyObject *filename = code->co_filename;
    int opcode = -1;
    if (PyUnicode_CheckExact(filename) && PyUnicode_Compare(filename, program_filename) == 0) {
        PyObject *instructions = PyCode_GetCode(code); /* deoptimized, cached by the code object */
        int offset = PyFrame_GetLasti(frame);
        if (instructions != NULL && offset >= 0 && offset < PyBytes_GET_SIZE(instructions)) {
            opcode = (unsigned char)PyBytes_AS_STRING(instructions)[offset];
        }
        Py_XDECREF(instructions);
        if (opcode == STORE_GLOBAL || opcode == DELETE_GLOBAL) {
            *namespace_is_a_dict = PyDict_CheckExact(PyFrame_GetGlobals(frame));
        }
        else if (opcode == STORE_NAME || opcode == DELETE_NAME) {
            *namespace_is_a_dict = module_namespace_is_a_dict(frame, code);
        }
    }
    Py_DECREF(code);
    PyErr_Clear();
    return opcode;
}

/* Whether the decref is the program's own instruction's: popping a value (`for ...:
 * break` pops the loop's iterator) or rebinding or deleting a local, a global, or a name
 * of a module's code whose namespace is an exact dict. Those instructions call no C code
 * but the release itself, so the finalizer runs between two of the program's
 * instructions, as in CPython; any other (a store into an attribute or item, a call) may
 * be C code in the middle of its work. */
static int
released_by_the_programs_instruction(void)
{
    int namespace_is_a_dict = 0;
    switch (program_instruction(&namespace_is_a_dict)) {
    case POP_TOP:
    case STORE_FAST:
    case DELETE_FAST:
        return 1;
    case STORE_GLOBAL:
    case DELETE_GLOBAL:
    case STORE_NAME:
    case DELETE_NAME:
        return namespace_is_a_dict;
    default:
        return 0;
    }
}

/* Whether `self` is a generator, coroutine or async generator of the program's code. */
static int
programs_generator(PyObject *self)
{
    PyCodeObject *code = NULL;
    if (PyGen_CheckExact(self)) {
        code = (PyCodeObject *)((PyGenObject *)self)->gi_code;
    }
    else if (PyCoro_CheckExact(self)) {
        code = (PyCodeObject *)((PyCoroObject *)self)->cr_code;
    }
    else if (PyAsyncGen_CheckExact(self)) {
        code = (PyCodeObject *)((PyAsyncGenObject *)self)->ag_code;
    }
    if (code == NULL || program_filename == NULL || !PyUnicode_CheckExact(code->co_filename)) {
        return 0;
    }
    return PyUnicode_Compare(code->co_filename, program_filename) == 0;
}

static void
finalize_or_defer(PyObject *self, int index)
{
    destructor original = (destructor)finalize_originals[index];
    /* After its job, the program's code never runs: a generator of its that a later
     * collection frees (a cycle, in a process that goes on) is freed unfinalized. */
    if (dropping || (job_over && !deferring && programs_generator(self))) {
        never_finalized++;
        return;
    }
    /* Marked finalized before the call: the collector's (at a safe point, where the
     * program's code may run), run now; its collection frees what it finalized. */
    if (!deferring || waiting == NULL || !PyType_IS_GC(Py_TYPE(self)) || PyObject_GC_IsFinalized(self) ||
        finished_generator(self)) {
        original(self);
        return;
    }
    /* A finalizer must leave the current exception as it found it (a dealloc may run
     * while one is being raised). */
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    if (released_by_the_programs_instruction()) {
        PyErr_Restore(type, value, traceback);
        original(self);
        return;
    }
    if (PyList_Append(waiting, self) < 0) {
        /* No memory to queue it (the program can exhaust memory on purpose): running it
         * now would reopen the window this closes, so it is never finalized: CPython has
         * marked it finalized, and its dealloc goes on and frees it (a generator's frame
         * is cleared without its `finally`), its memory back (attack pass 79). */
        PyErr_Clear();
        never_finalized++;
        PyErr_Restore(type, value, traceback);
        return;
    }
    if (!scheduled && Py_AddPendingCall(schedule_pending, NULL) == 0) {
        scheduled = 1;
    }
    PyErr_Restore(type, value, traceback);
}

/* The function a finalizer slot runs: the original behind a trampoline. A class's slot
 * cannot change while its object waits (only a `__del__` store, refused, changes it). */
static destructor
original_finalizer(destructor slot)
{
    for (int i = 0; i < FINALIZER_POOL_SIZE; i++) {
        if (finalize_trampolines[i] == (void *)slot) {
            return (destructor)finalize_originals[i];
        }
    }
    return slot;
}

/* Runs what waits, finalizers that their own code makes due included, in order. The
 * number run. Each run takes the queue as it is, so a run nested in a finalizer of an
 * outer one runs only what became due since; the outer one goes on with its own. */
Py_ssize_t
run_waiting_finalizers(void)
{
    if (running >= MAX_NESTED_RUNS || waiting == NULL || PyList_GET_SIZE(waiting) == 0) {
        return 0;
    }
    running++;
    Py_ssize_t done = 0;
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    while (PyList_GET_SIZE(waiting) > 0) {
        PyObject *batch = waiting;
        waiting = PyList_New(0);
        if (waiting == NULL) { /* what waits stays queued for the next safe point */
            PyErr_Clear();
            waiting = batch;
            break;
        }
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(batch); i++) {
            PyObject *object = PyList_GET_ITEM(batch, i);
            destructor finalize = original_finalizer(Py_TYPE(object)->tp_finalize);
            if (finalize != NULL) {
                finalize(object);
            }
            if (PyErr_Occurred()) {
                PyErr_WriteUnraisable(object);
            }
            done++;
        }
        Py_DECREF(batch); /* the objects go (finalized already: their dealloc runs nothing) */
    }
    PyErr_Restore(type, value, traceback);
    running--;
    return done;
}

/* Whether the innermost frame runs the program's own code. Its eval-breaker checks are
 * a function's start, a loop's jump back and the end of a call: at the last, the value
 * the call returned (a guard's, with its verdict) is used by the next instruction; a
 * finalizer run in between cannot change what a verdict rests on (a value's class, the
 * sandbox's tables), only what the program's own code could change there. */
static int
in_program_code(void)
{
    int namespace_is_a_dict = 0;
    return program_instruction(&namespace_is_a_dict) >= 0;
}

/* The pending call: at the interpreter's next eval-breaker check, between two
 * instructions, where its own state is whole. */
static int
schedule_pending(void *unused)
{
    scheduled = 0;
    if (waiting == NULL || PyList_GET_SIZE(waiting) == 0) {
        return 0;
    }
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    if (in_program_code()) {
        run_waiting_finalizers();
    }
    else if (soon != NULL) {
        PyObject *done = PyObject_CallNoArgs(soon);
        Py_XDECREF(done);
        PyErr_Clear();
    }
    PyErr_Restore(type, value, traceback);
    return 0;
}

static int
in_finalizer_pool(void *function)
{
    for (int i = 0; i < FINALIZER_POOL_SIZE; i++) {
        if (finalize_trampolines[i] == function) {
            return 1;
        }
    }
    return 0;
}

/* `type`'s finalizer, and its `__del__` wrapper descriptor, through the trampoline for its
 * function (assigned on first use). */
int
defer_type_finalizer(PyTypeObject *type)
{
    void *original = (void *)type->tp_finalize;
    if (original == NULL || in_finalizer_pool(original)) {
        return 0;
    }
    for (int i = 0; i < FINALIZER_POOL_SIZE; i++) {
        if (finalize_originals[i] == NULL) {
            finalize_originals[i] = original;
        }
        if (finalize_originals[i] == original) {
            REPAIR_SLOT(type, -1, offsetof(PyTypeObject, tp_finalize), original, finalize_trampolines[i], "__del__");
            return 0;
        }
    }
    PyErr_SetString(PyExc_RuntimeError, "more C finalizer functions than trampolines");
    return -1;
}

int
defer_finalizers(void)
{
    return walk_subclasses(&PyBaseObject_Type, defer_type_finalizer);
}

int
type_finalizer_deferred(PyTypeObject *type)
{
    return type->tp_finalize == NULL || in_finalizer_pool((void *)type->tp_finalize);
}

/* From now on (the job), finalizers wait: `filename` names the program's code, `callable`
 * asks the guards for a safe point at their next call. */
int
begin_deferring_finalizers(PyObject *filename, PyObject *callable)
{
    if (!PyUnicode_CheckExact(filename) || !PyCallable_Check(callable)) {
        PyErr_SetString(PyExc_TypeError, "begin_deferring_finalizers(filename: str, soon: callable)");
        return -1;
    }
    if (waiting == NULL && (waiting = PyList_New(0)) == NULL) {
        return -1;
    }
    Py_XSETREF(program_filename, Py_NewRef(filename));
    Py_XSETREF(soon, Py_NewRef(callable));
    deferring = 1;
    job_over = 0;
    return 0;
}

/* The job is over and its outcome final: what waits never runs (the program's code ran
 * after its reply was built: a `finally` that filled the memory broke the reply's encoding,
 * attack pass 85), nor what dropping it releases. CPython has marked each finalized, so its
 * dealloc frees it without running anything (a generator's frame is cleared without its
 * `finally`), as when the queue had no memory. Then finalizers run at once again, but the
 * program's generators' never (finalize_or_defer). */
void
end_deferring_finalizers(void)
{
    dropping = 1;
    Py_CLEAR(waiting);
    dropping = 0;
    deferring = 0;
    job_over = 1;
}

Py_ssize_t
finalizers_never_run(void)
{
    return never_finalized;
}
