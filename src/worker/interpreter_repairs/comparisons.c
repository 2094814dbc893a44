#include "repairs.h"

/* The containers' comparisons walk their own items while an item's __eq__ (the program's)
 * runs, and the container itself may be one that the caller holds by a borrowed pointer
 * (an item of a deque or a list being compared, of a tuple being walked): the item's
 * __eq__ can drop its last owner and free it mid-walk (attack pass 69, a full escape
 * through a tuple). The comparison of tuple, list, dict, set and frozenset holds both
 * operands for the call and keeps one the call left with no other owner, as the held
 * slots of the classes do; tuple's hash (which hashes its items) likewise. So do the other
 * C comparisons that call the program and then use their operand: dict views (len() of
 * the other side), mappingproxy and SimpleNamespace (their dicts), deque, and aware
 * datetimes and times (the program's tzinfo; pass 71: two full escapes). */
#define HELD_CONTAINER_RICHCOMPARE(NAME)                                                                               \
    static richcmpfunc unheld_##NAME##_comparison = NULL;                                                              \
    static PyObject *holding_##NAME##_comparison(PyObject *a, PyObject *b, int op)                                     \
    {                                                                                                                  \
        Py_INCREF(a);                                                                                                  \
        Py_INCREF(b);                                                                                                  \
        PyObject *result = unheld_##NAME##_comparison(a, b, op);                                                       \
        release_unless_last(a);                                                                                        \
        release_unless_last(b);                                                                                        \
        return result;                                                                                                 \
    }                                                                                                                  \
    static int hold_##NAME##_comparison(PyTypeObject *type)                                                            \
    {                                                                                                                  \
        repair_comparison(type, unheld_##NAME##_comparison, holding_##NAME##_comparison);                              \
        return 0;                                                                                                      \
    }
HELD_CONTAINER_RICHCOMPARE(tuple)
HELD_CONTAINER_RICHCOMPARE(list)
HELD_CONTAINER_RICHCOMPARE(dict)
HELD_CONTAINER_RICHCOMPARE(set)
HELD_CONTAINER_RICHCOMPARE(frozenset)
HELD_CONTAINER_RICHCOMPARE(dict_keys)
HELD_CONTAINER_RICHCOMPARE(dict_items)
HELD_CONTAINER_RICHCOMPARE(mappingproxy)
HELD_CONTAINER_RICHCOMPARE(namespace)
HELD_CONTAINER_RICHCOMPARE(deque)
HELD_CONTAINER_RICHCOMPARE(datetime)
HELD_CONTAINER_RICHCOMPARE(time)

static hashfunc original_tuple_hash = NULL;

static Py_hash_t
held_tuple_hash(PyObject *tuple)
{
    Py_INCREF(tuple);
    Py_hash_t hash = original_tuple_hash(tuple);
    release_unless_last(tuple);
    return hash;
}

static int
hold_tuple_hash(PyTypeObject *type)
{
    repair_slot(type, -1, offsetof(PyTypeObject, tp_hash), (void *)original_tuple_hash, (void *)held_tuple_hash);
    repair_wrapper(type, "__hash__", (void *)original_tuple_hash, (void *)held_tuple_hash);
    return 0;
}

/* After the list repair: list's comparison is the repaired one, held in turn. */
int
hold_container_comparisons(void)
{
    unheld_tuple_comparison = PyTuple_Type.tp_richcompare;
    unheld_list_comparison = PyList_Type.tp_richcompare;
    unheld_dict_comparison = PyDict_Type.tp_richcompare;
    unheld_set_comparison = PySet_Type.tp_richcompare;
    unheld_frozenset_comparison = PyFrozenSet_Type.tp_richcompare;
    original_tuple_hash = PyTuple_Type.tp_hash;
    unheld_dict_keys_comparison = PyDictKeys_Type.tp_richcompare;
    unheld_dict_items_comparison = PyDictItems_Type.tp_richcompare;
    unheld_mappingproxy_comparison = PyDictProxy_Type.tp_richcompare;
    PyTypeObject *namespace = imported_type("types", "SimpleNamespace");
    PyTypeObject *deque = namespace == NULL ? NULL : imported_type("collections", "deque");
    PyTypeObject *datetime = deque == NULL ? NULL : imported_type("datetime", "datetime");
    PyTypeObject *time = datetime == NULL ? NULL : imported_type("datetime", "time");
    if (time == NULL) {
        return -1;
    }
    unheld_namespace_comparison = namespace->tp_richcompare;
    unheld_deque_comparison = deque->tp_richcompare;
    unheld_datetime_comparison = datetime->tp_richcompare;
    unheld_time_comparison = time->tp_richcompare;
    if (walk_subclasses(&PyDictKeys_Type, hold_dict_keys_comparison) < 0 ||
        walk_subclasses(&PyDictItems_Type, hold_dict_items_comparison) < 0 ||
        walk_subclasses(&PyDictProxy_Type, hold_mappingproxy_comparison) < 0 ||
        walk_subclasses(namespace, hold_namespace_comparison) < 0 ||
        walk_subclasses(deque, hold_deque_comparison) < 0 || walk_subclasses(datetime, hold_datetime_comparison) < 0 ||
        walk_subclasses(time, hold_time_comparison) < 0) {
        return -1;
    }
    if (walk_subclasses(&PyTuple_Type, hold_tuple_comparison) < 0 ||
        walk_subclasses(&PyTuple_Type, hold_tuple_hash) < 0 ||
        walk_subclasses(&PyList_Type, hold_list_comparison) < 0 ||
        walk_subclasses(&PyDict_Type, hold_dict_comparison) < 0 ||
        walk_subclasses(&PySet_Type, hold_set_comparison) < 0 ||
        walk_subclasses(&PyFrozenSet_Type, hold_frozenset_comparison) < 0) {
        return -1;
    }
    return 0;
}
