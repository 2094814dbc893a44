#include "repairs.h"

/* decimal's Context: its signal dicts (`traps`, `flags`) keep a raw pointer into their
 * context and no reference to it, so `decimal.Context().traps` outlives the context and
 * reads and writes its freed memory (gh-146011, gh-155493; attack passes 68 and 69: full
 * escapes). Here a context about to be freed gives each signal dict that someone else
 * still holds a word of its own (with the value it had), so the dict never points into
 * freed memory; a context nobody reads the dicts of is freed as before (a program that
 * makes a context per call keeps constant memory, pass 71). The words come from slabs of
 * this file's, and go back to them when the dict dies (a program that keeps each context's
 * traps a moment keeps constant memory too, pass 72). And a Decimal comparison,
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

/* The orphans' words: slabs of 1024 << i words, and the words given back, reused first. */
#define ORPHAN_SLABS 20
static uint32_t *orphan_slabs[ORPHAN_SLABS];
static size_t orphan_slab_count = 0, orphan_slab_used = 0; /* words used in the newest slab */
static uint32_t **orphan_free = NULL;
static size_t orphan_free_count = 0, orphan_free_capacity = 0;
static destructor original_signal_dict_dealloc = NULL;
static PyTypeObject *signal_dict_type = NULL; /* the C mixin under decimal.SignalDict */

static size_t
orphan_slab_size(size_t slab)
{
    return (size_t)1024 << slab;
}

static uint32_t *
orphan_word(void)
{
    if (orphan_free_count > 0) {
        return orphan_free[--orphan_free_count];
    }
    if (orphan_slab_count == 0 || orphan_slab_used == orphan_slab_size(orphan_slab_count - 1)) {
        uint32_t *slab = orphan_slab_count == ORPHAN_SLABS
                             ? NULL
                             : PyMem_RawMalloc(orphan_slab_size(orphan_slab_count) * sizeof(uint32_t));
        if (slab == NULL) {
            return &orphans_without_memory;
        }
        orphan_slabs[orphan_slab_count++] = slab;
        orphan_slab_used = 0;
    }
    return &orphan_slabs[orphan_slab_count - 1][orphan_slab_used++];
}

static int
is_orphan_word(const uint32_t *word)
{
    for (size_t i = 0; i < orphan_slab_count; i++) {
        if (word >= orphan_slabs[i] && word < orphan_slabs[i] + orphan_slab_size(i)) {
            return 1;
        }
    }
    return 0;
}

/* A dying signal dict's word back to the slabs (kept out of them if there is no memory to
 * note it: a word lost, never one given twice). */
static void
dealloc_returning_word(PyObject *dict)
{
    uint32_t *word = ((SignalDictHead *)dict)->flags;
    original_signal_dict_dealloc(dict);
    if (word == NULL || !is_orphan_word(word)) {
        return;
    }
    if (orphan_free_count == orphan_free_capacity) {
        size_t capacity = orphan_free_capacity == 0 ? 1024 : orphan_free_capacity * 2;
        uint32_t **grown = PyMem_RawRealloc(orphan_free, capacity * sizeof(uint32_t *));
        if (grown == NULL) {
            return;
        }
        orphan_free = grown;
        orphan_free_capacity = capacity;
    }
    orphan_free[orphan_free_count++] = word;
}

static void
orphan_signal_dict(PyObject *context, Py_ssize_t offset)
{
    PyObject *dict = *(PyObject **)((char *)context + offset);
    if (dict == NULL || Py_REFCNT(dict) <= 1) {
        return; /* only the context holds it: freed with it */
    }
    SignalDictHead *signals = (SignalDictHead *)dict;
    /* Only a dict of the type whose dealloc gives the word back gets one of the slabs'. */
    uint32_t *own = PyObject_TypeCheck(dict, signal_dict_type) ? orphan_word() : &orphans_without_memory;
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
    if (known) {
        /* decimal.SignalDict is a heap class over _decimal's C mixin, whose dealloc (the
         * heap class's calls it) is the one that can be wrapped. */
        PyTypeObject *mixin = Py_TYPE(traps)->tp_base;
        if (mixin != NULL && !PyType_HasFeature(mixin, Py_TPFLAGS_HEAPTYPE) &&
            mixin->tp_basicsize == (Py_ssize_t)sizeof(SignalDictHead)) {
            signal_dict_type = mixin; /* kept alive by the module */
        }
        else {
            known = 0;
        }
    }
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
        original_signal_dict_dealloc = signal_dict_type->tp_dealloc;
        signal_dict_type->tp_dealloc = dealloc_returning_word;
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
