/* The worker's output streams (child.py): what print() and sys.stdout write, kept in a
 * buffer of the process's own, written to the pipe when the buffer fills or on flush(),
 * and written out from a signal handler when the process is about to end against its will:
 * the parent's FLUSH_SIGNAL at the deadline, the soft RLIMIT_CPU (SIGXCPU), a fault in C
 * code (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT). A handler written in Python runs only
 * between two bytecodes, so a program stuck in one long C call (sum(range(10**12))) or
 * crashed in one would lose everything it printed; this one runs at once.
 *
 * Sink(fd, capacity): write(str) -> characters written, flush().
 * catch_ending_signals(sinks, flush_signal, flushed_status): install the handlers (once,
 * in a worker, before its job runs). At flush_signal the sinks are written out and the
 * process exits with flushed_status; at SIGXCPU or a fault they are written out and the
 * signal is let through with its default action, so the parent sees the process die of it.
 *
 * The handler only reads the buffer and calls write(2), kill(2) and _exit(2), which are
 * async-signal-safe. The sink publishes what it appended only after copying it (a signal
 * fence orders the copy before the new length), and blocks the asynchronous signals while
 * it writes the buffer itself, so the handler never writes a byte twice or half a copy. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    PyObject_HEAD
    int fd;
    char *buffer;
    Py_ssize_t capacity;
    volatile Py_ssize_t used; /* read by the signal handler */
} Sink;

#define MAX_SINKS 2
static Sink *registered[MAX_SINKS];
static volatile int registered_count;
static int exit_status_when_flushed;
static int flush_signal_number;
/* The asynchronous signals the handler may run for while a sink writes its own buffer. */
static sigset_t asynchronous_signals;
static const int fault_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
#define ALTERNATE_STACK_BYTES (64 * 1024)

/* write(2) until done or the pipe is gone; async-signal-safe. Whether all was written. */
static int
write_fully(int fd, const char *data, Py_ssize_t size)
{
    while (size > 0) {
        ssize_t written = write(fd, data, (size_t)size);
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            return 0;
        }
        data += written;
        size -= written;
    }
    return 1;
}

static void
write_out_every_sink(void)
{
    int saved_errno = errno;
    for (int i = 0; i < registered_count; i++) {
        Sink *sink = registered[i];
        Py_ssize_t used = sink->used;
        atomic_signal_fence(memory_order_seq_cst);
        write_fully(sink->fd, sink->buffer, used);
        sink->used = 0;
    }
    errno = saved_errno;
}

static void
on_flush_signal(int signum)
{
    write_out_every_sink();
    _exit(exit_status_when_flushed);
}

/* SIGXCPU, SIGXFSZ (a file past its size limit, or the worker's own at another limit on
 * its files) or a fault: the output, then the signal's own default action, so the process
 * dies of it as it would have (the parent tells a CPU limit from a crash by the signal).
 * A fault returns to the faulting instruction and happens again; kill(0) (the worker is
 * alone in its process group) makes a signal that was sent rather than caused act too. */
static void
on_ending_signal(int signum)
{
    write_out_every_sink();
    struct sigaction default_action;
    memset(&default_action, 0, sizeof(default_action));
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    sigaction(signum, &default_action, NULL);
    if (signum == SIGXCPU || signum == SIGXFSZ || signum == SIGABRT) {
        kill(0, signum);
    }
}

/* Write the buffer, with the asynchronous signals blocked (the handler then runs after
 * the buffer is empty again, and writes no byte twice), then ``size`` more bytes from
 * ``data`` (may be 0) with them unblocked: the handler writes only buffers, and this one
 * is empty, so one huge write of the program's (its length is the program's choice)
 * never holds off the flush of the other stream. */
static int
write_out(Sink *self, const char *data, Py_ssize_t size)
{
    sigset_t previous;
    pthread_sigmask(SIG_BLOCK, &asynchronous_signals, &previous);
    int ok = write_fully(self->fd, self->buffer, self->used);
    self->used = 0;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (ok && size > 0) {
        ok = write_fully(self->fd, data, size);
    }
    if (!ok && errno != EPIPE) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    /* A closed pipe: the parent has stopped reading (it ended the job); the program's
     * output is dropped, as the parent's budget would drop it. */
    return 0;
}

static int
append(Sink *self, const char *data, Py_ssize_t size)
{
    if (size > self->capacity - self->used) {
        if (size >= self->capacity) {
            return write_out(self, data, size);
        }
        if (write_out(self, NULL, 0) < 0) {
            return -1;
        }
    }
    memcpy(self->buffer + self->used, data, (size_t)size);
    atomic_signal_fence(memory_order_seq_cst);
    self->used += size;
    return 0;
}

static PyObject *
sink_write(Sink *self, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "write() argument must be str, not %.100s", Py_TYPE(text)->tp_name);
        return NULL;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    Py_ssize_t size;
    const char *data = PyUnicode_AsUTF8AndSize(text, &size);
    int failed;
    if (data != NULL) {
        failed = append(self, data, size);
    }
    else {
        /* A lone surrogate: shown escaped rather than raising in the middle of the output. */
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
            return NULL;
        }
        PyErr_Clear();
        PyObject *encoded = PyUnicode_AsEncodedString(text, "utf-8", "backslashreplace");
        if (encoded == NULL) {
            return NULL;
        }
        failed = append(self, PyBytes_AS_STRING(encoded), PyBytes_GET_SIZE(encoded));
        Py_DECREF(encoded);
    }
    if (failed < 0) {
        return NULL;
    }
    return PyLong_FromSsize_t(length);
}

static PyObject *
sink_flush(Sink *self, PyObject *unused)
{
    if (self->used > 0 && write_out(self, NULL, 0) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
sink_buffered(Sink *self, PyObject *unused)
{
    return PyLong_FromSsize_t(self->used);
}

static PyObject *
sink_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"fd", "capacity", NULL};
    int fd;
    Py_ssize_t capacity;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "in", keywords, &fd, &capacity)) {
        return NULL;
    }
    if (fd < 0 || capacity <= 0) {
        PyErr_SetString(PyExc_ValueError, "Sink() takes a descriptor and a positive capacity");
        return NULL;
    }
    Sink *self = (Sink *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->buffer = PyMem_RawMalloc((size_t)capacity);
    if (self->buffer == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    self->fd = fd;
    self->capacity = capacity;
    self->used = 0;
    return (PyObject *)self;
}

static void
sink_dealloc(Sink *self)
{
    /* Never a registered sink: catch_ending_signals() keeps those for the process's life. */
    PyMem_RawFree(self->buffer);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef sink_methods[] = {
    {"write", (PyCFunction)sink_write, METH_O, "write(text): buffer text as UTF-8; the number of characters"},
    {"flush", (PyCFunction)sink_flush, METH_NOARGS, "flush(): write the buffer to the descriptor"},
    {"buffered", (PyCFunction)sink_buffered, METH_NOARGS, "buffered(): bytes waiting in the buffer (tests)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject SinkType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "src.worker._output.Sink",
    .tp_doc = "Sink(fd, capacity): a buffered UTF-8 text stream onto a descriptor",
    .tp_basicsize = sizeof(Sink),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = sink_new,
    .tp_dealloc = (destructor)sink_dealloc,
    .tp_methods = sink_methods,
};

static int
install(int signum, void (*handler)(int), int on_alternate_stack)
{
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    /* While one handler writes out, no other interrupts it and writes the same bytes. */
    sigaddset(&action.sa_mask, flush_signal_number);
    sigaddset(&action.sa_mask, SIGXCPU);
    sigaddset(&action.sa_mask, SIGXFSZ);
    action.sa_flags = on_alternate_stack ? SA_ONSTACK : 0;
    return sigaction(signum, &action, NULL);
}

/* catch_ending_signals(sinks, flush_signal, flushed_status) */
static PyObject *
catch_ending_signals(PyObject *module, PyObject *args)
{
    PyObject *sinks;
    int signum, status;
    if (!PyArg_ParseTuple(args, "O!ii", &PyTuple_Type, &sinks, &signum, &status)) {
        return NULL;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(sinks);
    if (registered_count != 0 || count > MAX_SINKS) {
        PyErr_SetString(PyExc_RuntimeError, "catch_ending_signals(): once per process, for at most two sinks");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!PyObject_TypeCheck(PyTuple_GET_ITEM(sinks, i), &SinkType)) {
            PyErr_SetString(PyExc_TypeError, "catch_ending_signals() takes a tuple of Sink");
            return NULL;
        }
    }
    /* A fault of a C recursion deeper than the stack leaves no stack to run a handler on. */
    stack_t alternate;
    alternate.ss_sp = PyMem_RawMalloc(ALTERNATE_STACK_BYTES);
    if (alternate.ss_sp == NULL) {
        return PyErr_NoMemory();
    }
    alternate.ss_size = ALTERNATE_STACK_BYTES;
    alternate.ss_flags = 0;
    if (sigaltstack(&alternate, NULL) < 0) {
        PyMem_RawFree(alternate.ss_sp);
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    flush_signal_number = signum;
    exit_status_when_flushed = status;
    sigemptyset(&asynchronous_signals);
    sigaddset(&asynchronous_signals, signum);
    sigaddset(&asynchronous_signals, SIGXCPU);
    sigaddset(&asynchronous_signals, SIGXFSZ);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *sink = PyTuple_GET_ITEM(sinks, i);
        Py_INCREF(sink); /* for the life of the process: the handler reads it */
        registered[i] = (Sink *)sink;
    }
    registered_count = (int)count;
    if (install(signum, on_flush_signal, 0) < 0 || install(SIGXCPU, on_ending_signal, 0) < 0 ||
        install(SIGXFSZ, on_ending_signal, 0) < 0) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    for (size_t i = 0; i < sizeof(fault_signals) / sizeof(fault_signals[0]); i++) {
        if (install(fault_signals[i], on_ending_signal, 1) < 0) {
            return PyErr_SetFromErrno(PyExc_OSError);
        }
    }
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"catch_ending_signals", catch_ending_signals, METH_VARARGS,
     "catch_ending_signals(sinks, flush_signal, flushed_status): write the sinks out when the process ends"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef output_module = {
    PyModuleDef_HEAD_INIT, "_output", "The worker's output streams (child.py).", -1, module_methods,
};

PyMODINIT_FUNC
PyInit__output(void)
{
    if (PyType_Ready(&SinkType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&output_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&SinkType);
    if (PyModule_AddObject(module, "Sink", (PyObject *)&SinkType) < 0) {
        Py_DECREF(&SinkType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
