#include "repairs.h"

/* bytearray's methods take the buffer's pointer and size, then convert their arguments,
 * whose __index__ or __len__ may be the program's and clear the bytearray: the method
 * reads freed memory (pass 67: the searches and `%`; pass 68: hex's separator). Every
 * method that does not resize the bytearray (all but append, extend, insert, pop, remove
 * and clear, which convert first and re-read after) holds an export of the buffer for
 * its call, so that a resize from the program's code raises BufferError, as it does
 * under bytearray.join; `in` and `%` too. One wrapper per calling convention. */
#define HOLDING_EXPORT(CALL)                                                                                           \
    Py_buffer view;                                                                                                    \
    if (PyObject_GetBuffer(self, &view, PyBUF_SIMPLE) < 0) {                                                           \
        return NULL;                                                                                                   \
    }                                                                                                                  \
    PyObject *result = CALL;                                                                                           \
    PyBuffer_Release(&view);                                                                                           \
    return result;

#define EXPORTING_VARARGS(TYPE, NAME)                                                                                  \
    static PyCFunction original_##TYPE##_##NAME = NULL;                                                                \
    static PyObject *exporting_##TYPE##_##NAME(PyObject *self, PyObject *args)                                         \
    {                                                                                                                  \
        HOLDING_EXPORT(original_##TYPE##_##NAME(self, args))                                                           \
    }
#define EXPORTING_O(TYPE, NAME) EXPORTING_VARARGS(TYPE, NAME) /* the same signature: (self, arg) */
#define EXPORTING_FASTCALL(TYPE, NAME)                                                                                 \
    static _PyCFunctionFast original_##TYPE##_##NAME = NULL;                                                           \
    static PyObject *exporting_##TYPE##_##NAME(PyObject *self, PyObject *const *args, Py_ssize_t count)                \
    {                                                                                                                  \
        HOLDING_EXPORT(original_##TYPE##_##NAME(self, args, count))                                                    \
    }
#define EXPORTING_KEYWORDS(TYPE, NAME)                                                                                 \
    static _PyCFunctionFastWithKeywords original_##TYPE##_##NAME = NULL;                                               \
    static PyObject *exporting_##TYPE##_##NAME(PyObject *self, PyObject *const *args, Py_ssize_t count,                \
                                                PyObject *names)                                                       \
    {                                                                                                                  \
        HOLDING_EXPORT(original_##TYPE##_##NAME(self, args, count, names))                                             \
    }
EXPORTING_VARARGS(ByteArray, count)
EXPORTING_VARARGS(ByteArray, endswith)
EXPORTING_VARARGS(ByteArray, find)
EXPORTING_VARARGS(ByteArray, index)
EXPORTING_VARARGS(ByteArray, rfind)
EXPORTING_VARARGS(ByteArray, rindex)
EXPORTING_VARARGS(ByteArray, startswith)
EXPORTING_O(ByteArray, partition)
EXPORTING_O(ByteArray, removeprefix)
EXPORTING_O(ByteArray, removesuffix)
EXPORTING_O(ByteArray, rpartition)
EXPORTING_O(ByteArray, zfill)
EXPORTING_FASTCALL(ByteArray, __reduce_ex__)
EXPORTING_FASTCALL(ByteArray, center)
EXPORTING_FASTCALL(ByteArray, ljust)
EXPORTING_FASTCALL(ByteArray, lstrip)
EXPORTING_FASTCALL(ByteArray, replace)
EXPORTING_FASTCALL(ByteArray, rjust)
EXPORTING_FASTCALL(ByteArray, rstrip)
EXPORTING_FASTCALL(ByteArray, strip)
EXPORTING_KEYWORDS(ByteArray, decode)
EXPORTING_KEYWORDS(ByteArray, expandtabs)
EXPORTING_KEYWORDS(ByteArray, hex)
EXPORTING_KEYWORDS(ByteArray, rsplit)
EXPORTING_KEYWORDS(ByteArray, split)
EXPORTING_KEYWORDS(ByteArray, splitlines)
EXPORTING_KEYWORDS(ByteArray, translate)

/* memoryview's hex, tobytes and cast read the view's buffer, then convert their arguments
 * (hex's separator: the program's __len__, which may release() the view): an export of
 * the view held for the call makes release() raise BufferError (pass 68). */
EXPORTING_KEYWORDS(MemoryView, cast)
EXPORTING_KEYWORDS(MemoryView, hex)
EXPORTING_KEYWORDS(MemoryView, tobytes)

typedef struct {
    PyTypeObject *type;
    const char *name;
    int flags;
    PyCFunction *original; /* stored through the generic pointer type, called through its own */
    PyCFunction exporting;
} ExportingMethod;

#define VARARGS_METHOD(TYPE, NAME)                                                                                     \
    {&Py##TYPE##_Type, #NAME, METH_VARARGS, &original_##TYPE##_##NAME, exporting_##TYPE##_##NAME}
#define O_METHOD(TYPE, NAME) {&Py##TYPE##_Type, #NAME, METH_O, &original_##TYPE##_##NAME, exporting_##TYPE##_##NAME}
#define FASTCALL_METHOD(TYPE, NAME)                                                                                    \
    {&Py##TYPE##_Type, #NAME, METH_FASTCALL, (PyCFunction *)&original_##TYPE##_##NAME,                                 \
     (PyCFunction)(void (*)(void))exporting_##TYPE##_##NAME}
#define KEYWORDS_METHOD(TYPE, NAME)                                                                                    \
    {&Py##TYPE##_Type, #NAME, METH_FASTCALL | METH_KEYWORDS, (PyCFunction *)&original_##TYPE##_##NAME,                 \
     (PyCFunction)(void (*)(void))exporting_##TYPE##_##NAME}

static ExportingMethod exporting_methods[] = {
    VARARGS_METHOD(ByteArray, count),
    VARARGS_METHOD(ByteArray, endswith),
    VARARGS_METHOD(ByteArray, find),
    VARARGS_METHOD(ByteArray, index),
    VARARGS_METHOD(ByteArray, rfind),
    VARARGS_METHOD(ByteArray, rindex),
    VARARGS_METHOD(ByteArray, startswith),
    O_METHOD(ByteArray, partition),
    O_METHOD(ByteArray, removeprefix),
    O_METHOD(ByteArray, removesuffix),
    O_METHOD(ByteArray, rpartition),
    O_METHOD(ByteArray, zfill),
    FASTCALL_METHOD(ByteArray, __reduce_ex__),
    FASTCALL_METHOD(ByteArray, center),
    FASTCALL_METHOD(ByteArray, ljust),
    FASTCALL_METHOD(ByteArray, lstrip),
    FASTCALL_METHOD(ByteArray, replace),
    FASTCALL_METHOD(ByteArray, rjust),
    FASTCALL_METHOD(ByteArray, rstrip),
    FASTCALL_METHOD(ByteArray, strip),
    KEYWORDS_METHOD(ByteArray, decode),
    KEYWORDS_METHOD(ByteArray, expandtabs),
    KEYWORDS_METHOD(ByteArray, hex),
    KEYWORDS_METHOD(ByteArray, rsplit),
    KEYWORDS_METHOD(ByteArray, split),
    KEYWORDS_METHOD(ByteArray, splitlines),
    KEYWORDS_METHOD(ByteArray, translate),
    KEYWORDS_METHOD(MemoryView, cast),
    KEYWORDS_METHOD(MemoryView, hex),
    KEYWORDS_METHOD(MemoryView, tobytes),
};
#define EXPORTING_METHOD_COUNT ((int)(sizeof(exporting_methods) / sizeof(exporting_methods[0])))

static objobjproc original_bytearray_contains = NULL;
static binaryfunc original_bytearray_remainder = NULL;

static int
exporting_bytearray_contains(PyObject *self, PyObject *value)
{
    Py_buffer view;
    if (PyObject_GetBuffer(self, &view, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    int result = original_bytearray_contains(self, value);
    PyBuffer_Release(&view);
    return result;
}

static PyObject *
exporting_bytearray_remainder(PyObject *format, PyObject *values)
{
    if (!PyByteArray_Check(format)) {
        return original_bytearray_remainder(format, values); /* the reflected `x % bytearray` */
    }
    Py_buffer view;
    if (PyObject_GetBuffer(format, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    PyObject *result = original_bytearray_remainder(format, values);
    PyBuffer_Release(&view);
    return result;
}

/* Item stores: `ba[i] = v` (mp_ass_subscript) reads the buffer's address, then converts
 * the index and the value (the program's __index__, which may grow the bytearray and free
 * that buffer), then writes through the address it read (attack pass 71: a full escape);
 * `PySequence_SetItem` (sq_ass_item) checks the index, then converts the value, then
 * writes; a slice's start, stop and step (the program's __index__ again) are converted
 * after the address was read too, and the extended forms (a step other than 1) write and
 * move bytes through it (attack pass 75: a full escape). Here the index, the value and a
 * slice's fields are converted first, and the original runs with exact ints (a slice of
 * them), whose conversion runs nothing of the program's. */
static objobjargproc original_bytearray_ass_subscript = NULL;
static ssizeobjargproc original_bytearray_ass_item = NULL;

/* A new reference to `value` as an exact int if it converts like one (nb_index), else to
 * `value` itself (the original refuses it, running nothing of the program's). */
static PyObject *
as_int_first(PyObject *value)
{
    if (value == NULL || PyLong_CheckExact(value) || Py_TYPE(value)->tp_as_number == NULL ||
        Py_TYPE(value)->tp_as_number->nb_index == NULL) {
        return Py_XNewRef(value);
    }
    return PyNumber_Index(value);
}

static void keep_start_at_buffer(PyObject *self); /* with bytearray.__init__, below */

/* A new reference to `index` with exact ints for fields if it is a slice, else to an exact
 * int as as_int_first gives: the original's own conversion then runs nothing of the
 * program's. */
static PyObject *
converted_index_first(PyObject *index)
{
    if (!PySlice_Check(index)) {
        return as_int_first(index);
    }
    Py_ssize_t start, stop, step;
    if (PySlice_Unpack(index, &start, &stop, &step) < 0) {
        return NULL;
    }
    PyObject *start_int = PyLong_FromSsize_t(start), *stop_int = PyLong_FromSsize_t(stop);
    PyObject *step_int = PyLong_FromSsize_t(step);
    PyObject *converted = start_int == NULL || stop_int == NULL || step_int == NULL
                              ? NULL
                              : PySlice_New(start_int, stop_int, step_int);
    Py_XDECREF(start_int);
    Py_XDECREF(stop_int);
    Py_XDECREF(step_int);
    return converted;
}

static int
converting_bytearray_ass_subscript(PyObject *self, PyObject *index, PyObject *value)
{
    PyObject *converted_index = converted_index_first(index);
    if (converted_index == NULL) {
        return -1;
    }
    /* A slice's value is copied by the original before it reads the buffer again; an
     * item's is converted first. */
    PyObject *converted_value = PySlice_Check(index) ? Py_XNewRef(value) : as_int_first(value);
    if (converted_value == NULL && value != NULL) {
        Py_DECREF(converted_index);
        return -1;
    }
    int result = original_bytearray_ass_subscript(self, converted_index, converted_value);
    keep_start_at_buffer(self);
    Py_DECREF(converted_index);
    Py_XDECREF(converted_value);
    return result;
}

static int
converting_bytearray_ass_item(PyObject *self, Py_ssize_t index, PyObject *value)
{
    PyObject *converted_value = as_int_first(value);
    if (converted_value == NULL && value != NULL) {
        return -1;
    }
    int result = original_bytearray_ass_item(self, index, converted_value);
    keep_start_at_buffer(self);
    Py_XDECREF(converted_value);
    return result;
}

/* `bytearray.__init__(iterable)` empties the bytearray, then appends each item the
 * program's iterator gives (converting it with the item's `__index__`) on a fast path that
 * checks the size against the allocation counted from the buffer's start, not from its
 * logical start: a `del self[:k]` from the iterator (the bytearray is in hand: the
 * program's subclass passed it on) moves the logical start k bytes on without
 * reallocating, and each later item is written up to k bytes past the buffer (attack pass
 * 72: a full escape). Only an item or slice store or deletion moves the logical start
 * (`del b[0]` is a slice deletion inside CPython: pass 75): while the bytearray's own init
 * runs, every such store is followed by moving the bytes back to the buffer's start (as a
 * reallocation would), so the init's check holds; its answers are CPython's. */
#define MAX_RUNNING_INITS 64
static PyObject *running_inits[MAX_RUNNING_INITS];
static int running_init_count = 0;
static initproc original_bytearray_init = NULL;

static int
init_is_running(PyObject *self)
{
    for (int i = 0; i < running_init_count; i++) {
        if (running_inits[i] == self) {
            return 1;
        }
    }
    return 0;
}

static void
keep_start_at_buffer(PyObject *self)
{
    PyByteArrayObject *array = (PyByteArrayObject *)self;
    if (array->ob_start != array->ob_bytes && array->ob_bytes != NULL && init_is_running(self)) {
        memmove(array->ob_bytes, array->ob_start, Py_SIZE(self) + 1); /* with its trailing NUL */
        array->ob_start = array->ob_bytes;
    }
}

static int
init_keeping_start(PyObject *self, PyObject *args, PyObject *kwds)
{
    if (running_init_count >= MAX_RUNNING_INITS) {
        PyErr_SetString(PyExc_RecursionError, "too many bytearray inits inside one another");
        return -1;
    }
    Py_INCREF(self);
    running_inits[running_init_count++] = self;
    int result = original_bytearray_init(self, args, kwds);
    running_init_count--;
    Py_DECREF(self);
    return result;
}

static int
repair_bytearray_type(PyTypeObject *type)
{
    REPAIR_SLOT(type, -1, offsetof(PyTypeObject, tp_init), original_bytearray_init, init_keeping_start, "__init__");
    REPAIR_SLOT(type, offsetof(PyTypeObject, tp_as_mapping), offsetof(PyMappingMethods, mp_ass_subscript),
                original_bytearray_ass_subscript, converting_bytearray_ass_subscript, "__setitem__", "__delitem__");
    repair_slot(type, offsetof(PyTypeObject, tp_as_sequence), offsetof(PySequenceMethods, sq_ass_item),
                (void *)original_bytearray_ass_item, (void *)converting_bytearray_ass_item);
    REPAIR_SLOT(type, offsetof(PyTypeObject, tp_as_sequence), offsetof(PySequenceMethods, sq_contains),
                original_bytearray_contains, exporting_bytearray_contains, "__contains__");
    REPAIR_SLOT(type, offsetof(PyTypeObject, tp_as_number), offsetof(PyNumberMethods, nb_remainder),
                original_bytearray_remainder, exporting_bytearray_remainder, "__mod__", "__rmod__");
    return 0;
}

int
repair_bytearray(void)
{
    original_bytearray_init = PyByteArray_Type.tp_init;
    original_bytearray_contains = PyByteArray_Type.tp_as_sequence->sq_contains;
    original_bytearray_remainder = PyByteArray_Type.tp_as_number->nb_remainder;
    original_bytearray_ass_subscript = PyByteArray_Type.tp_as_mapping->mp_ass_subscript;
    original_bytearray_ass_item = PyByteArray_Type.tp_as_sequence->sq_ass_item;
    for (int i = 0; i < EXPORTING_METHOD_COUNT; i++) {
        const ExportingMethod *method = &exporting_methods[i];
        if (repair_method(method->type, method->name, method->flags, method->original, method->exporting) < 0) {
            return -1;
        }
    }
    return walk_subclasses(&PyByteArray_Type, repair_bytearray_type);
}
