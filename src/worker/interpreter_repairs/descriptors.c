#include "repairs.h"

/* property: `property_descr_get` calls its getter (`property_descr_set` its setter or
 * deleter) by the pointer in the descriptor, unowned, and the call may re-run
 * `property.__init__` on the live descriptor (a subclass of the program's, or
 * abc.abstractproperty), which frees the accessor while it runs (attack pass 67: a full
 * escape through a bound method whose list is freed mid-extend). Here the descriptor and
 * its accessors are held for the call. */
typedef struct {
    PyObject_HEAD PyObject *prop_get;
    PyObject *prop_set;
    PyObject *prop_del;
} PropertyHead; /* the leading fields of descrobject.c's propertyobject */

static descrgetfunc original_property_get = NULL;
static descrsetfunc original_property_set = NULL;
static initproc original_property_init = NULL;

/* A property's accessors are set once, when it is made: the sandbox judges them then (a
 * property under a name a library base keeps state by must call the program's functions),
 * and `p.__init__(raw.get, raw.__setitem__)` run again later, or from a `__set_name__`
 * after the class statement's check, swapped C callables in that then received the
 * library's own values raw (attack pass 86). One made with no accessor may be given them
 * (a subclass's `__init__` calling `super().__init__` once). */
static int
once_property_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    PropertyHead *property = (PropertyHead *)self;
    if (property->prop_get != NULL || property->prop_set != NULL || property->prop_del != NULL) {
        PyErr_SetString(PyExc_TypeError, "a property's accessors are set once, when it is made");
        return -1;
    }
    return original_property_init(self, args, kwds);
}

static PyObject *
held_property_get(PyObject *self, PyObject *obj, PyObject *type)
{
    PropertyHead *property = (PropertyHead *)self;
    PyObject *getter = Py_XNewRef(property->prop_get);
    Py_INCREF(self);
    PyObject *result = original_property_get(self, obj, type);
    Py_DECREF(self);
    Py_XDECREF(getter);
    return result;
}

static int
held_property_set(PyObject *self, PyObject *obj, PyObject *value)
{
    PropertyHead *property = (PropertyHead *)self;
    PyObject *setter = Py_XNewRef(property->prop_set), *deleter = Py_XNewRef(property->prop_del);
    Py_INCREF(self);
    int result = original_property_set(self, obj, value);
    Py_DECREF(self);
    Py_XDECREF(setter);
    Py_XDECREF(deleter);
    return result;
}

static int
repair_property_type(PyTypeObject *type)
{
    REPAIR_SLOT(type, -1, offsetof(PyTypeObject, tp_descr_get), original_property_get, held_property_get, "__get__");
    REPAIR_SLOT(type, -1, offsetof(PyTypeObject, tp_descr_set), original_property_set, held_property_set, "__set__",
                "__delete__");
    REPAIR_SLOT(type, -1, offsetof(PyTypeObject, tp_init), original_property_init, once_property_init, "__init__");
    return 0;
}

/* staticmethod's call and classmethod's __get__ use the callable they wrap by the pointer
 * in the object, and `staticmethod.__init__` re-run on the live object from inside the
 * call frees it (pass 69: property's route again, a full escape). Held for the call. */
typedef struct {
    PyObject_HEAD PyObject *callable;
} WrapperHead; /* funcobject.c's staticmethod and classmethod */

static ternaryfunc original_staticmethod_call = NULL;
static descrgetfunc original_classmethod_get = NULL;

static PyObject *
held_staticmethod_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
    PyObject *callable = Py_XNewRef(((WrapperHead *)self)->callable);
    Py_INCREF(self);
    PyObject *result = original_staticmethod_call(self, args, kwargs);
    Py_DECREF(self);
    Py_XDECREF(callable);
    return result;
}

static PyObject *
held_classmethod_get(PyObject *self, PyObject *obj, PyObject *type)
{
    PyObject *callable = Py_XNewRef(((WrapperHead *)self)->callable);
    Py_INCREF(self);
    PyObject *result = original_classmethod_get(self, obj, type);
    Py_DECREF(self);
    Py_XDECREF(callable);
    return result;
}

static int
repair_staticmethod_type(PyTypeObject *type)
{
    REPAIR_SLOT(type, -1, offsetof(PyTypeObject, tp_call), original_staticmethod_call, held_staticmethod_call,
                "__call__");
    return 0;
}

static int
repair_classmethod_type(PyTypeObject *type)
{
    REPAIR_SLOT(type, -1, offsetof(PyTypeObject, tp_descr_get), original_classmethod_get, held_classmethod_get,
                "__get__");
    return 0;
}

int
repair_descriptors(void)
{
    original_property_get = PyProperty_Type.tp_descr_get;
    original_property_set = PyProperty_Type.tp_descr_set;
    original_property_init = PyProperty_Type.tp_init;
    original_staticmethod_call = PyStaticMethod_Type.tp_call;
    original_classmethod_get = PyClassMethod_Type.tp_descr_get;
    if (walk_subclasses(&PyProperty_Type, repair_property_type) < 0 ||
        walk_subclasses(&PyStaticMethod_Type, repair_staticmethod_type) < 0 ||
        walk_subclasses(&PyClassMethod_Type, repair_classmethod_type) < 0) {
        return -1;
    }
    return 0;
}
