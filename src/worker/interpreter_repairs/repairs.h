/* The interpreter repairs (module.c says what they are): the helpers every family uses
 * (common.c) and each family's entry point, which module.c's apply() calls once, in the
 * template, before any program class exists. */
#ifndef SANDBOX_INTERPRETER_REPAIRS_H
#define SANDBOX_INTERPRETER_REPAIRS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>

/* Eight trampolines named K0 to K7 (callees.c and finalizers.c build their pools from it:
 * with a 0 prefix, each octal name is its index in the pool). */
#define POOL_8(T, K)                                                                                                   \
    T(K##0)                                                                                                            \
    T(K##1)                                                                                                            \
    T(K##2)                                                                                                            \
    T(K##3)                                                                                                            \
    T(K##4)                                                                                                            \
    T(K##5)                                                                                                            \
    T(K##6)                                                                                                            \
    T(K##7)

/* common.c */
int walk_subclasses(PyTypeObject *base, int (*visit)(PyTypeObject *));
void repair_wrapper(PyTypeObject *type, const char *name, void *original, void *repaired);
void repair_slot(PyTypeObject *type, Py_ssize_t table, Py_ssize_t offset, void *original, void *repaired);
void repair_slot_and_wrappers(PyTypeObject *type, Py_ssize_t table, Py_ssize_t offset, void *original, void *repaired,
                              const char *const *names);
/* REPAIR_SLOT(type, table, offset, original, repaired, "__name__", ...): the slot and the
 * wrapper descriptors named (repair_slot_and_wrappers; a `table` of -1: PyTypeObject). */
#define REPAIR_SLOT(type, table, offset, original, repaired, ...)                                                     \
    repair_slot_and_wrappers((type), (table), (offset), (void *)(original), (void *)(repaired),                        \
                             (const char *const[]){__VA_ARGS__, NULL})
void repair_comparison(PyTypeObject *type, richcmpfunc original, richcmpfunc repaired);
int repair_method(PyTypeObject *type, const char *name, int flags, PyCFunction *original, PyCFunction repaired);
PyTypeObject *imported_type(const char *module_name, const char *name);
void release_unless_last(PyObject *operand);

/* One entry point per family, each in its own file. */
int repair_list_reentrancy(void);     /* lists.c */
int check_datetime_states(void);      /* datetime_states.c */
int repair_descriptors(void);         /* descriptors.c: property, staticmethod, classmethod */
int repair_deque(void);               /* deque.c */
int repair_iterators(void);           /* iterators.c */
int repair_exceptions(void);          /* exceptions.c */
int repair_bytearray(void);           /* buffers.c: bytearray and memoryview */
int repair_decimal(void);             /* decimal.c */
int repair_zoneinfo(void);            /* zoneinfo.c */
int repair_defaultdict(void);         /* defaultdict.c */
int repair_partials(void);            /* partials.c: functools.partial's repr and call */

/* operands.c: the program's classes hold their operands */
int hold_class_operands(PyObject *reference, PyObject *getattribute_only);
int class_operands_applied(void);
int hold_type_operands(PyTypeObject *type);
int type_operands_held(PyTypeObject *type);
int runs_python_method(void *function);

/* callees.c: last, after operands.c (whose slots it leaves to them) and every repair
 * above (whose repaired functions it holds in turn) */
int hold_callees(void);
int type_callees_held(PyTypeObject *type);

/* finalizers.c: a finalizer that a decref runs waits for a safe point */
int defer_finalizers(void);
int defer_type_finalizer(PyTypeObject *type);
int type_finalizer_deferred(PyTypeObject *type);
int begin_deferring_finalizers(PyObject *filename, PyObject *soon);
Py_ssize_t run_waiting_finalizers(void);
void end_deferring_finalizers(void);
Py_ssize_t finalizers_never_run(void);

#endif
