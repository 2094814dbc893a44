#include "repairs.h"

/* decimal's Context: its signal dicts (`traps`, `flags`) keep a raw pointer into their
 * context and no reference to it, so `decimal.Context().traps` outlives the context and
 * reads and writes its freed memory (gh-146011, gh-155493; attack passes 68 and 69: full
 * escapes). Here a context about to be freed gives each signal dict that someone else
 * still holds a word of its own (with the value it had), so the dict never points into
 * freed memory; a context nobody reads the dicts of is freed as before (a program that
 * makes a context per call keeps constant memory, pass 71). And a Decimal comparison,
 * which borrows the thread's current context while it reads a Rational's numerator (the
 * program's property, which may setcontext() it away: gh-148382), holds the current
 * context for the call. The offsets are 3.11's PyDecContextObject, checked by apply(). */
#define CONTEXT_TRAPS_OFFSET 64
#define CONTEXT_FLAGS_OFFSET 72
#define CONTEXT_TRAP_WORD_OFFSET 40
#define CONTEXT_STATUS_WORD_OFFSET 44

typedef struct {
    PyObject_HEAD uint32_t *flags;
} SignalDictHead; /* _decimal.c's PyDecSignalDictObject */

static destructor original_context_dealloc = NULL;
static richcmpfunc original_decimal_richcompare = NULL;
static PyObject *decimal_getcontext = NULL;
static uint32_t orphans_without_memory = 0; /* shared by orphans when no word could be allocated */

static void
orphan_signal_dict(PyObject *context, Py_ssize_t offset)
{
    PyObject *dict = *(PyObject **)((char *)context + offset);
    if (dict == NULL || Py_REFCNT(dict) <= 1) {
        return; /* only the context holds it: freed with it */
    }
    SignalDictHead *signals = (SignalDictHead *)dict;
    uint32_t *own = PyMem_RawMalloc(sizeof(uint32_t)); /* never freed: the dict's dealloc knows nothing of it */
    if (own == NULL) {
        own = &orphans_without_memory;
    }
    *own = *signals->flags;
    signals->flags = own;
}

static void
dealloc_orphaning_signals(PyObject *context)
{
    orphan_signal_dict(context, CONTEXT_TRAPS_OFFSET);
    orphan_signal_dict(context, CONTEXT_FLAGS_OFFSET);
    original_context_dealloc(context);
}

static PyObject *
richcompare_holding_context(PyObject *a, PyObject *b, int op)
{
    PyObject *current = PyObject_CallNoArgs(decimal_getcontext);
    if (current == NULL) {
        return NULL;
    }
    PyObject *result = original_decimal_richcompare(a, b, op);
    Py_DECREF(current);
    return result;
}

static int
repair_context_type(PyTypeObject *type)
{
    repair_slot(type, -1, offsetof(PyTypeObject, tp_dealloc), (void *)original_context_dealloc,
                (void *)dealloc_orphaning_signals);
    return 0;
}

static int
repair_decimal_type(PyTypeObject *type)
{
    repair_comparison(type, original_decimal_richcompare, richcompare_holding_context);
    return 0;
}

/* Whether a fresh context has 3.11's layout: its signal dicts at the offsets above, each
 * pointing at the context's own word. */
static int
context_layout_is_known(PyObject *context_type)
{
    PyObject *context = PyObject_CallNoArgs(context_type);
    if (context == NULL) {
        return -1;
    }
    PyObject *traps = PyObject_GetAttrString(context, "traps");
    PyObject *flags = traps == NULL ? NULL : PyObject_GetAttrString(context, "flags");
    int known = flags != NULL && Py_TYPE(context)->tp_basicsize >= CONTEXT_FLAGS_OFFSET + (Py_ssize_t)sizeof(void *) &&
                *(PyObject **)((char *)context + CONTEXT_TRAPS_OFFSET) == traps &&
                *(PyObject **)((char *)context + CONTEXT_FLAGS_OFFSET) == flags &&
                ((SignalDictHead *)traps)->flags == (uint32_t *)((char *)context + CONTEXT_TRAP_WORD_OFFSET) &&
                ((SignalDictHead *)flags)->flags == (uint32_t *)((char *)context + CONTEXT_STATUS_WORD_OFFSET);
    Py_XDECREF(traps);
    Py_XDECREF(flags);
    Py_DECREF(context);
    if (PyErr_Occurred()) {
        return -1;
    }
    if (!known) {
        PyErr_SetString(PyExc_TypeError, "decimal.Context's layout is not the one this repair knows");
        return -1;
    }
    return 0;
}

int
repair_decimal(void)
{
    PyObject *decimal = PyImport_ImportModule("decimal");
    if (decimal == NULL) {
        return -1;
    }
    PyObject *context = PyObject_GetAttrString(decimal, "Context");
    PyObject *number = context == NULL ? NULL : PyObject_GetAttrString(decimal, "Decimal");
    decimal_getcontext = number == NULL ? NULL : PyObject_GetAttrString(decimal, "getcontext"); /* kept */
    Py_DECREF(decimal);
    int result = -1;
    if (decimal_getcontext != NULL && PyType_Check(context) && PyType_Check(number) &&
        !PyType_HasFeature((PyTypeObject *)context, Py_TPFLAGS_HEAPTYPE) &&
        !PyType_HasFeature((PyTypeObject *)number, Py_TPFLAGS_HEAPTYPE) && context_layout_is_known(context) == 0) {
        original_context_dealloc = ((PyTypeObject *)context)->tp_dealloc;
        original_decimal_richcompare = ((PyTypeObject *)number)->tp_richcompare;
        result = walk_subclasses((PyTypeObject *)context, repair_context_type) < 0 ||
                         walk_subclasses((PyTypeObject *)number, repair_decimal_type) < 0
                     ? -1
                     : 0;
    }
    else if (!PyErr_Occurred()) {
        PyErr_SetString(PyExc_TypeError, "decimal's Context and Decimal are not _decimal's C types");
    }
    Py_XDECREF(context);
    Py_XDECREF(number);
    return result;
}
