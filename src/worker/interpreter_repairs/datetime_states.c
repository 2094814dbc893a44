#include "repairs.h"

/* check_datetime_states(): datetime's C constructors take a pickled state (bytes, or a
 * str of the same length) and check only its month (its hour, for time): a year 0 made
 * weekday() negative and ctime() read its day name out of bounds, and other days crashed
 * (attack pass 65, still so on 3.13). Here a state passes only if every field is in the
 * range the ordinary constructor accepts; copy and pickle, which make valid states, are
 * unchanged. The types' tp_new (which `__new__` calls too, and subclasses copy) is
 * wrapped. */
static newfunc original_date_new = NULL, original_datetime_new = NULL, original_time_new = NULL;

static int
days_in_month(int year, int month)
{
    static const int days[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month];
}

/* The state's bytes if `args` takes the pickled-state branch of a constructor whose state
 * has `size` bytes, else NULL (an ordinary call). `bytes_out` must be `size` long. */
static int
pickled_state(PyObject *args, Py_ssize_t size, unsigned char *bytes_out)
{
    Py_ssize_t count = PyTuple_GET_SIZE(args);
    if (count < 1 || count > 2) {
        return 0;
    }
    PyObject *state = PyTuple_GET_ITEM(args, 0);
    if (PyBytes_Check(state) && PyBytes_GET_SIZE(state) == size) {
        memcpy(bytes_out, PyBytes_AS_STRING(state), size);
        return 1;
    }
    if (PyUnicode_Check(state) && PyUnicode_READY(state) == 0 && PyUnicode_GET_LENGTH(state) == size) {
        for (Py_ssize_t i = 0; i < size; i++) {
            Py_UCS4 c = PyUnicode_READ_CHAR(state, i);
            if (c > 0xFF) {
                return 0; /* not latin-1: the constructor refuses it itself */
            }
            bytes_out[i] = (unsigned char)c;
        }
        return 1;
    }
    return 0;
}

static int
sane_date(const unsigned char *b)
{
    int year = b[0] * 256 + b[1], month = b[2] & 0x7F, day = b[3];
    return year >= 1 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 && day <= days_in_month(year, month);
}

static int
sane_time(const unsigned char *b)
{
    int microsecond = (b[3] << 16) | (b[4] << 8) | b[5];
    return (b[0] & 0x7F) < 24 && b[1] < 60 && b[2] < 60 && microsecond < 1000000;
}

static PyObject *
refused_state(const char *kind)
{
    PyErr_Format(PyExc_ValueError, "a pickled %s state out of range", kind);
    return NULL;
}

static PyObject *
checked_date_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    unsigned char b[4];
    if (pickled_state(args, 4, b) && (b[2] & 0x7F) >= 1 && (b[2] & 0x7F) <= 12 && !sane_date(b)) {
        return refused_state("date");
    }
    return original_date_new(type, args, kwds);
}

static PyObject *
checked_datetime_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    unsigned char b[10];
    /* A datetime's fold is in its month byte: its hour byte is the hour itself. */
    if (pickled_state(args, 10, b) && (b[2] & 0x7F) >= 1 && (b[2] & 0x7F) <= 12 &&
        (!sane_date(b) || b[4] >= 24 || !sane_time(b + 4))) {
        return refused_state("datetime");
    }
    return original_datetime_new(type, args, kwds);
}

static PyObject *
checked_time_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    unsigned char b[6];
    if (pickled_state(args, 6, b) && (b[0] & 0x7F) < 24 && !sane_time(b)) {
        return refused_state("time");
    }
    return original_time_new(type, args, kwds);
}

int
check_datetime_states(void)
{
    PyObject *datetime = PyImport_ImportModule("datetime");
    if (datetime == NULL) {
        return -1;
    }
    PyTypeObject *types[3];
    const char *names[3] = {"date", "datetime", "time"};
    for (int i = 0; i < 3; i++) {
        PyObject *type = PyObject_GetAttrString(datetime, names[i]);
        if (type == NULL || !PyType_Check(type) || (((PyTypeObject *)type)->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
            Py_XDECREF(type);
            Py_DECREF(datetime);
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_TypeError, "datetime's classes are not the C ones");
            }
            return -1;
        }
        types[i] = (PyTypeObject *)type; /* the module keeps them alive */
        Py_DECREF(type);
    }
    Py_DECREF(datetime);
    original_date_new = types[0]->tp_new;
    original_datetime_new = types[1]->tp_new;
    original_time_new = types[2]->tp_new;
    types[0]->tp_new = checked_date_new;
    types[1]->tp_new = checked_datetime_new;
    types[2]->tp_new = checked_time_new;
    for (int i = 0; i < 3; i++) {
        PyType_Modified(types[i]);
    }
    return 0;
}
