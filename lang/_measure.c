/* rtserve.lang._measure: the JSON size bound of a small value, in one C walk.

Strategy. lang/nested.py `measure` bounds the JSON text of every handler answer and
`json.encode` argument before it is encoded (so shared structure and huge values are charged
and refused first). For the commonest answers, a list of a few dozen records, its Python
walk took 10 us of a 22 us request, where orjson encodes the same value in 0.8 us: a dozen
passes of C iterators over 60 items cost what a C loop over them does fifty times. This
module is that loop: `walk(value)` visits a list or map recursively, counting every container
and child it meets (shared structure each time it is met, as the encoder writes it), and gives
`(size, nodes)`, or None as soon as the value is deeper than MAX_DEPTH or has more than
MAX_NODES nodes, which leaves it to nested.py's level-by-level walk (that one charges as it
goes and checks the deadline; this one is bounded by MAX_NODES: 0.5 ms at most).

The bound is nested.py's: a list's text is at least its number of children (brackets and
commas) plus theirs, a map's at least four characters per entry plus its string keys' lengths
plus its values', a string's at least its length, an int's at least 0.3 x (its bits - 1)
digits, any other leaf at least nothing more; containers are list, dict and the two frozen
classes nested.py binds (exact types: anything else is a leaf, as in Python). No library does
this: the JSON encoders measure by encoding. tests/test_measure_accel.py holds it to a Python
model of the same bound, by hypothesis, and nested.py works without it (no C compiler: the
extension is optional, and measure falls back to its Python paths).
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define MAX_DEPTH 16
#define MAX_NODES 131072

static PyTypeObject *frozen_list = NULL;
static PyTypeObject *frozen_map = NULL;

typedef struct {
    Py_ssize_t size;
    Py_ssize_t nodes;
} Tally;

static int is_list(PyObject *v) {
    return PyList_CheckExact(v) || (frozen_list != NULL && Py_TYPE(v) == frozen_list);
}

static int is_map(PyObject *v) {
    return PyDict_CheckExact(v) || (frozen_map != NULL && Py_TYPE(v) == frozen_map);
}

static int walk(PyObject *v, int depth, Tally *t);

/* A child: a leaf's text, or a container walked. 0 ok, 1 too big or deep, -1 error. */
static int child(PyObject *x, int depth, Tally *t) {
    if (PyUnicode_CheckExact(x)) {
        t->size += PyUnicode_GET_LENGTH(x);
        return 0;
    }
    if (PyLong_CheckExact(x)) {
        int64_t bits = (int64_t)_PyLong_NumBits(x);
        if (bits < 0) {
            return -1;
        }
        if (bits > 1) {
            t->size += (Py_ssize_t)((bits - 1) * 3 / 10);
        }
        return 0;
    }
    if (is_list(x) || is_map(x)) {
        return walk(x, depth + 1, t);
    }
    return 0;
}

static int walk(PyObject *v, int depth, Tally *t) {
    if (depth > MAX_DEPTH) {
        return 1;
    }
    if (is_list(v)) {
        Py_ssize_t n = PyList_GET_SIZE(v);
        t->nodes += n + 1;
        if (t->nodes > MAX_NODES) {
            return 1;
        }
        t->size += n;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++) {
            PyObject *x = PyList_GET_ITEM(v, i);
            Py_INCREF(x);
            int r = child(x, depth, t);
            Py_DECREF(x);
            if (r != 0) {
                return r;
            }
        }
        return 0;
    }
    Py_ssize_t n = PyDict_GET_SIZE(v);
    t->nodes += n + 1;
    if (t->nodes > MAX_NODES) {
        return 1;
    }
    t->size += 4 * n;
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(v, &pos, &key, &value)) {
        if (PyUnicode_Check(key)) {
            t->size += PyUnicode_GET_LENGTH(key);
        }
        Py_INCREF(value);
        int r = child(value, depth, t);
        Py_DECREF(value);
        if (r != 0) {
            return r;
        }
    }
    return 0;
}

static PyObject *measure_walk(PyObject *self, PyObject *value) {
    if (!(is_list(value) || is_map(value))) {
        Py_RETURN_NONE;
    }
    Tally t = {0, 0};
    int r = walk(value, 1, &t);
    if (r < 0) {
        return NULL;
    }
    if (r > 0) {
        Py_RETURN_NONE;
    }
    return Py_BuildValue("(nn)", t.size, t.nodes);
}

static PyObject *measure_bind(PyObject *self, PyObject *args) {
    PyObject *list_type, *map_type;
    if (!PyArg_ParseTuple(args, "O!O!", &PyType_Type, &list_type, &PyType_Type, &map_type)) {
        return NULL;
    }
    Py_XSETREF(frozen_list, (PyTypeObject *)Py_NewRef(list_type));
    Py_XSETREF(frozen_map, (PyTypeObject *)Py_NewRef(map_type));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"walk", measure_walk, METH_O,
     "walk(value) -> (size, nodes) or None: the JSON size bound of a small list or map."},
    {"bind", measure_bind, METH_VARARGS,
     "bind(frozen_list, frozen_map): the container classes besides list and dict."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_measure", "The JSON size bound of small values (see lang/nested.py).",
    -1, methods,
};

PyMODINIT_FUNC PyInit__measure(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "MAX_NODES", MAX_NODES) < 0 ||
        PyModule_AddIntConstant(m, "MAX_DEPTH", MAX_DEPTH) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
